"""Client for WeChat's mini-program login (`jscode2session`).

    GET {base}/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
    -> {"openid": "...", "session_key": "...", "unionid": "..."}            on success
    -> {"errcode": 40029, "errmsg": "invalid code"}                         on error

WeChat answers HTTP 200 for its own errors, with `errcode` in the body; we turn
those into domain errors the mini program can act on.
"""

from dataclasses import dataclass

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError, RateLimitedError, UpstreamUnavailableError

# errcode -> (our error code, what the user should do)
_CODE_ERRORS = {40029, 40163}  # invalid code, code already used
_RATE_LIMITED = {45011}
_BLOCKED_USER = {40226}
_BUSY = {-1}


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str
    unionid: str


class WeChatLoginError(DomainError):
    code = "wechat_code_invalid"


def jscode2session(code: str) -> WeChatSession:
    if not settings.WECHAT_APP_ID or not settings.WECHAT_APP_SECRET:
        raise UpstreamUnavailableError(_("WeChat login is not configured on this server."), code="wechat_not_configured")
    params = {
        "appid": settings.WECHAT_APP_ID,
        "secret": settings.WECHAT_APP_SECRET,
        "js_code": code,
        "grant_type": "authorization_code",
    }
    url = settings.WECHAT_API_BASE_URL.rstrip("/") + "/sns/jscode2session"
    try:
        response = httpx.get(url, params=params, timeout=settings.WECHAT_TIMEOUT_SECONDS)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise UpstreamUnavailableError(_("WeChat could not be reached; try again in a moment."),
                                       code="wechat_unavailable") from error
    if not isinstance(body, dict):
        raise UpstreamUnavailableError(_("WeChat gave an unreadable answer; try again."), code="wechat_unavailable")
    errcode = body.get("errcode") or 0
    if errcode in _CODE_ERRORS:
        raise WeChatLoginError(_("The login code is invalid or was already used; call wx.login again."))
    if errcode in _RATE_LIMITED:
        raise RateLimitedError(_("Too many WeChat logins; wait a minute and try again."), code="wechat_rate_limited")
    if errcode in _BLOCKED_USER:
        raise DomainError(_("WeChat has restricted this account's login."), code="wechat_user_blocked")
    if errcode in _BUSY:
        raise UpstreamUnavailableError(_("WeChat is busy; try again in a moment."), code="wechat_busy")
    if errcode or not body.get("openid") or not body.get("session_key"):
        raise UpstreamUnavailableError(
            _("WeChat refused the login (error %(code)s).") % {"code": errcode}, code="wechat_error")
    return WeChatSession(openid=body["openid"], session_key=body["session_key"], unionid=body.get("unionid", ""))
