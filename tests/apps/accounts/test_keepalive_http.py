"""The keep-alive POST client of the bulk WeChat sender, against a raw loopback server
whose answers each test scripts byte for byte (chunked bodies, closes, silence)."""

import asyncio

import pytest

from apps.accounts.keepalive_http import OriginPool, RequestFailed


class ScriptedServer:
    """Answers each request with the next scripted reply (bytes, or None: say nothing);
    records the raw requests and how many connections were opened."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/prefix"

    async def _serve(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                self.requests.append(head + await reader.readexactly(length))
                reply = self.replies.pop(0)
                if reply is None:
                    await asyncio.sleep(5)
                    return
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def stop(self):
        self.server.close()


def run(replies, scenario):
    async def main():
        server = ScriptedServer(replies)
        pool = OriginPool(await server.start(), size=2, timeout=0.5)
        try:
            return await scenario(pool), server
        finally:
            pool.close()
            await server.stop()

    return asyncio.run(main())


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def test_posts_reuse_one_keep_alive_connection_and_send_the_request_as_written():
    async def scenario(pool):
        head = pool.request_head("/cgi-bin/send", {"access_token": "a b/c"})
        return [await pool.post(head, b'{"n": %d}' % n) for n in range(3)]

    answers, server = run([ok(b'{"errcode": 0}')] * 3, scenario)

    assert answers == [(200, b'{"errcode": 0}')] * 3
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /prefix/cgi-bin/send?access_token=a%20b%2Fc HTTP/1.1\r\n")
    assert b"Host: 127.0.0.1:" in first and b"Content-Length: 8\r\n" in first
    assert first.endswith(b'\r\n\r\n{"n": 0}')


def test_a_chunked_answer_is_read_whole():
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\n{\"err\r\n9\r\ncode\": 0}\r\n0\r\n\r\n")

    async def scenario(pool):
        head = pool.request_head("/x")
        return [await pool.post(head, b"{}"), await pool.post(head, b"{}")]

    answers, server = run([chunked, chunked], scenario)

    assert answers == [(200, b'{"errcode": 0}')] * 2
    assert server.connections == 1


def test_a_server_that_closes_gets_a_new_connection_and_nothing_is_sent_twice():
    async def scenario(pool):
        head = pool.request_head("/x")
        return [await pool.post(head, b"{}") for _ in range(2)]

    answers, server = run([ok(b"1", b"Connection: close\r\n"), ok(b"2")], scenario)

    assert answers == [(200, b"1"), (200, b"2")]
    assert server.connections == 2
    assert len(server.requests) == 2


def test_no_answer_in_time_fails_once_and_is_not_retried():
    async def scenario(pool):
        head = pool.request_head("/x")
        with pytest.raises(RequestFailed, match="in time"):
            await pool.post(head, b"{}")
        return await pool.post(head, b"{}")  # a fresh connection serves the next one

    answer, server = run([None, ok(b"later")], scenario)

    assert answer == (200, b"later")
    assert len(server.requests) == 2  # the silent one was not sent again
    assert server.connections == 2


def test_a_connection_dropped_mid_answer_fails_the_request():
    async def scenario(pool):
        with pytest.raises(RequestFailed, match="closed"):
            await pool.post(pool.request_head("/x"), b"{}")

    _, server = run([b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\nConnection: close\r\n\r\n{\"partial"], scenario)
    assert len(server.requests) == 1


def test_an_unreadable_answer_fails_the_request():
    async def scenario(pool):
        with pytest.raises(RequestFailed, match="unreadable"):
            await pool.post(pool.request_head("/x"), b"{}")

    run([b"SMTP ready\r\n\r\n"], scenario)


def test_nobody_listening_fails_cleanly():
    async def scenario():
        pool = OriginPool("http://127.0.0.1:9/", size=1, timeout=0.5)
        with pytest.raises(RequestFailed, match="could not connect"):
            await pool.post(pool.request_head("/x"), b"{}")
        pool.close()

    asyncio.run(scenario())


def test_only_http_and_https_base_urls():
    with pytest.raises(ValueError):
        OriginPool("ftp://example.org/")
