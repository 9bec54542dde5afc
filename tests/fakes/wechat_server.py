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
"""

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeWeChat:
    def __init__(self, app_id: str, app_secret: str):
        self.app_id = app_id
        self.app_secret = app_secret
        self.codes: dict[str, str] = {}
        self.used: set[str] = set()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
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
            def do_GET(self):
                url = urlparse(self.path)
                params = {key: values[0] for key, values in parse_qs(url.query).items()}
                fake.requests.append({"path": url.path, "params": params})
                if url.path != "/sns/jscode2session" or params.get("grant_type") != "authorization_code":
                    status, body = 404, b"not found"
                else:
                    status, body = fake.answer(params)
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
