"""Which pages each role sees in the web admin's navigation. Later apps add their
entries here; the dashboard is everyone's first page."""

from django.utils.translation import gettext_lazy as _

from apps.tenancy.roles import Role

NAVIGATION = {
    Role.PLATFORM_ADMIN: [("webadmin:dashboard", _("Dashboard")), ("api-docs", _("API documentation"))],
    Role.HOSPITAL_ADMIN: [("webadmin:dashboard", _("Dashboard")), ("api-docs", _("API documentation"))],
    Role.DOCTOR: [("webadmin:dashboard", _("Dashboard"))],
    Role.COMPLIANCE_OFFICER: [("webadmin:dashboard", _("Dashboard"))],
    Role.PATIENT: [("webadmin:dashboard", _("Dashboard"))],
}
