"""A small WeChat API server on loopback that answers `jscode2session` like the real
one: HTTP 200 with JSON, `errcode`/`errmsg` on errors, single-use codes.

Codes the tests can hand out:
    any code registered with `issue_code(openid)`  -> success, then 40163 if reused
    "busy"                                          -> {"errcode": -1, "errmsg": "system error"}
    "too-fast"                                      -> {"errcode": 45011, ...} (rate limit)
    "risky"                                         -> {"errcode": 40226, ...} (high-risk user)
    "garbage"                                       -> a body that is not JSON
    anything else                                   -> {"errcode": 40029, "errmsg": "invalid code"}
A wrong appid/secret answers 40013/40125 as WeChat does.

Subscribe messages (`/cgi-bin/token`, `/cgi-bin/message/subscribe/send`):
    `grant_subscription(openid, template_id, times)` gives a user quota for a template
    (what tapping "allow" in the mini program does); each message spends one, and
    without quota the answer is 43101. `sent` lists delivered messages.
    `expire_tokens()` makes every issued access token answer 42001.
    `fail_next_sends(n)` answers the next n sends with -1 (system busy).
    `delay_next_sends(n, seconds)` delivers the next n but answers late.
"""

import asyncio
import json
import secrets
import threading
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import httptools
import uvloop


class FakeWeChat:
    def __init__(self, app_id: str, app_secret: str):
        self.app_id = app_id
        self.app_secret = app_secret
        self.codes: dict[str, str] = {}
        self.used: set[str] = set()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self.tokens: set[str] = set()
        self.quota: dict[tuple[str, str], int] = {}
        self.sent: list[dict] = []
        self._failures_left = 0
        self._delays_left, self._delay_seconds = 0, 0.0
        # A small HTTP/1.1 server (httptools parses the requests) on a uvloop event loop
        # of its own thread: keep-alive like the real API, and cheap enough that a bulk
        # sender measures itself, not the fake. http.server needed 0.36 ms of CPU a
        # request and a thread per connection that fought the test process for the GIL;
        # aiohttp's server 0.3 ms, which on two cores starved the reminder benchmark.
        self._loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-wechat", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_HttpConnection] = set()  # open ones, closed on stop
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self):
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    def stop(self):
        async def close():
            self._server.close()
            for connection in list(self._connections):
                connection.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _serve(self):
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _HttpConnection(self, loop), "127.0.0.1", 0, backlog=1024)
        self._port = self._server.sockets[0].getsockname()[1]

    def issue_code(self, openid: str | None = None) -> tuple[str, str]:
        """A fresh wx.login code for `openid` (a new one if not given)."""
        openid = openid or "o" + secrets.token_urlsafe(20)
        code = secrets.token_hex(16)
        with self._lock:
            self.codes[code] = openid
        return code, openid

    def grant_subscription(self, openid: str, template_id: str, times: int = 1) -> None:
        with self._lock:
            self.quota[(openid, template_id)] = self.quota.get((openid, template_id), 0) + times

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def fail_next_sends(self, count: int) -> None:
        with self._lock:
            self._failures_left = count

    def delay_next_sends(self, count: int, seconds: float) -> None:
        """Deliver the next `count` messages but answer only after `seconds` (a client
        with a shorter timeout never learns that they went out)."""
        with self._lock:
            self._delays_left, self._delay_seconds = count, seconds

    def answer_token(self, params: dict) -> dict:
        if params.get("appid") != self.app_id:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if params.get("secret") != self.app_secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
        return {"access_token": token, "expires_in": 7200}

    def answer_send(self, params: dict, body: bytes) -> tuple[dict, float]:
        """The answer to a send, and how many seconds to wait before giving it."""
        with self._lock:
            if params.get("access_token") not in self.tokens:
                return {"errcode": 42001, "errmsg": "access_token expired"}, 0.0
            if self._failures_left > 0:
                self._failures_left -= 1
                return {"errcode": -1, "errmsg": "system error"}, 0.0
            try:
                message = json.loads(body)
            except ValueError:
                return {"errcode": 47001, "errmsg": "data format error"}, 0.0
            if not isinstance(message, dict) or not message.get("touser"):
                return {"errcode": 40003, "errmsg": "invalid openid"}, 0.0
            if not message.get("template_id"):
                return {"errcode": 40037, "errmsg": "invalid template_id"}, 0.0
            data = message.get("data")
            if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
                return {"errcode": 47003, "errmsg": "argument invalid! data.value invalid"}, 0.0
            key = (message["touser"], message["template_id"])
            if self.quota.get(key, 0) <= 0:
                return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}, 0.0
            self.quota[key] -= 1
            msgid = len(self.sent) + 1
            self.sent.append({**message, "msgid": msgid})
            delay = self._delay_seconds if self._delays_left > 0 else 0.0
            self._delays_left = max(self._delays_left - 1, 0)
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}, delay

    def answer(self, params: dict) -> tuple[int, bytes]:
        if params.get("appid") != self.app_id:
            return 200, _json({"errcode": 40013, "errmsg": "invalid appid"})
        if params.get("secret") != self.app_secret:
            return 200, _json({"errcode": 40125, "errmsg": "invalid appsecret"})
        code = params.get("js_code", "")
        fixed = {
            "busy": {"errcode": -1, "errmsg": "system error"},
            "too-fast": {"errcode": 45011, "errmsg": "api minute-quota reach limit"},
            "risky": {"errcode": 40226, "errmsg": "code blocked"},
        }
        if code in fixed:
            return 200, _json(fixed[code])
        if code == "garbage":
            return 200, b"<html>not json</html>"
        with self._lock:
            if code in self.used:
                return 200, _json({"errcode": 40163, "errmsg": "code been used"})
            openid = self.codes.pop(code, None)
            if openid is None:
                return 200, _json({"errcode": 40029, "errmsg": "invalid code"})
            self.used.add(code)
        return 200, _json({"openid": openid, "session_key": secrets.token_urlsafe(16), "unionid": "u" + openid})

    def handle(self, method: str, path: str, params: dict, body: bytes) -> tuple[int, bytes, float]:
        """(status, JSON body, seconds to wait before answering) for one request."""
        self.requests.append({"path": path, "params": params})
        if method == "GET":
            if path == "/cgi-bin/token" and params.get("grant_type") == "client_credential":
                return 200, _json(self.answer_token(params)), 0.0
            if path != "/sns/jscode2session" or params.get("grant_type") != "authorization_code":
                return 404, b"not found", 0.0
            return (*self.answer(params), 0.0)
        if method == "POST" and path == "/cgi-bin/message/subscribe/send":
            answer, delay = self.answer_send(params, body)
            return 200, _json(answer), delay
        return 404, b"not found", 0.0


