"""Deadlines and the gateway's life: handshake and idle timeouts, drain on SIGTERM, capacity.

Timeouts are set small through the config (``procs.gateway(timeouts=...)``).
The gateway's reaper applies idle and keepalive deadlines every 200 ms, so
those are asserted as "not before the deadline, and within a few ticks after".
Idle time counts client->gateway traffic only; a pong is such traffic.
"""

import asyncio
import logging
import signal
import time

import pytest
import websockets

from tests import procs

from . import wire
from .steady import Steady, run
from .wire import OP_CLOSE, OP_PING, OP_TEXT, STEP_S, wait_until

TICK_S = 0.2  # edgegate.gateway.server._TICK_MS
SLACK_S = 1.0  # how late a deadline may fire on a loaded machine


@pytest.fixture(scope="module")
def backend():
    with procs.echo() as e:
        yield e


# ---- handshake_ms ------------------------------------------------------------

HANDSHAKE_MS = 500


def test_server_answers_408_to_silent_and_trickling_clients_after_handshake_ms(backend):
    with procs.gateway(backend.port, timeouts={"handshake_ms": HANDSHAKE_MS}) as gw:
        async def silent():
            reader, writer = await wire.connect(gw.port)
            t0 = time.monotonic()
            status, headers, body = await wire.read_response(reader)
            took = time.monotonic() - t0
            assert await wire.read_eof(reader) == b""
            writer.close()
            await writer.wait_closed()
            return status, took

        async def trickle():
            reader, writer = await wire.connect(gw.port)
            t0 = time.monotonic()
            partial = wire.request("/")[:-2]  # never the final CRLF

            async def drip():
                for i in range(len(partial)):
                    writer.write(partial[i:i + 1])
                    await asyncio.sleep(0.02)  # pace: one byte every 20 ms, slowloris style

            dripping = asyncio.create_task(drip())
            status, headers, body = await wire.read_response(reader)
            took = time.monotonic() - t0
            dripping.cancel()
            writer.close()
            await writer.wait_closed()
            return status, took

        async def main():
            async with Steady("ws://127.0.0.1:%d/" % gw.port) as steady:
                c0 = steady.count
                (s1, t1), (s2, t2) = await asyncio.gather(silent(), trickle())
                # It kept echoing all through the deadline (one round trip per ~5 ms).
                assert steady.count - c0 >= 10, steady.count - c0
                await steady.advance()
            return s1, t1, s2, t2

        s1, t1, s2, t2 = run(main())
        assert s1 == 408 and s2 == 408
        for took in (t1, t2):
            assert HANDSHAKE_MS / 1000 - 0.05 <= took <= HANDSHAKE_MS / 1000 + SLACK_S, took
        rejects = sorted((r["status"], r["why"]) for r in gw.records() if r.get("event") == "reject")
        assert rejects == [(408, "handshake timeout"), (408, "handshake timeout")]


# ---- idle_ms and ping_interval_ms ---------------------------------------------

IDLE_MS = 800
PING_MS = 300
IDLE = {"idle_ms": IDLE_MS, "ping_interval_ms": PING_MS}


def test_server_pings_then_closes_1001_a_silent_client_after_idle_ms(backend):
    with procs.gateway(backend.port, timeouts=IDLE) as gw:
        async def main():
            async with Steady("ws://127.0.0.1:%d/" % gw.port) as steady:
                t0 = time.monotonic()  # before the request: the gateway's idle clock starts later
                reader, writer = await wire.upgrade(gw.port)
                fin, op, payload = await wire.read_frame(reader)  # the raw client never answers it
                t_ping = time.monotonic() - t0
                assert (fin, op) == (True, OP_PING)
                assert payload == b"edgegate"
                code, reason, before = await wire.read_close(reader)
                t_close = time.monotonic() - t0
                assert (code, reason, before) == (1001, "idle timeout", [])
                writer.write(wire.frame(OP_CLOSE, wire.close_payload(1001)))
                assert await wire.read_eof(reader) == b""
                writer.close()
                await writer.wait_closed()
                await steady.advance()  # the steady client, busy all along, is not idle
            return t_ping, t_close

        t_ping, t_close = run(main())
        assert PING_MS / 1000 - 0.05 <= t_ping <= PING_MS / 1000 + TICK_S + SLACK_S, t_ping
        assert IDLE_MS / 1000 - 0.05 <= t_close <= IDLE_MS / 1000 + TICK_S + SLACK_S, t_close


