"""No address, and no crowd of addresses, can take the box: slots, rings and write buffers under floods.

Issue 10, items 2-4, re-run as attacks on a real gateway (in the test's event
loop, real loopback sockets; attackers come from 127.0.0.2 and up, the
well-behaved clients from 127.0.0.1). Each test checks that an established
session keeps relaying and that another address still gets 101 while the
flood is held, and that every ring comes back however the flood ends. The
pool is made small (a config override) so that a flood of a few hundred
sockets is enough to reach every bound.
"""

import asyncio
import socket
import struct

import pytest
import websockets

from edgegate.ws.connection import MAX_PENDING_PONGS

from . import wire
from .rig import Rig
from .steady import Steady
from .wire import STEP_S, wait_until

LOOPS = ["asyncio"]
try:  # pragma: no cover - uvloop is in the fast extra
    import uvloop

    LOOPS.append("uvloop")
except ImportError:  # pragma: no cover
    uvloop = None


def run_on(loop_name, coro, timeout=60.0):
    if loop_name == "uvloop":
        return uvloop.run(asyncio.wait_for(coro, timeout))
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Box(Rig):
    """A Rig with a small ring pool and admission limits a test can reach with a few hundred sockets."""

    def __init__(self, limits=None, timeouts=None, admission=None):
        lim = {"ring_pool_rings": 32, "max_conns": 400}
        lim.update(limits or {})
        adm = {"upgrades_per_ip_per_s": 1000, "upgrades_per_ip_burst": 16, "max_conns_per_ip": 48}
        adm.update(admission or {})
        super().__init__(timeouts, {"limits": lim, "admission": adm})

    async def another_address_gets_101(self, source="127.0.0.250"):
        async with websockets.connect(self.url, open_timeout=STEP_S, compression=None,
                                      additional_headers={}, **_from(source)) as ws:
            await ws.send("from %s" % source)
            assert await asyncio.wait_for(ws.recv(), STEP_S) == "from %s" % source


def _from(source):
    """websockets.connect keyword arguments that bind the client to ``source``."""
    return {"local_addr": (source, 0)}


async def open_raw(port, source):
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), STEP_S)


async def open_many(port, sources, first=b"", tolerate=False):
    """A raw connection from each of ``sources`` that sends ``first`` (and nothing more);
    with ``tolerate``, a connection the box refuses at once is left out."""
    out = []
    for source in sources:
        try:
            r, w = await open_raw(port, source)
        except OSError:
            if not tolerate:
                raise
            continue
        if first:
            w.write(first)
        out.append((r, w))
    return out


async def sessions_holding_a_frame(port, sources, more=b""):
    """An upgraded session from each of ``sources``, each holding an unfinished text frame."""
    out = []
    for source in sources:
        r, w = await open_raw(port, source)
        w.write(wire.request("/"))
        status, _ = await wire.read_head(r)
        assert status == 101
        w.write(UNFINISHED_TEXT + more)
        out.append((r, w))
    return out


