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

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class _Server(ThreadingHTTPServer):
    # Room for a pool of concurrent senders (the default backlog of 5 refuses them).
    request_queue_size = 256
    daemon_threads = True


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
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

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

    def answer_send(self, params: dict, body: bytes) -> dict:
        with self._lock:
            if params.get("access_token") not in self.tokens:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            if self._failures_left > 0:
                self._failures_left -= 1
                return {"errcode": -1, "errmsg": "system error"}
            try:
                message = json.loads(body)
            except ValueError:
                return {"errcode": 47001, "errmsg": "data format error"}
            if not isinstance(message, dict) or not message.get("touser"):
                return {"errcode": 40003, "errmsg": "invalid openid"}
            if not message.get("template_id"):
                return {"errcode": 40037, "errmsg": "invalid template_id"}
            data = message.get("data")
            if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
                return {"errcode": 47003, "errmsg": "argument invalid! data.value invalid"}
            key = (message["touser"], message["template_id"])
            if self.quota.get(key, 0) <= 0:
                return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
            self.quota[key] -= 1
            msgid = len(self.sent) + 1
            self.sent.append({**message, "msgid": msgid})
            delay = self._delay_seconds if self._delays_left > 0 else 0.0
            self._delays_left = max(self._delays_left - 1, 0)
        if delay:
            time.sleep(delay)
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

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

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive like the real API, so bulk senders (dose reminders) reuse connections.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self):
                url = urlparse(self.path)
                params = {key: values[0] for key, values in parse_qs(url.query).items()}
                fake.requests.append({"path": url.path, "params": params})
                if url.path == "/cgi-bin/token" and params.get("grant_type") == "client_credential":
                    status, body = 200, _json(fake.answer_token(params))
                elif url.path != "/sns/jscode2session" or params.get("grant_type") != "authorization_code":
                    status, body = 404, b"not found"
                else:
                    status, body = fake.answer(params)
                self._reply(status, body)

            def do_POST(self):
                url = urlparse(self.path)
                params = {key: values[0] for key, values in parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append({"path": url.path, "params": params})
                if url.path == "/cgi-bin/message/subscribe/send":
                    self._reply(200, _json(fake.answer_send(params, body)))
                else:
                    self._reply(404, b"not found")

            def _reply(self, status: int, body: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


def _json(payload) -> bytes:
    return json.dumps(payload).encode()
