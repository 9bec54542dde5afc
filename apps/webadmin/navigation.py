"""Which pages each role sees in the web admin's navigation. Later apps add their
entries here; the dashboard is everyone's first page."""

from django.utils.translation import gettext_lazy as _

from apps.tenancy.roles import Role

SETTINGS = ("configuration_web:settings", _("Settings"))
ALGORITHMS = ("configuration_web:algorithms", _("Algorithms and models"))
PERIODIC_JOBS = ("configuration_web:periodic", _("Periodic jobs"))
MONITORING = ("configuration_web:monitoring", _("Monitoring"))
BOOKING_DAY = ("booking_web:day", _("Appointments"))
BOOKING_ADMIN = [("booking_web:schedules", _("Sessions")), ("booking_web:experts", _("Experts")),
                 ("booking_web:statistics", _("Booking statistics"))]
COMPLIANCE = [("compliance_web:events", _("Audit events")), ("compliance_web:cases", _("Violation cases")),
              ("compliance_web:chains", _("Chain verification")), ("compliance_web:manifest-verify",
                                                                    _("Verify an export")),
              ("compliance_web:report", _("Monthly report"))]
ADHERENCE = ("reminders_web:adherence", _("Medication adherence"))
TIPS = ("tips_web:list", _("Health tips"))
CLINICAL_ENTITIES = ("nlp_web:entities", _("Clinical entities"))
IMAGING = ("imaging_web:studies", _("Imaging"))
LAB_REPORTS = ("reports_web:list", _("Lab reports"))
PARTNERS = [("partners_web:list", _("Sharing partners")), ("partners_web:shares", _("Share log")),
            ("partners_web:decisions", _("Share decisions"))]
EXTERNAL_CASES = ("partners_web:external", _("Cases from partners"))
RARE_CASES = [("rarecases_web:registry", _("Rare-case registry")),
              ("rarecases_web:search", _("Rare cases across hospitals"))]

NAVIGATION = {
    Role.PLATFORM_ADMIN: [("webadmin:dashboard", _("Dashboard")), LAB_REPORTS, BOOKING_DAY, *BOOKING_ADMIN,
                          IMAGING, CLINICAL_ENTITIES, *RARE_CASES, ADHERENCE, TIPS, *PARTNERS, EXTERNAL_CASES,
                          SETTINGS, ALGORITHMS, MONITORING, PERIODIC_JOBS, ("api-docs", _("API documentation"))],
    Role.HOSPITAL_ADMIN: [("webadmin:dashboard", _("Dashboard")), LAB_REPORTS, BOOKING_DAY, *BOOKING_ADMIN,
                          IMAGING, CLINICAL_ENTITIES, *RARE_CASES, ADHERENCE, TIPS, *PARTNERS, EXTERNAL_CASES,
                          SETTINGS, ALGORITHMS, MONITORING, ("api-docs", _("API documentation"))],
    Role.DOCTOR: [("webadmin:dashboard", _("Dashboard")), LAB_REPORTS, BOOKING_DAY, IMAGING, CLINICAL_ENTITIES,
                  *RARE_CASES, ADHERENCE, TIPS, EXTERNAL_CASES, SETTINGS],
    Role.COMPLIANCE_OFFICER: [("webadmin:dashboard", _("Dashboard")), *COMPLIANCE, *PARTNERS, EXTERNAL_CASES,
                              SETTINGS],
    Role.PATIENT: [("webadmin:dashboard", _("Dashboard"))],
}
