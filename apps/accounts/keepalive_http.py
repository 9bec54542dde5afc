"""A lean HTTP/1.1 client for many small POSTs to one origin, on asyncio.

Dose reminders send 100,000 WeChat subscribe messages in a minute from one worker.
aiohttp's client spent about 0.2 ms of CPU a request on its session, request and
response objects, half of the worker's time; this client keeps a pool of keep-alive
connections to one origin (http or https), writes each request as one bytes object and
reads the answer with httptools (the maintained C parser of llhttp, which also undoes
chunked transfer encoding). It does only what the bulk sender needs:

* POST with a JSON body, answer as (status, body bytes);
* a connection is reused only if the server keeps it alive; it is never reused after
  an error, a timeout, or an answer that was not read to its end;
* a request is never sent twice: a dropped connection or a timeout raises
  `RequestFailed`, and the caller decides (WeChat may have delivered the message).

Everything runs on the event loop that calls it; the pool is not thread-safe.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from urllib.parse import quote, urlsplit

import httptools


class RequestFailed(Exception):
    """No complete answer: refused or dropped connection, timeout, unreadable answer."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time (no pipelining)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future | None = None
        self._body: list[bytes] = []
        self.reusable = False

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self._transport = transport
        self.reusable = True

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(RequestFailed(f"unreadable answer: {error}"))

    def connection_lost(self, exc) -> None:
        self.reusable = False
        self._fail(RequestFailed("connection closed before the answer was complete"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._body = []

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        if not self._parser.should_keep_alive():
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result((self._parser.get_status_code(), b"".join(self._body)))
        elif waiter is None:  # an answer nobody asked for: the stream cannot be trusted
            self.close()

    # ours
    def request(self, data: bytes) -> asyncio.Future:
        self._waiter = self._loop.create_future()
        self._transport.write(data)
        return self._waiter

    def expire(self, waiter: asyncio.Future) -> None:
        if waiter is self._waiter:
            self._fail(RequestFailed("no answer in time"))

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.close()


class OriginPool:
    """Keep-alive connections to one origin (`https://host[:port][/prefix]`), at most
    `size` at once. Use `await pool.post(path, body, query={...})`; `close()` at the end."""

    def __init__(self, base_url: str, *, size: int = 64, timeout: float = 10.0):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self._prefix = parts.path.rstrip("/")
        default_port = self._port == (443 if parts.scheme == "https" else 80)
        self._host_header = self._host if default_port else f"{self._host}:{self._port}"
        self._timeout = timeout
        self._idle: collections.deque[_Connection] = collections.deque()
        self._slots = asyncio.Semaphore(size)
        self._open: set[_Connection] = set()

    def request_head(self, path: str, query: dict[str, str] | None = None) -> bytes:
        """The request line and headers up to `Content-Length: `, to reuse for many bodies."""
        target = self._prefix + path
        if query:
            target += "?" + "&".join(f"{quote(key, safe='')}={quote(str(value), safe='')}"
                                     for key, value in query.items())
        return (f"POST {target} HTTP/1.1\r\nHost: {self._host_header}\r\n"
                "Content-Type: application/json\r\nAccept: application/json\r\n"
                "Content-Length: ").encode("latin-1")

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send one POST (`head` from `request_head`) and return (status, body)."""
        async with self._slots:
            connection = await self._connection()
            waiter = connection.request(b"%s%d\r\n\r\n%s" % (head, len(body), body))
            loop = asyncio.get_running_loop()
            timer = loop.call_later(self._timeout, connection.expire, waiter)
            try:
                answer = await waiter
            except asyncio.CancelledError:
                connection.close()
                raise
            finally:
                timer.cancel()
                if connection.reusable:
                    self._idle.append(connection)
                else:
                    self._open.discard(connection)
            return answer

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable:
                return connection
            self._open.discard(connection)
        loop = asyncio.get_running_loop()
        try:
            _transport, connection = await asyncio.wait_for(loop.create_connection(
                lambda: _Connection(loop), self._host, self._port, ssl=self._ssl,
                server_hostname=self._host if self._ssl else None), self._timeout)
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as error:
            raise RequestFailed(f"could not connect to {self._host}:{self._port}: {error}") from error
        self._open.add(connection)
        return connection

    def close(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