class _Pings(logging.Handler):
    """Counts the pings a websockets connection received (from its debug log)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if record.getMessage().startswith("< PING"):
            self.count += 1


def test_client_that_answers_pings_stays_connected_past_idle_ms(backend):
    with procs.gateway(backend.port, timeouts=IDLE) as gw:
        async def main():
            pings = _Pings()
            log = logging.getLogger("test.gateway.idle")
            log.setLevel(logging.DEBUG)
            log.propagate = False
            log.addHandler(pings)
            # ping_interval=None: the client sends nothing of its own; only its
            # automatic pongs tell the gateway it is alive.
            async with websockets.connect("ws://127.0.0.1:%d/" % gw.port, ping_interval=None,
                                          open_timeout=STEP_S, logger=log) as ws:
                t0 = time.monotonic()
                await wait_until(lambda: pings.count >= 3 and time.monotonic() - t0 > 2 * IDLE_MS / 1000,
                                 timeout=2 * IDLE_MS / 1000 + 10 * (PING_MS / 1000 + TICK_S),
                                 what="3 gateway pings and 2 x idle_ms")
                assert ws.protocol.state is websockets.protocol.State.OPEN
                await ws.send("still here")
                assert await asyncio.wait_for(ws.recv(), STEP_S) == "still here"
            assert ws.close_code == 1000
            log.removeHandler(pings)
        run(main())


def test_server_keeps_a_client_that_only_sends_pongs(backend):
    """The raw version of the above: each answered ping resets the idle clock."""
    with procs.gateway(backend.port, timeouts=IDLE) as gw:
        async def main():
            reader, writer = await wire.upgrade(gw.port)
            t0 = time.monotonic()
            pongs = 0
            while time.monotonic() - t0 < 2 * IDLE_MS / 1000 or pongs < 3:
                fin, op, payload = await wire.read_frame(reader)
                assert (op, payload) == (OP_PING, b"edgegate"), (op, payload)
                writer.write(wire.frame(0xA, payload))
                pongs += 1
            writer.write(wire.frame(OP_TEXT, b"alive"))
            assert await wire.read_frame(reader) == (True, OP_TEXT, b"alive")
            writer.write(wire.frame(OP_CLOSE, wire.close_payload(1000)))
            assert (await wire.read_close(reader))[:2] == (1000, "")
            writer.close()
            await writer.wait_closed()
        run(main())


# ---- drain on SIGTERM ---------------------------------------------------------

DRAIN_MS = 3000


def test_gateway_closes_clients_1001_and_exits_0_within_drain_ms_on_sigterm(backend):
    gw = procs.gateway(backend.port, timeouts={"drain_ms": DRAIN_MS})
    try:
        async def main():
            url = "ws://127.0.0.1:%d/" % gw.port
            clients = [await websockets.connect(url, open_timeout=STEP_S, ping_interval=None) for _ in range(2)]
            for i, ws in enumerate(clients):
                await ws.send("before drain %d" % i)
                assert await asyncio.wait_for(ws.recv(), STEP_S) == "before drain %d" % i
            t0 = time.monotonic()
            gw.p.send_signal(signal.SIGTERM)
            for ws in clients:
                with pytest.raises(websockets.ConnectionClosedOK):
                    await asyncio.wait_for(ws.recv(), STEP_S)
                assert ws.protocol.close_rcvd is not None
                assert (ws.close_code, ws.close_reason) == (1001, "going away")
            await wait_until(lambda: gw.p.poll() is not None, timeout=DRAIN_MS / 1000 + SLACK_S,
                             what="the gateway exited")
            return time.monotonic() - t0

        took = run(main())
        assert gw.p.returncode == 0
        assert took <= DRAIN_MS / 1000, took
        events = [r.get("event") for r in gw.records()]
        assert events.count("session_end") == 2
        assert events.index("draining") < events.index("session_end")
        assert events[-1] == "stopped"
    finally:
        gw.stop()


def test_gateway_refuses_new_connections_while_draining(backend):
    gw = procs.gateway(backend.port, timeouts={"drain_ms": DRAIN_MS, "close_ms": 2000})
    try:
        async def main():
            # A raw client that never answers the close keeps the drain going.
            reader, writer = await wire.upgrade(gw.port)
            gw.p.send_signal(signal.SIGTERM)
            code, reason, _ = await wire.read_close(reader)
            assert (code, reason) == (1001, "going away")
            # The listener is closed: a new connection is refused outright.
            with pytest.raises(OSError):
                r2, w2 = await wire.connect(gw.port)
                w2.write(wire.request("/"))
                await wire.read_head(r2)
            writer.write(wire.frame(OP_CLOSE, wire.close_payload(1001)))
            assert await wire.read_eof(reader) == b""
            writer.close()
            await writer.wait_closed()
            await wait_until(lambda: gw.p.poll() is not None, timeout=DRAIN_MS / 1000 + SLACK_S,
                             what="the gateway exited")
        run(main())
        assert gw.p.returncode == 0
    finally:
        gw.stop()


def test_gateway_exits_within_drain_ms_when_a_client_never_answers_the_close(backend):
    # close_ms is longer than drain_ms: only the drain deadline can end this session.
    gw = procs.gateway(backend.port, timeouts={"drain_ms": 1000, "close_ms": 30000})
    try:
        async def main():
            reader, writer = await wire.upgrade(gw.port)
            t0 = time.monotonic()
            gw.p.send_signal(signal.SIGTERM)
            assert (await wire.read_close(reader))[:2] == (1001, "going away")
            # ... and never answers it, nor closes.
            await wait_until(lambda: gw.p.poll() is not None, timeout=1.0 + SLACK_S,
                             what="the gateway exited within drain_ms")
            took = time.monotonic() - t0
            try:
                rest = await wire.read_eof(reader)  # the connection was aborted
            except ConnectionResetError:
                rest = b""
            assert rest == b""
            writer.close()
            return took

        took = run(main())
        assert gw.p.returncode == 0
        assert 1.0 - 0.05 <= took <= 1.0 + SLACK_S, took
    finally:
        gw.stop()


def test_client_whose_backend_answers_during_the_drain_gets_close_1001(backend):
    async def main():
        reached = asyncio.Event()
        answer = asyncio.Event()
        backend_closes = []

        async def hold(connection, request):
            reached.set()
            await answer.wait()  # answer the handshake only once the drain has begun

        async def handler(ws):
            async for _ in ws:
                pass
            backend_closes.append((ws.close_code, ws.close_reason))

        async with websockets.serve(handler, "127.0.0.1", 0, process_request=hold) as server:
            port = server.sockets[0].getsockname()[1]
            gw = procs.gateway(port, timeouts={"drain_ms": 2000})
            try:
                async def opening():
                    return await websockets.connect("ws://127.0.0.1:%d/" % gw.port, open_timeout=STEP_S,
                                                    ping_interval=None)

                client = asyncio.create_task(opening())
                await asyncio.wait_for(reached.wait(), STEP_S)  # the session is connecting
                t0 = time.monotonic()
                gw.p.send_signal(signal.SIGTERM)
                await wait_until(lambda: any(r.get("event") == "draining" for r in gw.records()),
                                 what="the drain began")
                answer.set()
                ws = await client
                with pytest.raises(websockets.ConnectionClosedOK):
                    await asyncio.wait_for(ws.recv(), STEP_S)
                assert (ws.close_code, ws.close_reason) == (1001, "going away")
                await wait_until(lambda: gw.p.poll() is not None, timeout=2.0 + SLACK_S,
                                 what="the gateway exited")
                took = time.monotonic() - t0
                await wait_until(lambda: backend_closes, what="the backend saw the close")
                assert backend_closes == [(1001, "going away")]
                assert gw.p.returncode == 0
                assert took < 2.0, took  # closed cleanly, not cut at drain_ms
            finally:
                gw.stop()
    run(main())


def test_client_sending_its_request_during_the_drain_gets_503(backend):
    gw = procs.gateway(backend.port, timeouts={"drain_ms": 2000})
    try:
        async def main():
            reader, writer = await wire.connect(gw.port)
            req = wire.request("/")
            writer.write(req[:20])
            # A full round trip on a later connection: the raw one, ahead of it in the
            # listener's queue, has been accepted by now.
            async with websockets.connect("ws://127.0.0.1:%d/" % gw.port, open_timeout=STEP_S) as ws:
                await ws.send("x")
                assert await asyncio.wait_for(ws.recv(), STEP_S) == "x"
            gw.p.send_signal(signal.SIGTERM)
            await wait_until(lambda: any(r.get("event") == "draining" for r in gw.records()),
                             what="the drain began")
            drain = [r for r in gw.records() if r.get("event") == "draining"][0]
            assert drain["sessions"] >= 1  # the raw connection, mid-request (the other may linger)
            writer.write(req[20:])
            status, headers, body = await wire.read_response(reader)
            assert (status, headers.get("retry-after")) == (503, "1")
            writer.close()
            await writer.wait_closed()
            await wait_until(lambda: gw.p.poll() is not None, timeout=2.0 + SLACK_S,
                             what="the gateway exited")
        run(main())
        assert gw.p.returncode == 0
    finally:
        gw.stop()


# ---- limits.max_conns ---------------------------------------------------------

def test_server_answers_503_with_retry_after_beyond_max_conns(backend):
    with procs.gateway(backend.port, limits={"max_conns": 2}) as gw:
        url = "ws://127.0.0.1:%d/" % gw.port

        async def connect_when_room():
            # wait_port's probe connection may still hold a slot for a moment.
            deadline = time.monotonic() + STEP_S
            while True:
                try:
                    return await websockets.connect(url, open_timeout=STEP_S)
                except websockets.InvalidStatus as e:
                    if e.response.status_code != 503 or time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.02)

        async def main():
            a = await connect_when_room()
            b = await connect_when_room()
            with pytest.raises(websockets.InvalidStatus) as e:
                await websockets.connect(url, open_timeout=STEP_S)
            assert e.value.response.status_code == 503
            assert e.value.response.headers["Retry-After"] == "1"
            # Raw, to see the whole answer.
            reader, writer = await wire.connect(gw.port)
            writer.write(wire.request("/"))
            status, headers, body = await wire.read_response(reader)
            assert (status, headers["retry-after"], body) == (503, "1", b"503 Service Unavailable\n")
            writer.close()
            await writer.wait_closed()
            # The two admitted clients are unaffected.
            for ws in (a, b):
                await ws.send("in")
                assert await asyncio.wait_for(ws.recv(), STEP_S) == "in"
            # A slot freed is a slot taken.
            await a.close()
            c = await connect_when_room()
            await c.send("third")
            assert await asyncio.wait_for(c.recv(), STEP_S) == "third"
            await b.close()
            await c.close()
        run(main())
