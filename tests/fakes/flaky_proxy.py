"""A loopback HTTP proxy in front of a partner that fails on purpose: the first N
requests, or a given fraction at random, get a 503 or a dropped connection instead
of reaching the partner. Everything else is forwarded unchanged and the answer
passed back. It records each request (headers and body), so a test can replay one.

Stands in for the network and a partner's load balancer, which are outside our
code; the partner behind it is a real instance of the platform."""

import http.client
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Seen:
    path: str
    headers: dict
    body: bytes
    forwarded: bool
    status: int | None


@dataclass
class FailurePlan:
    first: int = 0  # fail the first N requests
    fraction: float = 0.0  # then fail this share at random
    mode: str = "503"  # "503" or "drop" (close the connection without an answer)
    seed: int = 7
    rng: random.Random = field(init=False)

    def __post_init__(self):
        self.rng = random.Random(self.seed)


class FlakyProxy:
    def __init__(self, target: str, plan: FailurePlan | None = None):
        self.target = urlsplit(target)
        self.plan = plan or FailurePlan()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                with proxy._lock:
                    number = len(proxy.seen)
                    fail = number < proxy.plan.first or proxy.plan.rng.random() < proxy.plan.fraction
                if fail:
                    with proxy._lock:
                        proxy.seen.append(Seen(self.path, headers, body, False, None))
                    if proxy.plan.mode == "drop":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    payload = b'{"error": {"code": "unavailable", "message": "down for the test", "fields": {}}}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status, answer_headers, answer = proxy.forward(self.path, headers, body)
                with proxy._lock:
                    proxy.seen.append(Seen(self.path, headers, body, True, status))
                self.send_response(status)
                for name, value in answer_headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, path: str, headers: dict, body: bytes):
        connection = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            connection.request("POST", path, body=body, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def lose_first_answer(self) -> list[int]:
        """From now on requests reach the partner, but the first answer to come back is
        replaced by a 503 (a load balancer failing after the partner's write). Returns
        the list the partner's real status codes are appended to."""
        original, answers = self.forward, []

        def forward_then_fail(path, headers, body):
            status, response_headers, answer = original(path, headers, body)
            answers.append(status)
            if len(answers) == 1:
                return 503, [("Content-Type", "application/json")], b"{}"
            return status, response_headers, answer

        self.forward = forward_then_fail
        return answers

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FlakyProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
