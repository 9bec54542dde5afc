"""Account-security settings, platform-wide (logins happen before any hospital is
known). Their defaults come from the environment (see settings/base.py)."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.configuration.registry import declare
from apps.tenancy.roles import Role

_PLATFORM_ONLY = {"editable_by": {Role.PLATFORM_ADMIN}, "hospital_may_override": False}

LOGIN_FAILURE_LIMIT = declare(
    "accounts.login_failure_limit", "int", default=settings.LOGIN_FAILURE_LIMIT, minimum=3, maximum=50,
    description=_("Failed logins after which an account is locked for the lockout window."), **_PLATFORM_ONLY)
LOGIN_FAILURE_WINDOW_MINUTES = declare(
    "accounts.login_failure_window_minutes", "int", default=settings.LOGIN_FAILURE_WINDOW_SECONDS // 60,
    minimum=1, maximum=24 * 60,
    description=_("How long failed logins are counted, and how long a lockout lasts (minutes)."), **_PLATFORM_ONLY)
STAFF_TOKEN_TTL_HOURS = declare(
    "accounts.staff_token_ttl_hours", "int", default=max(1, settings.API_TOKEN_TTL_SECONDS // 3600),
    minimum=1, maximum=7 * 24, description=_("Lifetime of a staff API token (hours)."), **_PLATFORM_ONLY)
PATIENT_TOKEN_TTL_DAYS = declare(
    "accounts.patient_token_ttl_days", "int", default=max(1, settings.API_TOKEN_TTL_PATIENT_SECONDS // 86400),
    minimum=1, maximum=30, description=_("Lifetime of a mini-program token (days)."), **_PLATFORM_ONLY)
