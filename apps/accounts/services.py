import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import DomainError, NotFoundError, RateLimitedError
from apps.privacy.encryption import blind_index
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.tenancy.models import Hospital, Membership
from apps.tenancy.roles import Role

from . import wechat
from .declared_settings import (LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW_MINUTES, PATIENT_TOKEN_TTL_DAYS,
                                STAFF_TOKEN_TTL_HOURS)
from .models import ApiToken, WeChatAccount

TOKEN_PREFIX = "hpt_"
# last_used_at is bookkeeping, not security: write it at most once a minute per token.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(DomainError):
    status_code = 401


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def user_home_hospital_id(user) -> int | None:
    """Whose audit chain a user's authentication events go on: their first hospital."""
    membership = Membership.objects.filter(user=user, active=True).order_by("created_at", "pk").first()
    return membership.hospital_id if membership else None


def token_issue(*, user, kind: str, ip: str | None = None) -> tuple[str, ApiToken]:
    """Make a token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if kind == ApiToken.Kind.WECHAT:
        ttl = setting_value(PATIENT_TOKEN_TTL_DAYS.key) * 86400
    else:
        ttl = setting_value(STAFF_TOKEN_TTL_HOURS.key) * 3600
    token = ApiToken.objects.create(
        user=user, key_hash=_digest(raw), prefix=raw[: len(TOKEN_PREFIX) + 6], kind=kind,
        expires_at=timezone.now() + timedelta(seconds=ttl), created_ip=ip,
    )
    return raw, token


def token_authenticate(*, raw: str) -> ApiToken:
    """The live token for `raw`, or TokenError with a code the client can act on."""
    token = ApiToken.objects.select_related("user").filter(key_hash=_digest(raw)).first()
    if token is None or not token.user.is_active:
        raise TokenError(_("The token is not valid; log in again."), code="token_invalid")
    if token.revoked_at is not None:
        raise TokenError(_("The token was revoked; log in again."), code="token_revoked")
    if token.is_expired:
        raise TokenError(_("The token has expired; log in again."), code="token_expired")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, token: ApiToken, actor) -> None:
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        audit_record(action="auth.token_revoked", actor=actor, hospital_id=user_home_hospital_id(token.user),
                     object_type="api_token", object_id=token.pk)


def _failure_key(username: str) -> str:
    return f"login-failures:{hashlib.sha256(username.strip().lower().encode()).hexdigest()}"


def credentials_check(*, username: str, password: str, action: str = "auth.login"):
    """The user for a username and password, for every password login (API token and
    web admin). After `accounts.login_failure_limit` failures in the window the
    username is locked for the rest of the window, whatever the password, so
    guessing gains nothing. Failures are audited under `action`."""
    failure_key = _failure_key(username)
    window_seconds = setting_value(LOGIN_FAILURE_WINDOW_MINUTES.key) * 60
    if cache.get(failure_key, 0) >= setting_value(LOGIN_FAILURE_LIMIT.key):
        audit_record(action=action, hospital_id=None, outcome=AuditOutcome.DENIED,
                     detail={"username": username[:150], "reason": "locked"})
        raise RateLimitedError(_("Too many failed logins for this account; wait %(minutes)s minutes and try again.")
                               % {"minutes": window_seconds // 60}, code="login_locked")
    user = authenticate(username=username, password=password)
    if user is None:
        if cache.add(failure_key, 1, timeout=window_seconds) is False:
            cache.incr(failure_key)
        known = get_user_model().objects.filter(username=username).first()
        audit_record(action=action, hospital_id=user_home_hospital_id(known) if known else None,
                     outcome=AuditOutcome.DENIED, detail={"username": username[:150], "reason": "bad_credentials"})
        raise TokenError(_("Wrong username or password."), code="invalid_credentials")
    cache.delete(failure_key)
    return user


def password_login(*, username: str, password: str, ip: str | None = None) -> tuple[str, ApiToken]:
    """Check a username and password (with lockout) and issue an API token."""
    user = credentials_check(username=username, password=password)
    with transaction.atomic():
        raw, token = token_issue(user=user, kind=ApiToken.Kind.PASSWORD, ip=ip)
        audit_record(action="auth.login", actor=user, hospital_id=user_home_hospital_id(user),
                     object_type="api_token", object_id=token.pk)
    return raw, token


def wechat_login(*, code: str, hospital_slug: str, ip: str | None = None) -> tuple[str, ApiToken, bool]:
    """Exchange a `wx.login` code for our token: the openid maps to one patient
    account (made on first login) holding a patient membership at the hospital.
    Returns (raw token, token, whether the account is new)."""
    hospital = Hospital.objects.filter(slug=hospital_slug, active=True).first()
    if hospital is None:
        raise NotFoundError(_("No such hospital."), code="hospital_not_found", fields={"hospital": [_("Unknown hospital.")]})
    session = wechat.jscode2session(code)
    openid_index = blind_index(session.openid, kind="wechat_openid")
    with transaction.atomic():
        account = (WeChatAccount.objects.select_for_update().select_related("user")
                   .filter(app_id=settings.WECHAT_APP_ID, openid_index=openid_index).first())
        created = account is None
        if created:
            user = get_user_model().objects.create_user(username=f"wx_{secrets.token_hex(8)}", password=None)
            account = WeChatAccount(user=user, app_id=settings.WECHAT_APP_ID, openid=session.openid)
        account.session_key = session.session_key
        account.unionid = session.unionid
        account.last_login_at = timezone.now()
        account.save()
        membership, _created = Membership.objects.get_or_create(
            user=account.user, hospital=hospital, defaults={"role": Role.PATIENT})
        if not membership.active:
            raise DomainError(_("This account is suspended at this hospital; contact the hospital."),
                              code="membership_revoked")
        raw, token = token_issue(user=account.user, kind=ApiToken.Kind.WECHAT, ip=ip)
        audit_record(action="auth.wechat_login", actor=account.user, role=membership.role, hospital_id=hospital.pk,
                     object_type="api_token", object_id=token.pk, detail={"new_account": created})
    return raw, token, created
