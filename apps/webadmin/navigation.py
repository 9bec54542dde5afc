"""Which pages each role sees in the web admin's navigation. Later apps add their
entries here; the dashboard is everyone's first page."""

from django.utils.translation import gettext_lazy as _

from apps.tenancy.roles import Role

SETTINGS = ("configuration_web:settings", _("Settings"))
ALGORITHMS = ("configuration_web:algorithms", _("Algorithms and models"))
PERIODIC_JOBS = ("configuration_web:periodic", _("Periodic jobs"))
MONITORING = ("configuration_web:monitoring", _("Monitoring"))
LAB_REPORTS = ("reports_web:list", _("Lab reports"))

NAVIGATION = {
    Role.PLATFORM_ADMIN: [("webadmin:dashboard", _("Dashboard")), LAB_REPORTS, SETTINGS, ALGORITHMS, MONITORING,
                          PERIODIC_JOBS,
                          ("api-docs", _("API documentation"))],
    Role.HOSPITAL_ADMIN: [("webadmin:dashboard", _("Dashboard")), LAB_REPORTS, SETTINGS, ALGORITHMS, MONITORING,
                          ("api-docs", _("API documentation"))],
    Role.DOCTOR: [("webadmin:dashboard", _("Dashboard")), LAB_REPORTS, SETTINGS],
    Role.COMPLIANCE_OFFICER: [("webadmin:dashboard", _("Dashboard")), SETTINGS],
    Role.PATIENT: [("webadmin:dashboard", _("Dashboard"))],
}