class _HttpConnection(asyncio.Protocol):
    """One client connection: requests parsed by httptools, answered in order with
    Content-Length, kept alive unless the client asked to close."""

    def __init__(self, fake: FakeWeChat, loop: asyncio.AbstractEventLoop):
        self._fake, self._loop = fake, loop
        self._parser = httptools.HttpRequestParser(self)
        self._transport = None
        self._url, self._body = b"", []

    def connection_made(self, transport) -> None:
        self._transport = transport
        self._fake._connections.add(self)

    def connection_lost(self, exc) -> None:
        self._fake._connections.discard(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.close()

    def on_message_begin(self) -> None:
        self._url, self._body = b"", []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        target = urlsplit(self._url.decode("latin-1"))
        params = dict(parse_qsl(target.query, keep_blank_values=True))
        method = self._parser.get_method().decode()
        status, body, delay = self._fake.handle(method, target.path, params, b"".join(self._body))
        keep_alive = self._parser.should_keep_alive()
        head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n")
        if not keep_alive:
            head += "Connection: close\r\n"
        reply = (head + "\r\n").encode() + body
        if delay:
            self._loop.call_later(delay, self._answer, reply, keep_alive)
        else:
            self._answer(reply, keep_alive)

    def _answer(self, reply: bytes, keep_alive: bool) -> None:
        if self._transport.is_closing():
            return
        self._transport.write(reply)
        if not keep_alive:
            self.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _json(payload) -> bytes:
    return json.dumps(payload).encode()
