"""Client for WeChat's mini-program subscribe messages (订阅消息).

    GET  {base}/cgi-bin/token?grant_type=client_credential&appid=&secret=
         -> {"access_token": "...", "expires_in": 7200}
    POST {base}/cgi-bin/message/subscribe/send?access_token=...
         {"touser": openid, "template_id": ..., "page": ..., "data": {"thing1": {"value": "..."}},
          "miniprogram_state": "formal", "lang": "zh_CN"}
         -> {"errcode": 0, "errmsg": "ok", "msgid": 123}

A user must have tapped "allow" for a template in the mini program for each message
we send (one-time subscriptions): without that quota WeChat answers 43101 and the
message is simply not delivered. Callers get that as `SendResult(sent=False,
reason="no_quota")` and fall back to the in-app channel. An expired access token
(40001/42001) is refreshed once; WeChat being unreachable or busy raises
`UpstreamUnavailableError` so a Celery task can retry.

The access token is shared by every process through the cache, as WeChat asks
(each new token invalidates the previous one after five minutes).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from apps.core.exceptions import UpstreamUnavailableError

_TOKEN_CACHE_KEY = "wechat:access-token"
_TOKEN_EXPIRED = {40001, 42001, 40014}
_NO_QUOTA = 43101
# errcode -> our reason; these are the caller's mistakes or the user's choices, not outages
_REFUSALS = {
    40003: "bad_openid",
    40037: "bad_template",
    41030: "bad_page",
    47003: "bad_data",
    _NO_QUOTA: "no_quota",
}
_BUSY = {-1, 45009}


@dataclass(frozen=True)
class SendResult:
    sent: bool
    reason: str = ""  # empty when sent; otherwise one of _REFUSALS' values
    msgid: str = ""


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http() -> httpx.Client:
    """One connection-pooling client per process, shared by threads: a fresh client
    per call (httpx.request) costs about 25 ms, which bulk reminders cannot afford."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = httpx.Client(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    return _client


def _call(method: str, path: str, **kwargs) -> dict:
    url = settings.WECHAT_API_BASE_URL.rstrip("/") + path
    try:
        response = _http().request(method, url, timeout=settings.WECHAT_TIMEOUT_SECONDS, **kwargs)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise UpstreamUnavailableError(_("WeChat could not be reached; try again in a moment."),
                                       code="wechat_unavailable") from error
    if not isinstance(body, dict):
        raise UpstreamUnavailableError(_("WeChat gave an unreadable answer; try again."), code="wechat_unavailable")
    return body


def access_token(*, refresh: bool = False) -> str:
    if not settings.WECHAT_APP_ID or not settings.WECHAT_APP_SECRET:
        raise UpstreamUnavailableError(_("WeChat is not configured on this server."), code="wechat_not_configured")
    if not refresh and (token := cache.get(_TOKEN_CACHE_KEY)):
        return token
    body = _call("GET", "/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": settings.WECHAT_APP_ID, "secret": settings.WECHAT_APP_SECRET})
    token = body.get("access_token")
    if not token:
        raise UpstreamUnavailableError(
            _("WeChat refused an access token (error %(code)s).") % {"code": body.get("errcode")},
            code="wechat_error")
    # Renew five minutes early: WeChat keeps the old token valid that long after a new one.
    cache.set(_TOKEN_CACHE_KEY, token, timeout=max(int(body.get("expires_in", 7200)) - 300, 60))
    return token


def send_subscribe_message(*, openid: str, template_id: str, data: dict[str, str], page: str = "") -> SendResult:
    """Sends one subscribe message. `data` maps template keys ("thing1", "time2")
    to plain values; WeChat limits `thing` values to 20 characters, so they are cut."""
    payload = {
        "touser": openid,
        "template_id": template_id,
        "page": page,
        "data": {key: {"value": _fit(key, str(value))} for key, value in data.items()},
        "miniprogram_state": settings.WECHAT_MINIPROGRAM_STATE,
        "lang": "zh_CN",
    }
    for attempt in range(2):
        token = access_token(refresh=attempt > 0)
        body = _call("POST", "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=payload)
        errcode = body.get("errcode") or 0
        if errcode in _TOKEN_EXPIRED and attempt == 0:
            continue
        break
    if errcode == 0:
        return SendResult(sent=True, msgid=str(body.get("msgid", "")))
    if errcode in _REFUSALS:
        return SendResult(sent=False, reason=_REFUSALS[errcode])
    if errcode in _BUSY:
        raise UpstreamUnavailableError(_("WeChat is busy; try again in a moment."), code="wechat_busy")
    raise UpstreamUnavailableError(
        _("WeChat refused the message (error %(code)s).") % {"code": errcode}, code="wechat_error")


def _fit(key: str, value: str) -> str:
    limits = {"thing": 20, "name": 10, "phrase": 5, "character_string": 32, "phone_number": 17}
    for prefix, limit in limits.items():
        if key.startswith(prefix):
            return value[:limit]
    return value


def openid_of(user) -> str | None:
    """The user's openid under our mini program, or None if they never logged in with it."""
    account = getattr(user, "wechat_account", None) if user is not None else None
    if account is None or account.app_id != settings.WECHAT_APP_ID:
        return None
    return account.openid
