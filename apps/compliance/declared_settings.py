"""Violation rules, thresholds and privacy policy. Hospital administrators and
compliance officers tune them per hospital; see docs/compliance.md."""

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from apps.configuration.registry import declare
from apps.tenancy.roles import Role

# Interpolated when shown, so the description follows the reader's language.
_interpolate = lazy(lambda text, values: str(text) % values, str)

_EDITORS = {"editable_by": {Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER}}
_PLATFORM_ONLY = {"editable_by": {Role.PLATFORM_ADMIN}, "hospital_may_override": False}

RULES = ("no_care_relationship", "bulk_access", "outside_working_hours", "outside_department",
         "relative_or_neighbour", "vip_record", "failed_logins", "token_multi_country", "access_after_revocation",
         "egress_without_consent", "egress_not_deidentified")

RULE_ENABLED = {
    rule: declare(f"compliance.rule_{rule}_enabled", "bool", default=True,
                  description=_interpolate(_("Run the violation rule %(rule)s."), {"rule": rule}), **_EDITORS)
    for rule in RULES
}
CARE_LINK_DAYS = declare(
    "compliance.care_link_days", "int", default=365, minimum=1, maximum=3650,
    description=_("An encounter links staff and patient for this many days after it ends."), **_EDITORS)
CARE_LINK_ROLES = declare(
    "compliance.care_link_roles", "str", default="doctor", max_length=200,
    description=_("Roles (comma-separated) whose patient reads need a care relationship."), **_EDITORS)
BULK_WINDOW_MINUTES = declare(
    "compliance.bulk_window_minutes", "int", default=60, minimum=1, maximum=24 * 60,
    description=_("Window (minutes) over which bulk reads and exports are counted."), **_EDITORS)
BULK_THRESHOLD = {
    role: declare(f"compliance.bulk_threshold_{role}", "int", default=default, minimum=1, maximum=1_000_000,
                  description=_interpolate(
                      _("Patients one %(role)s may read or export in the window before a case opens."), {"role": role}), **_EDITORS)
    for role, default in ((Role.DOCTOR, 100), (Role.HOSPITAL_ADMIN, 200), (Role.COMPLIANCE_OFFICER, 1000),
                          (Role.PLATFORM_ADMIN, 1000), (Role.PATIENT, 50))
}
WORKING_HOURS = declare(
    "compliance.working_hours", "int_range", default=[7, 20], minimum=0, maximum=24,
    description=_("Working hours [start, end) in local time; staff profiles may override."), **_EDITORS)
FAILED_LOGIN_LIMIT = declare(
    "compliance.failed_login_limit", "int", default=5, minimum=2, maximum=1000,
    description=_("Failed logins for one username in the window that open a case."), **_EDITORS)
FAILED_LOGIN_WINDOW_MINUTES = declare(
    "compliance.failed_login_window_minutes", "int", default=15, minimum=1, maximum=24 * 60,
    description=_("Window (minutes) for counting failed logins."), **_EDITORS)
TOKEN_COUNTRY_LIMIT = declare(
    "compliance.token_country_limit", "int", default=2, minimum=2, maximum=20,
    description=_("Countries of IP origin for one token within the window that open a case."), **_EDITORS)
TOKEN_WINDOW_MINUTES = declare(
    "compliance.token_window_minutes", "int", default=120, minimum=1, maximum=7 * 24 * 60,
    description=_("Window (minutes) for counting a token's countries."), **_EDITORS)
EGRESS_ACTIONS = declare(
    "compliance.egress_actions", "str", default=".export,.share,.release", max_length=400,
    description=_("Action suffixes (comma-separated) that mean data leaves the hospital."), **_EDITORS)
ANOMALY_ENABLED = declare(
    "compliance.anomaly_enabled", "bool", default=True,
    description=_("Run the access autoencoder over per-user daily features."), **_EDITORS)
ANOMALY_THRESHOLD = declare(
    "compliance.anomaly_robust_z", "float", default=8.0, minimum=2.0, maximum=100.0,
    description=_("Flag a user-day whose reconstruction error is this many robust deviations above its peers'."),
    **_EDITORS)
ANOMALY_HISTORY_DAYS = declare(
    "compliance.anomaly_history_days", "int", default=30, minimum=3, maximum=365,
    description=_("Days of access the autoencoder learns from on each run."), **_EDITORS)
PATIENT_VIEW_SHOWS_NAMES = declare(
    "compliance.patient_view_shows_names", "bool", default=False,
    description=_("Show staff names (not only role and department) in a patient's own access log."), **_EDITORS)
EXPORT_MAX_ROWS = declare(
    "compliance.export_max_rows", "int", default=100_000, minimum=1, maximum=5_000_000,
    description=_("Most audit events one CSV export may hold."), **_EDITORS)
AUDIT_RETENTION_YEARS = declare(
    "compliance.audit_retention_years", "int", default=6, minimum=6, maximum=100,
    description=_("Years audit events are kept (never fewer than six)."), **_PLATFORM_ONLY)
RETENTION_TOKEN_DAYS = declare(
    "compliance.retention_token_days", "int", default=90, minimum=1, maximum=3650,
    description=_("Days expired or revoked API tokens are kept before the purge."), **_PLATFORM_ONLY)
RETENTION_NOTICE_DAYS = declare(
    "compliance.retention_notice_days", "int", default=365, minimum=30, maximum=3650,
    description=_("Days staff notices are kept before the purge."), **_EDITORS)
RETENTION_SHADOW_DAYS = declare(
    "compliance.retention_shadow_days", "int", default=90, minimum=7, maximum=3650,
    description=_("Days shadow-model comparisons are kept before the purge."), **_EDITORS)
