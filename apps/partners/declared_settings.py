"""The sharing presets (issue 7, step 7 and "Sharing done properly"), editable in
configuration management. Platform-wide ones are set by platform admins; the
hospital's own policy (approval, k, region) by its admins and compliance officers.
See docs/partners.md."""

from django.utils.translation import gettext_lazy as _

from apps.configuration.registry import declare
from apps.tenancy.roles import Role

_PLATFORM_ONLY = {"editable_by": {Role.PLATFORM_ADMIN}, "hospital_may_override": False}
_POLICY = {"editable_by": {Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN, Role.COMPLIANCE_OFFICER}}

# The preset range of the prediction indexes (inclusive at both ends).
SHARE_INDEX_LOW = declare(
    "partners.share_index_low", "float", default=0.6, minimum=0.0, maximum=1000.0,
    description=_("A case is shared when its first (else its second) prediction index is at least this..."),
    **_PLATFORM_ONLY)
SHARE_INDEX_HIGH = declare(
    "partners.share_index_high", "float", default=1.0, minimum=0.0, maximum=1000.0,
    description=_("...and at most this."), **_PLATFORM_ONLY)

APPROVAL_REQUIRED = declare(
    "partners.approval_required", "bool", default=True,
    description=_("Shares wait for a compliance officer's approval before anything leaves."), **_POLICY)
K_ANONYMITY = declare(
    "partners.k_anonymity", "int", default=5, minimum=2, maximum=1000,
    description=_("A share is blocked unless at least this many patients on the platform have the same sex, "
                  "age band and region."), **_POLICY)
DEIDENTIFY_MODE = declare(
    "partners.deidentify_mode", "choice", default="pseudonymise", choices=("pseudonymise", "anonymise"),
    description=_("Pseudonymise (5-year age bands, city, month; a partner can link updates of one patient) or "
                  "anonymise (10-year bands, province, year; no pseudonym)."), **_POLICY)
MAX_LAB_REPORTS = declare(
    "partners.max_lab_reports", "int", default=5, minimum=0, maximum=50,
    description=_("The most recent lab reports of the patient a share carries (signed-off or preliminary)."),
    **_POLICY)

# Delivery.
MAX_ATTEMPTS = declare(
    "partners.max_attempts", "int", default=8, minimum=1, maximum=50,
    description=_("Delivery attempts per share before it fails."), **_PLATFORM_ONLY)
RETRY_BASE_SECONDS = declare(
    "partners.retry_base_seconds", "float", default=30.0, minimum=0.01, maximum=3600.0,
    description=_("Wait before the first retry; it doubles with each further attempt."), **_PLATFORM_ONLY)
RETRY_MAX_SECONDS = declare(
    "partners.retry_max_seconds", "float", default=3600.0, minimum=0.01, maximum=86400.0,
    description=_("The longest wait between two attempts."), **_PLATFORM_ONLY)
TIMEOUT_SECONDS = declare(
    "partners.timeout_seconds", "float", default=10.0, minimum=0.5, maximum=120.0,
    description=_("How long one delivery attempt waits for the partner."), **_PLATFORM_ONLY)

# Inbound.
TIMESTAMP_WINDOW_SECONDS = declare(
    "partners.timestamp_window_seconds", "int", default=300, minimum=10, maximum=3600,
    description=_("An inbound share's timestamp may differ from our clock by at most this."), **_PLATFORM_ONLY)
INBOUND_MAX_BYTES = declare(
    "partners.inbound_max_bytes", "int", default=2_000_000, minimum=10_000, maximum=50_000_000,
    description=_("The largest inbound share accepted."), **_PLATFORM_ONLY)

# This platform's own feature tag.
PLATFORM_CODE = declare(
    "partners.platform_code", "str", default="hospital-platform", max_length=64,
    description=_("This platform's id in its own feature tag and in the Provenance of what it shares."),
    **_PLATFORM_ONLY)
PLATFORM_PROTOCOLS = declare(
    "partners.platform_protocols", "str", default="hp-share/1", max_length=200,
    description=_("Sharing protocols this platform speaks (comma-separated)."), **_PLATFORM_ONLY)
PLATFORM_RESEARCH_FOCUS = declare(
    "partners.platform_research_focus", "str", default="*", max_length=1000,
    description=_("This platform's research focus: ICD-10 code prefixes or categories (comma-separated); * for "
                  "every rare case."), **_PLATFORM_ONLY)
PLATFORM_DATA_CATEGORIES = declare(
    "partners.platform_data_categories", "str", default="condition,observation,diagnostic_report", max_length=200,
    description=_("Data categories this platform accepts from partners (comma-separated)."), **_PLATFORM_ONLY)