def reset(writer):
    """End a connection with TCP RST (SO_LINGER 0), not FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _rss_kib():
    with open("/proc/self/status") as f:
        return int([line for line in f if line.startswith("VmRSS:")][0].split()[1])


HALF_HEAD = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
# The header of a 60 000-byte masked text frame whose mask key is zero: the
# payload bytes written after it are their own masked form.
UNFINISHED_TEXT = struct.pack("!BBH", 0x81, 0x80 | 126, 60000) + b"\x00\x00\x00\x00"


@pytest.mark.parametrize("loop", LOOPS)
def test_idle_connections_from_one_address_never_fill_the_box(loop):
    async def main():
        async with Box(limits={"max_conns": 64}, admission={"max_conns_per_ip": 12, "upgrades_per_ip_burst": 8}) as box:
            async with Steady(box.url) as steady:
                refused = 0
                flood = await open_many(box.port, ["127.0.0.2"] * 100)  # idle: they send nothing at all
                await asyncio.sleep(1.5)
                for r, w in flood:
                    try:
                        got = await asyncio.wait_for(r.read(200), 0.05)
                    except asyncio.TimeoutError:
                        continue
                    except ConnectionError:
                        got = b""
                    if got == b"" or got.startswith(b"HTTP/1.1 429"):
                        refused += 1
                # 8 unfinished at most (its burst); the rest were refused at accept: never read into a
                # ring, answered 429 if they speak, cut after the linger.
                assert refused == 92, refused
                assert box.gw.occupancy.held("127.0.0.2") == (8, 8)
                assert box.gw.pool.lent == 0
                await steady.advance()
                await box.another_address_gets_101()
                await steady.advance()
                for r, w in flood:
                    w.close()
    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_unfinished_heads_from_many_addresses_keep_their_hands_off_the_sessions_rings(loop):
    async def main():
        async with Box(timeouts={"handshake_ms": 4000}) as box:
            async with Steady(box.url) as steady:
                # 20 addresses x 16 unfinished heads = 320 > 32 rings
                flood = await open_many(box.port, ["127.0.1.%d" % (i // 16 + 2) for i in range(320)], HALF_HEAD,
                                        tolerate=True)
                await asyncio.sleep(0.5)
                lender = box.gw.rings
                assert lender.heads_held <= box.gw.pool.max_rings // 4, lender.heads_held
                for _ in range(3):
                    await steady.advance()
                    await box.another_address_gets_101()
                for r, w in flood:
                    reset(w)
                await wait_until(lambda: box.gw.pool.lent <= 1, what="every head's ring back after RST")
                await steady.advance()
    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_unfinished_heads_hold_no_ring_while_they_wait(loop):
    async def main():
        async with Box(limits={"ring_pool_rings": 8}, timeouts={"handshake_ms": 3000}) as box:
            flood = await open_many(box.port, ["127.0.2.%d" % (i % 10 + 2) for i in range(40)], HALF_HEAD)
            await wait_until(lambda: len(box.gw.sessions) == 40, what="40 heads read")
            await asyncio.sleep(0.2)
            assert box.gw.pool.lent == 0
            async with Steady(box.url) as steady:
                await steady.advance()
                for r, w in flood:  # the rest of each head: they all get their 101
                    w.write(b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                            % wire.new_key().encode())
                for r, w in flood:
                    status, _ = await wire.read_head(r)
                    assert status == 101
                await steady.advance()
            for r, w in flood:
                reset(w)
    run_on(loop, main())


@pytest.mark.parametrize("ending", ["rst", "fin", "timeout", "error"])
@pytest.mark.parametrize("loop", LOOPS)
def test_every_ending_of_a_ring_holding_session_gives_its_ring_back_and_wakes_the_starved(loop, ending):
    async def main():
        async with Box(limits={"ring_pool_rings": 8}, timeouts={"message_ms": 800, "close_ms": 1000},
                       admission={"upgrades_per_ip_burst": 40, "max_conns_per_ip": 200}) as box:
            # 24 sessions each holding an unfinished text frame: the pool has 8
            held = await sessions_holding_a_frame(box.port, ["127.0.2.%d" % (i % 12 + 2) for i in range(24)])
            for r, w in held:
                w.write(b"x" * 10)
            await wait_until(lambda: box.gw.pool.available == 0, what="the pool taken")
            for r, w in held:  # (the reaper may have ended some already: the pool is below its reserve)
                try:
                    if ending == "rst":
                        reset(w)
                    elif ending == "fin":
                        w.write_eof()
                    elif ending == "error":
                        w.write(b"\xff")  # not UTF-8: 1007 while the frame is still arriving
                except OSError:
                    pass
            # "timeout": timeouts.message_ms reclaims them (1008)
            try:
                await wait_until(lambda: box.gw.pool.lent == 0 and not box.gw.sessions, timeout=STEP_S,
                                 what="every ring back (%s)" % ending)
            except AssertionError:
                raise AssertionError("%d lent, %d holders, sessions %s, %s" % (
                    box.gw.pool.lent, len(box.gw.rings.holders), [
                        (x.state, x.client.rx is not None, x.client.closed, x.client._starved, x.client._read_paused,
                         x.backend.rx is not None and len(x.backend.rx), x.backend._starved, x.backend.closed,
                         x.cconn.close_sent, x.cconn.close_rcvd, x.bconn.close_sent, x.bconn.close_rcvd)
                        for x in box.gw.sessions.values()], box.gw.log.counters))
            assert not box.gw.rings.held and not box.gw.rings.holders
            assert box.gw.occupancy.total == 0 and box.gw.occupancy.pending == 0
            async with Steady(box.url) as steady:
                await steady.advance()
            for r, w in held:
                w.transport.abort()
    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_sessions_trickling_unfinished_frames_from_many_addresses_lose_their_rings(loop):
    async def main():
        async with Box(timeouts={"message_ms": 3000}) as box:
            async with Steady(box.url) as steady:
                # 12 addresses x 4 sessions: 48 rings wanted of 32
                slow = await sessions_holding_a_frame(box.port, ["127.0.3.%d" % (i // 4 + 2) for i in range(48)],
                                                      b"x" * 10)
                loop = asyncio.get_running_loop()
                end = loop.time() + 4.0
                while loop.time() < end:  # a byte a while from each, as the attack did
                    for r, w in slow:
                        if not w.is_closing():
                            w.write(b"y")
                    await steady.advance(1)
                    await asyncio.sleep(0.2)
                await box.another_address_gets_101()
                assert box.count("rings_reclaimed") > 0
                ended = 0
                for r, w in slow:  # a reclaimed session gets its 1008 and is closed with its input unread: RST may eat it
                    try:
                        data = await asyncio.wait_for(r.read(), 1.0)
                        ended += data == b"" or data[:1] == b"\x88"
                    except ConnectionError:
                        ended += 1
                    except asyncio.TimeoutError:
                        pass
                    w.close()
                assert ended >= 16, ended  # at least what the pool lacked
                await steady.advance()
            await wait_until(lambda: box.gw.pool.lent == 0, what="every ring back")
    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_a_client_that_pings_and_never_reads_stays_within_its_write_buffer(loop):
    async def main():
        async with Box() as box:
            async with Steady(box.url) as steady:
                loop = asyncio.get_running_loop()
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.bind(("127.0.0.9", 0))
                sock.setblocking(False)
                await loop.sock_connect(sock, ("127.0.0.1", box.port))
                await loop.sock_sendall(sock, wire.request("/"))
                head = b""
                while b"\r\n\r\n" not in head:
                    head += await asyncio.wait_for(loop.sock_recv(sock, 1), STEP_S)
                assert head.startswith(b"HTTP/1.1 101")
                burst = wire.frame(wire.OP_PING, b"p" * 125) * 500
                rss0 = _rss_kib()
                sent = 0
                end = loop.time() + 3.0
                while loop.time() < end and sent < 200_000:
                    try:
                        sock.send(burst)
                        sent += 500
                    except BlockingIOError:
                        await steady.advance(1)
                        await asyncio.sleep(0.01)
                        continue
                    await asyncio.sleep(0)
                s = [x for x in box.gw.sessions.values() if x.peer.startswith("127.0.0.9:")][0]
                high = box.gw.cfg.limits["write_buffer_bytes"]
                # past the bound by one read's pongs at most (MAX_PENDING_PONGS frames of 127 bytes)
                assert s.client.write_buffer_size <= high + MAX_PENDING_PONGS * 127, s.client.write_buffer_size
                assert sent >= 50_000, sent  # the flood happened
                grown = _rss_kib() - rss0
                assert grown < 20 * 1024, "RSS grew by %d KiB over %d pings" % (grown, sent)
                await steady.advance()
                await box.another_address_gets_101()
                sock.close()
    run_on(loop, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_a_crowd_holding_one_idle_connection_per_address_cannot_keep_a_newcomer_out(loop):
    async def main():
        # max_conns 64: unfinished ones may take 16; 40 addresses hold one idle connection each
        async with Box(limits={"max_conns": 64}, timeouts={"handshake_ms": 4000}) as box:
            async with Steady(box.url) as steady:
                crowd = await open_many(box.port, ["127.0.4.%d" % (i + 2) for i in range(40)], tolerate=True)
                await asyncio.sleep(0.3)  # past min_pending_ms (handshake_ms / 40)
                assert box.gw.occupancy.pending == box.gw.occupancy.pending_max
                for _ in range(3):
                    await box.another_address_gets_101()
                    await steady.advance()
                assert box.count("unfinished_evicted") >= 1  # the first newcomer took the oldest idle slot
                for r, w in crowd:
                    w.transport.abort()
    run_on(loop, main())


def test_connection_churn_gives_the_heap_back():
    async def main():
        async with Box(admission={"upgrades_per_ip_burst": 64, "max_conns_per_ip": 200}) as box:
            for rnd in range(3):  # 3 x 800 connections that send half a head and are reset
                flood = await open_many(box.port, ["127.0.6.%d" % (i % 40 + 2) for i in range(800)], HALF_HEAD,
                                        tolerate=True)
                await asyncio.sleep(0.1)
                for r, w in flood:
                    reset(w)
            await wait_until(lambda: box.count("heap_trims") >= 1, what="a heap trim after 2 048 endings")
            # the trim came at the 2 048th ending: the rest of the 2 400 end after it
            await wait_until(lambda: box.gw.occupancy.total == 0, what="every slot back")
    run_on("asyncio", main())
