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

Bulk senders (dose reminders: 100,000 due in the same minute) use
`send_subscribe_messages`, which sends concurrently with aiohttp on an event loop:
about 0.2 ms of CPU a message, where httpx cost 1 ms (sync, pooled) to 3.6 ms (async)
and a thread pool of 32 senders spent more time fighting over the GIL than sending.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass

import aiohttp
import httpx
import yarl
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
_JSON = {"Content-Type": "application/json"}
# A bulk send's reason when WeChat gave no usable answer: busy twice, an unknown error
# code, a timeout, a dropped connection. It may or may not have delivered the message.
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class SendResult:
    sent: bool
    reason: str = ""  # empty when sent; otherwise one of _REFUSALS' values (or UNAVAILABLE in bulk)
    msgid: str = ""


@dataclass(frozen=True)
class SubscribeMessage:
    openid: str
    template_id: str
    data: dict[str, str]
    page: str = ""


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
    payload = _payload(SubscribeMessage(openid=openid, template_id=template_id, data=data, page=page))
    for attempt in range(2):
        token = access_token(refresh=attempt > 0)
        body = _call("POST", "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=payload)
        if (body.get("errcode") or 0) in _TOKEN_EXPIRED and attempt == 0:
            continue
        break
    return _result(body)


def _payload(message: SubscribeMessage) -> dict:
    return {
        "touser": message.openid,
        "template_id": message.template_id,
        "page": message.page,
        "data": {key: {"value": _fit(key, str(value))} for key, value in message.data.items()},
        "miniprogram_state": settings.WECHAT_MINIPROGRAM_STATE,
        "lang": "zh_CN",
    }


def _result(body: dict) -> SendResult:
    """WeChat's answer to a send: delivered, refused (the caller's mistake or the user's
    choice), or UpstreamUnavailableError (busy: nothing was sent; other codes)."""
    errcode = body.get("errcode") or 0
    if errcode == 0:
        return SendResult(sent=True, msgid=str(body.get("msgid", "")))
    if errcode in _REFUSALS:
        return SendResult(sent=False, reason=_REFUSALS[errcode])
    if errcode in _BUSY:
        raise UpstreamUnavailableError(_("WeChat is busy; try again in a moment."), code="wechat_busy")
    raise UpstreamUnavailableError(
        _("WeChat refused the message (error %(code)s).") % {"code": errcode}, code="wechat_error")


def send_subscribe_messages(messages: list[SubscribeMessage], *, concurrency: int = 64) -> list[SendResult]:
    """Sends many subscribe messages, `concurrency` at a time, and returns one result per
    message in order. Call from sync code (a task). Never raises for one message:

    * an expired access token is refreshed once for the whole call, not per message;
    * "busy" (WeChat says it sent nothing) is tried once more, then UNAVAILABLE;
    * no answer (timeout, dropped connection) or an unknown error is UNAVAILABLE and
      never repeated: WeChat may have delivered it, and a patient reminded twice of a
      dose may take it twice.
    """
    if not messages:
        return []
    try:
        token = access_token()
    except UpstreamUnavailableError:
        return [SendResult(sent=False, reason=UNAVAILABLE)] * len(messages)
    return asyncio.run(_send_all([_payload(message) for message in messages], token, concurrency))


async def _send_all(payloads: list[dict], token: str, concurrency: int) -> list[SendResult]:
    url = yarl.URL(settings.WECHAT_API_BASE_URL.rstrip("/") + "/cgi-bin/message/subscribe/send")
    current = {"token": token}
    refreshing = asyncio.Lock()
    slots = asyncio.Semaphore(concurrency)  # the timeout starts once a message has its slot

    async def fresh_token(stale: str) -> str:
        async with refreshing:
            if current["token"] == stale:  # the first to see it expired renews it, the others reuse that
                current["token"] = await asyncio.to_thread(access_token, refresh=True)
        return current["token"]

    async def post(session: aiohttp.ClientSession, payload: bytes, token: str) -> dict:
        async with session.post(url.with_query(access_token=token), data=payload, headers=_JSON) as response:
            response.raise_for_status()
            body = json.loads(await response.read())
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

    async def send_one(session: aiohttp.ClientSession, payload: bytes) -> SendResult:
        async with slots:
            token, token_renewed, busy_retried = current["token"], False, False
            while True:
                try:
                    body = await post(session, payload, token)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    return SendResult(sent=False, reason=UNAVAILABLE)
                if (body.get("errcode") or 0) in _TOKEN_EXPIRED and not token_renewed:
                    try:
                        token, token_renewed = await fresh_token(token), True
                    except UpstreamUnavailableError:
                        return SendResult(sent=False, reason=UNAVAILABLE)
                    continue
                try:
                    return _result(body)
                except UpstreamUnavailableError as error:
                    if error.code == "wechat_busy" and not busy_retried:
                        busy_retried = True
                        continue
                    return SendResult(sent=False, reason=UNAVAILABLE)

    timeout = aiohttp.ClientTimeout(total=settings.WECHAT_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        return await asyncio.gather(*(send_one(session, json.dumps(payload, ensure_ascii=False).encode())
                                      for payload in payloads))


def _fit(key: str, value: str) -> str:
    limits = {"thing": 20, "name": 10, "phrase": 5, "character_string": 32, "phone_number": 17}
    for prefix, limit in limits.items():
        if key.startswith(prefix):
            return value[:limit]
    return value


def openid_of(user) -> str | None:
    """The user's openid under our mini program, or None if they never logged in with it."""
    account = getattr(user, "wechat_account", None) if user is not None else None
    if account is None:
        return None
    return our_openid(app_id=account.app_id, openid=account.openid)


def our_openid(*, app_id: str | None, openid: str | None) -> str | None:
    """An account's openid if it belongs to our mini program (bulk readers fetch the
    two columns instead of the account)."""
    return openid if openid and app_id == settings.WECHAT_APP_ID else None
