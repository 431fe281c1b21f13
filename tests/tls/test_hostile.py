"""Hostile TLS handshakes: silent, trickling and garbage clients cost one connection, nobody else's.

The listener has ``tls.handshake_ms: 1000``. A client that opens TCP and
says nothing, and one that sends a real ClientHello one byte every 200 ms,
are cut when that deadline passes (measured: between 0.9 s and 3 s after
connecting), while a wss client keeps echoing the whole time. Bytes that are
not TLS at all close their connection at once: well before the deadline,
without a session_error, the gateway still up.
"""

import asyncio
import random
import time

import pytest

from tests import procs

from . import tlsutil

HANDSHAKE_MS = 1000
CUT_MIN_S, CUT_MAX_S = 0.9, 3.0
GARBAGE = random.Random(20261124).randbytes(4096)


@pytest.fixture(scope="module", params=tlsutil.BACKENDS)
def gw(request, certs, echo_backend):
    port = procs.free_port()
    with procs.gateway_listen([tlsutil.tls_listener(port, certs, request.param, handshake_ms=HANDSHAKE_MS)],
                              tlsutil.route_to(echo_backend.port)) as g:
        g.backend = request.param
        yield g
        assert "session_error" not in g.output()


class Echoer:
    """A wss client sending a message every 20 ms and checking each echo, until stopped."""

    def __init__(self, port, cafile):
        self.port, self.cafile = port, cafile
        self.times = []
        self.stop = asyncio.Event()

    async def run(self):
        import websockets

        ctx = tlsutil.client_ctx(self.cafile)
        async with websockets.connect("wss://localhost:%d/" % self.port, ssl=ctx, open_timeout=5) as ws:
            i = 0
            while not self.stop.is_set():
                msg = "tick %d" % i
                await ws.send(msg)
                assert await asyncio.wait_for(ws.recv(), 2) == msg
                self.times.append(time.monotonic())
                i += 1
                await asyncio.sleep(0.02)

    def max_gap(self, since, until):
        ts = [since] + [t for t in self.times if since <= t <= until] + [until]
        return max(b - a for a, b in zip(ts, ts[1:]))


async def _until_closed(reader, deadline_s):
    """Read until EOF or reset; return the bytes read. Fails after ``deadline_s``."""
    got = b""
    end = time.monotonic() + deadline_s
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError("still open after %.1fs" % deadline_s)
        try:
            chunk = await asyncio.wait_for(reader.read(65536), left)
        except ConnectionError:
            return got
        except asyncio.TimeoutError:
            raise AssertionError("still open after %.1fs" % deadline_s) from None
        if not chunk:
            return got
        got += chunk


async def _silent(port):
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _until_closed(reader, 10)
    finally:
        writer.close()
    return time.monotonic() - t0


async def _trickle(port, hello):
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    closed = asyncio.ensure_future(_until_closed(reader, 10))
    sent = 0
    try:
        while not closed.done() and sent < len(hello):
            try:
                writer.write(hello[sent:sent + 1])
                await writer.drain()
            except ConnectionError:
                break
            sent += 1
            await asyncio.wait([closed], timeout=0.2)
        await closed
    finally:
        writer.close()
    assert sent < len(hello), "the whole ClientHello went out before the cut"
    return time.monotonic() - t0, sent


def test_silent_and_trickling_handshakes_are_cut_at_handshake_ms_while_a_wss_client_keeps_echoing(gw, certs):
    hello = tlsutil.client_hello()

    async def main():
        echoer = Echoer(gw.port, certs["ca.pem"])
        echo_task = asyncio.ensure_future(echoer.run())
        while not echoer.times:
            await asyncio.sleep(0.01)
            assert not echo_task.done(), echo_task.exception()
        t0 = time.monotonic()
        silent, (trickled, sent) = await asyncio.gather(_silent(gw.port), _trickle(gw.port, hello))
        t1 = time.monotonic()
        await asyncio.sleep(0.1)  # and the good client is still fine just after
        echoer.stop.set()
        await echo_task
        return silent, trickled, sent, echoer, t0, t1

    silent, trickled, sent, echoer, t0, t1 = asyncio.run(main())
    print("%s: silent client cut after %.2fs, trickling client after %.2fs (%d of %d ClientHello bytes);"
          " %d echoes meanwhile" % (gw.backend, silent, trickled, sent, len(hello),
                                    len([t for t in echoer.times if t0 <= t <= t1])))
    assert CUT_MIN_S <= silent <= CUT_MAX_S, silent
    assert CUT_MIN_S <= trickled <= CUT_MAX_S, trickled
    assert echoer.max_gap(t0, t1) < 0.5, "the good client stalled"
    assert len([t for t in echoer.times if t0 <= t <= t1]) >= 10
    assert gw.p.poll() is None


@pytest.mark.parametrize("garbage", [GARBAGE, b"GET / HTTP/1.1\r\n\r\n"], ids=["4KiB-random", "http-get"])
def test_garbage_instead_of_a_client_hello_closes_only_that_connection_at_once(gw, certs, garbage):
    assert garbage[:1] != b"\x16", "not a handshake record by construction"

    async def main():
        echoer = Echoer(gw.port, certs["ca.pem"])
        echo_task = asyncio.ensure_future(echoer.run())
        while not echoer.times:
            await asyncio.sleep(0.01)
            assert not echo_task.done(), echo_task.exception()
        t0 = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(garbage)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        got = await _until_closed(reader, 5)
        took = time.monotonic() - t0
        writer.close()
        await asyncio.sleep(0.2)
        t1 = time.monotonic()
        echoer.stop.set()
        await echo_task
        return got, took, echoer, t0, t1

    got, took, echoer, t0, t1 = asyncio.run(main())
    print("%s: %d garbage bytes: closed after %.3fs, answer %r" % (gw.backend, len(garbage), took, got[:16]))
    assert b"HTTP/" not in got
    assert got == b"" or got[:1] == b"\x15", got[:32]  # nothing, or a TLS alert
    assert took < HANDSHAKE_MS / 1000 * 0.8, "closed by the deadline, not for the garbage"
    assert echoer.max_gap(t0, t1) < 0.5
    assert gw.p.poll() is None
    assert "session_error" not in gw.output()


def test_the_client_hello_that_trickles_gets_a_server_hello_when_sent_whole(gw):
    # The trickling client is cut for its pace, not for what it sends.
    async def main():
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(tlsutil.client_hello())
        head = await asyncio.wait_for(reader.readexactly(6), 5)
        writer.close()
        return head

    head = asyncio.run(main())
    assert head[:1] == b"\x16" and head[5:6] == b"\x02", head  # handshake record, ServerHello
