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

Bulk senders (dose reminders: 100,000 due in the same minute) use `BulkSender` (or
`send_subscribe_messages`), which sends concurrently over keep-alive connections on an
event loop (`keepalive_http.OriginPool`, on uvloop): httpx cost 1 ms of CPU a message
(sync, pooled) to 3.6 ms (async), a thread pool of 32 senders spent more time fighting
over the GIL than sending, aiohttp's client about 0.2 ms.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from apps.core.exceptions import UpstreamUnavailableError

from .keepalive_http import OriginPool, RequestFailed

try:  # a faster event loop where it is installed (it is, by requirements/base.txt)
    import uvloop
    _new_event_loop = uvloop.new_event_loop
except ImportError:  # pragma: no cover
    _new_event_loop = asyncio.new_event_loop

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
_SEND_PATH = "/cgi-bin/message/subscribe/send"
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
    message in order (see BulkSender). Call from sync code."""
    with BulkSender(concurrency=concurrency) as sender:
        return sender.submit(messages).result()


class BulkSender:
    """Sends batches of subscribe messages, `concurrency` at a time, on an event loop of
    its own thread, over one pool of keep-alive connections for all the batches it is
    given: the caller does other work (a dose dispatcher records the previous batch)
    while a batch is on its way. Use it as a context manager.

    A batch's future never fails for one message; each gets a SendResult:
    * an expired access token is refreshed once for all messages in flight, not per message;
    * "busy" (WeChat says it sent nothing) is tried once more, then UNAVAILABLE;
    * no answer (timeout, dropped connection) or an unknown error is UNAVAILABLE and
      never repeated: WeChat may have delivered it, and a patient reminded twice of a
      dose may take it twice.
    """

    def __init__(self, *, concurrency: int = 64):
        self._concurrency = concurrency
        self._loop = _new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="wechat-send", daemon=True)
        self._pool: OriginPool | None = None
        self._refreshing: asyncio.Lock | None = None
        self._token = ""
        self._heads: dict[str, bytes] = {}  # access token -> request line and headers

    def __enter__(self) -> BulkSender:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._loop.call_soon_threadsafe(self._pool.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def submit(self, messages: list[SubscribeMessage]) -> Future:
        """Start sending; the future's result is one SendResult per message, in order."""
        payloads = [json.dumps(_payload(message), ensure_ascii=False).encode() for message in messages]
        try:
            token = access_token() if payloads else ""
        except UpstreamUnavailableError:
            done = Future()
            done.set_result([SendResult(sent=False, reason=UNAVAILABLE)] * len(payloads))
            return done
        return asyncio.run_coroutine_threadsafe(self._send_all(payloads, token), self._loop)

    async def _send_all(self, payloads: list[bytes], token: str) -> list[SendResult]:
        if self._pool is None:  # made on the loop it belongs to
            # The timeout starts once a message has its connection, not while it waits for one.
            self._pool = OriginPool(settings.WECHAT_API_BASE_URL, size=self._concurrency,
                                    timeout=settings.WECHAT_TIMEOUT_SECONDS)
            self._refreshing = asyncio.Lock()
        self._token = token  # the shared cache knows the newest (another process may have renewed it)
        results: list[SendResult | None] = [None] * len(payloads)
        pending = iter(enumerate(payloads))

        async def take_turns():  # `concurrency` of these, not one task per message
            for index, payload in pending:
                results[index] = await self._send_one(payload)

        await asyncio.gather(*(take_turns() for _ in range(min(self._concurrency, len(payloads)))))
        return results

    async def _fresh_token(self, stale: str) -> str:
        async with self._refreshing:
            if self._token == stale:  # the first to see it expired renews it, the others reuse that
                self._token = await asyncio.to_thread(access_token, refresh=True)
        return self._token

    async def _post(self, payload: bytes, token: str) -> dict:
        head = self._heads.get(token)
        if head is None:
            head = self._heads[token] = self._pool.request_head(_SEND_PATH, {"access_token": token})
        status, raw = await self._pool.post(head, payload)
        if status >= 400:
            raise RequestFailed(f"HTTP {status}")
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

    async def _send_one(self, payload: bytes) -> SendResult:
        token, token_renewed, busy_retried = self._token, False, False
        while True:
            try:
                body = await self._post(payload, token)
            except (RequestFailed, ValueError):
                return SendResult(sent=False, reason=UNAVAILABLE)
            if (body.get("errcode") or 0) in _TOKEN_EXPIRED and not token_renewed:
                try:
                    token, token_renewed = await self._fresh_token(token), True
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
