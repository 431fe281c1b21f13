"""The message chain through a real gateway process: websockets and Node ``ws`` clients, a recording backend.

Routes (one gateway, the recorder of tests/gateway/recorder.py behind it):

    /chat   policy chat: text only, max 512 bytes, JSON of a fixed shape, sqli/xss/nosql/proto
            signatures, a deny-list; sub-protocol "raw.v1" picks policy raw (binary only)
    /drop   policy lenient: like chat but every content violation and the rate are dropped
    /rate   policy rate: 5 messages burst, 5/s
    /shared policy shared: 3 messages burst, 1/s, per principal (here: per address, the route is open)
    /open   no message policy

A refused message never reaches the backend (its marker is not in the
recorder's log), the client hears the verdict's close code, the audit record
names the rule and never the content, and other sessions carry on.
"""

import asyncio
import hashlib
import json
import os
import subprocess
import time
import uuid

import pytest
import websockets

from tests import procs

from . import wire
from .steady import Steady, run
from .wire import STEP_S

SHAPE = {"type": "object", "required": ["type"], "additionalProperties": False,
         "properties": {"type": {"enum": ["say", "join"]}, "text": {"type": "string", "maxLength": 200},
                        "room": {"type": "integer", "minimum": 0}}}
CHAT = {"types": ["text"], "max_bytes": 512, "json": True, "max_depth": 4, "shape": SHAPE,
        "signatures": ["sqli", "xss", "nosql", "proto"], "deny": ["launch codes"]}
POLICIES = {
    "chat": CHAT,
    "raw": {"types": ["binary"], "max_bytes": 256},
    "lenient": dict(CHAT, on_violation="drop", rate={"messages_per_s": 1000, "on_exceed": "drop"}),
    "rate": {"rate": {"messages_per_s": 5, "messages_burst": 5}},
    "shared": {"rate": {"messages_per_s": 1, "messages_burst": 3, "per": "principal"}},
}


@pytest.fixture(scope="module")
def gw():
    port = procs.free_port()
    rec = procs.Proc([procs.PY, "-m", "tests.gateway.recorder", str(port), "raw.v1"], port)
    url = "ws://127.0.0.1:%d/" % port
    routes = [
        {"path": "/chat", "backend": {"url": url}, "messages": "chat", "subprotocols": ["raw.v1"],
         "messages_by_subprotocol": {"raw.v1": "raw"}},
        {"path": "/drop", "backend": {"url": url}, "messages": "lenient"},
        {"path": "/rate", "backend": {"url": url}, "messages": "rate"},
        {"path": "/shared", "backend": {"url": url}, "messages": "shared"},
        {"path": "/open", "backend": {"url": url}},
    ]
    with rec, procs.gateway(port, routes=routes, extra={"message_policies": POLICIES}) as g:
        g.url = "ws://127.0.0.1:%d" % g.port
        g.recorder = rec
        yield g


def connect(url, **kw):
    return websockets.connect(url, max_size=None, compression=None, open_timeout=STEP_S, ping_interval=None, **kw)


def marker():
    return "m-" + uuid.uuid4().hex


def backend_saw(gw, mark):
    return any(mark in r.get("data", "") for r in gw.recorder.records() if r.get("event") == "backend_got")


def audits(gw, mark=None):
    return [r for r in gw.records() if r.get("event") == "audit" and r.get("what", "").startswith("message_")]


async def refused_with(url, message, **kw):
    """Send ``message``; return the close code the gateway answers with (no echo may come first)."""
    async with connect(url, **kw) as ws:
        await ws.send(message)
        with pytest.raises(websockets.ConnectionClosed) as e:
            got = await asyncio.wait_for(ws.recv(), STEP_S)
            pytest.fail("echoed: %r" % (got,))
        return e.value.rcvd.code if e.value.rcvd else None


def test_a_message_that_fits_the_policy_is_relayed_unchanged(gw):
    m = marker()
    msg = json.dumps({"type": "say", "text": m, "room": 3})

    async def main():
        async with connect(gw.url + "/chat") as ws:
            await ws.send(msg)
            assert await asyncio.wait_for(ws.recv(), STEP_S) == msg
    run(main())
    assert backend_saw(gw, m)


@pytest.mark.parametrize("why, message, code", [
    ("xss", '{"type":"say","text":"<script>alert(1)</script> %s"}', 1008),
    ("xss behind a JSON escape", '{"type":"say","text":"\\u003cscript\\u003e %s"}', 1008),
    ("sqli", '{"type":"say","text":"x\' OR \'1\'=\'1 %s"}', 1008),
    ("nosql operator", '{"type":"say","text":"%s","room":{"$ne":0}}', 1008),
    ("prototype pollution", '{"type":"say","__proto__":{"admin":true},"text":"%s"}', 1008),
    ("deny-list", '{"type":"say","text":"the LAUNCH   codes %s"}', 1008),
    ("not JSON", "say %s", 1008),
    ("shape: unknown type", '{"type":"shout","text":"%s"}', 1008),
    ("shape: extra member", '{"type":"say","text":"%s","admin":true}', 1008),
    ("too deep", '{"type":"say","text":"%s","room":[[[[1]]]]}', 1008),
    ("over max_bytes", '{"type":"say","text":"%s' + "x" * 600 + '"}', 1009),
])
def test_a_refused_message_never_reaches_the_backend(gw, why, message, code):
    m = marker()
    assert run(refused_with(gw.url + "/chat", message % m)) == code
    assert not backend_saw(gw, m)


def test_binary_on_the_text_route_is_closed_1003(gw):
    m = marker()
    assert run(refused_with(gw.url + "/chat", m.encode())) == 1003
    assert not backend_saw(gw, m.encode().hex())
    # The audit hashes what the client sent, not the masked bytes in the ring.
    rec = [r for r in audits(gw) if r["rule"] == "type"][-1]
    assert rec["sha256"] == hashlib.sha256(m.encode()).hexdigest()[:32]


def test_the_negotiated_subprotocol_picks_its_own_policy(gw):
    async def main():
        async with connect(gw.url + "/chat", subprotocols=["raw.v1"]) as ws:
            assert ws.subprotocol == "raw.v1"
            await ws.send(b"\x01\x02<script>")  # policy raw: binary, no signatures
            assert await asyncio.wait_for(ws.recv(), STEP_S) == b"\x01\x02<script>"
        return await refused_with(gw.url + "/chat", '{"type":"say"}', subprotocols=["raw.v1"])
    assert run(main()) == 1003


def test_a_fragmented_message_is_judged_whole_and_arrives_whole(gw):
    ok, bad = marker(), marker()

    async def main():
        async with connect(gw.url + "/chat") as ws:
            parts = ['{"type":"say",', '"text":"%s"' % ok, "}"]
            await ws.send(iter(parts))
            assert await asyncio.wait_for(ws.recv(), STEP_S) == "".join(parts)
            # The signature is split across frames: no frame alone holds it.
            await ws.send(iter(['{"type":"say","text":"<scr', 'ipt> %s"}' % bad]))
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(ws.recv(), STEP_S)
            return e.value.rcvd.code
    assert run(main()) == 1008
    assert backend_saw(gw, ok)
    assert not backend_saw(gw, bad)


def test_drop_policy_discards_the_message_and_keeps_the_session(gw):
    bad, good = marker(), marker()

    async def main():
        async with connect(gw.url + "/drop") as ws:
            await ws.send('{"type":"say","text":"<svg> %s"}' % bad)
            await ws.send('{"type":"say","text":"%s"}' % good)
            assert json.loads(await asyncio.wait_for(ws.recv(), STEP_S))["text"] == good
    run(main())
    assert not backend_saw(gw, bad)
    dropped = [r for r in audits(gw) if r["what"] == "message_dropped" and r["rule"] == "signature"]
    assert dropped and dropped[-1]["detail"] == "xss: <svg" and dropped[-1]["policy"] == "lenient"


def test_message_rate_over_the_burst_is_closed_1008(gw):
    async def main():
        async with connect(gw.url + "/rate") as ws:
            for i in range(5):
                await ws.send("m%d" % i)
                assert await asyncio.wait_for(ws.recv(), STEP_S) == "m%d" % i
            await ws.send("one too many")
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(ws.recv(), STEP_S)
            return e.value.rcvd.code, e.value.rcvd.reason
    assert run(main()) == (1008, "rate limit")


def test_rate_per_principal_is_shared_by_its_connections(gw):
    async def main():
        async with connect(gw.url + "/shared") as a, connect(gw.url + "/shared") as b:
            for ws, m in ((a, "a1"), (b, "b1"), (a, "a2")):
                await ws.send(m)
                assert await asyncio.wait_for(ws.recv(), STEP_S) == m
            await b.send("b2")  # the fourth message of this address within the burst
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(b.recv(), STEP_S)
            return e.value.rcvd.code, e.value.rcvd.reason
    assert run(main()) == (1008, "rate limit")
    rec = [r for r in audits(gw) if r["rule"] == "rate" and r["policy"] == "shared"][-1]
    assert rec["detail"] == "over 1 messages/s per principal"


def test_audit_records_name_the_rule_and_never_the_content(gw):
    m = marker()
    secret = "tok-" + uuid.uuid4().hex
    assert run(refused_with(gw.url + "/chat", '{"type":"say","text":"%s %s <iframe>"}' % (m, secret))) == 1008
    log = gw.output()
    assert secret not in log and m not in log
    rec = [r for r in audits(gw) if r["rule"] == "signature" and r["detail"] == "xss: <iframe"][-1]
    assert rec["what"] == "message_refused" and rec["code"] == 1008 and rec["route"] == "/chat"
    assert len(rec["sha256"]) == 32 and rec["bytes"] > 0


def test_a_refusal_closes_only_that_session(gw):
    async def main():
        async with Steady(gw.url + "/open") as steady, connect(gw.url + "/chat") as chat:
            for i in range(3):
                assert await refused_with(gw.url + "/chat", "<script>") == 1008
                await steady.advance()
                msg = json.dumps({"type": "say", "text": "still here %d" % i})
                await chat.send(msg)
                assert await asyncio.wait_for(chat.recv(), STEP_S) == msg
    run(main())


def test_node_ws_client_hears_the_same_close_codes(gw):
    from tests.admission.util import ensure_node_modules, node_available

    if not node_available():
        pytest.skip("node is not installed")
    ensure_node_modules()
    script = (
        "const WebSocket = require('ws');\n"
        "const cases = JSON.parse(process.argv[1]);\n"
        "(async () => { const out = [];\n"
        "  for (const [url, msg, binary] of cases) {\n"
        "    out.push(await new Promise((res) => {\n"
        "      const ws = new WebSocket(url); let echo = null;\n"
        "      ws.on('open', () => ws.send(binary ? Buffer.from(msg) : msg));\n"
        "      ws.on('message', (d) => { echo = d.toString(); ws.close(1000); });\n"
        "      ws.on('close', (code) => res([code, echo]));\n"
        "      ws.on('error', () => {});\n"
        "    }));\n"
        "  }\n"
        "  console.log(JSON.stringify(out)); })();\n")
    ok = '{"type":"join","room":1}'
    cases = [[gw.url + "/chat", ok, False], [gw.url + "/chat", '{"type":"say","text":"<script>"}', False],
             [gw.url + "/chat", "bin", True], [gw.url + "/chat", '{"type":"say","text":"' + "x" * 600 + '"}', False]]
    root = os.path.join(procs.ROOT, "tests", "node")
    r = subprocess.run(["node", "-e", script, json.dumps(cases)], cwd=root, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [[1000, ok], [1008, None], [1003, None], [1009, None]]


def test_frames_before_a_refused_one_reach_the_backend_before_the_close(gw):
    """Two good messages and a bad one in one TCP write: the good ones are relayed, then the close."""
    marks = [marker(), marker()]

    async def main():
        reader, writer = await wire.upgrade(gw.port, "/chat")
        good = [wire.frame(0x1, json.dumps({"type": "say", "text": m}).encode()) for m in marks]
        writer.write(b"".join(good) + wire.frame(0x1, b'{"type":"say","text":"<script>"}'))
        await writer.drain()
        code, reason, _ = await wire.read_close(reader)
        writer.close()
        return code, reason
    assert run(main()) == (1008, "message refused: signature")
    deadline = time.monotonic() + STEP_S
    while not all(backend_saw(gw, m) for m in marks) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(backend_saw(gw, m) for m in marks)


def test_a_fragmented_message_is_refused_as_soon_as_it_is_too_big(gw):
    """The first fragments fit; the one that crosses max_bytes is answered 1009 at once."""

    async def main():
        reader, writer = await wire.upgrade(gw.port, "/chat")
        writer.write(wire.frame(0x1, b'{"type":"say","text":"' + b"x" * 300, fin=False))
        writer.write(wire.frame(0x0, b"x" * 300, fin=False))  # 322 + 300 > 512: refused here
        await writer.drain()
        code, _, before = await wire.read_close(reader)
        writer.close()
        return code, before
    assert run(main()) == (1009, [])


def test_fragmented_binary_is_assembled_unmasked_and_arrives_whole(gw):
    """The chain does not read binary, so the parser leaves it masked; assembly must unmask it."""
    parts = [os.urandom(100), os.urandom(1), os.urandom(120)]

    async def main():
        async with connect(gw.url + "/chat", subprotocols=["raw.v1"]) as ws:
            await ws.send(iter(parts))
            return await asyncio.wait_for(ws.recv(), STEP_S)
    assert run(main()) == b"".join(parts)
    assert backend_saw(gw, b"".join(parts).hex())


def _two_half_messages(limits, timeouts=None):
    """Clients a and b (one address) each start a 40 000-byte fragmented message; a then finishes.

    Returns (b's close code and reason, the length a's message came back with, the audit details).
    """
    port = procs.free_port()
    rec = procs.Proc([procs.PY, "-m", "tests.gateway.recorder", str(port)], port)
    routes = [{"path": "/", "backend": {"url": "ws://127.0.0.1:%d/" % port}, "messages": "open"}]
    with rec, procs.gateway(port, routes=routes, extra={"message_policies": {"open": {}}},
                            limits=limits, timeouts=timeouts) as g:
        async def main():
            a_r, a_w = await wire.upgrade(g.port)
            b_r, b_w = await wire.upgrade(g.port)
            a_w.write(wire.frame(0x2, b"a" * 40000, fin=False))
            await a_w.drain()
            await asyncio.sleep(0.3)
            b_w.write(wire.frame(0x2, b"b" * 40000, fin=False))
            await b_w.drain()
            b_code, b_reason, _ = await wire.read_close(b_r)
            a_w.write(wire.frame(0x0, b"a" * 10, fin=True))
            await a_w.drain()
            op, echoed = await wire.read_message(a_r)
            for w in (a_w, b_w):
                w.close()
            return b_code, b_reason, len(echoed)
        got = run(main())
        details = [r["detail"] for r in g.records() if r.get("event") == "audit" and r.get("rule") == "capacity"]
    return got, details


def test_fragmented_messages_share_one_bounded_assembly_pool():
    """Two clients each half-way through a message bigger than half the pool: the second hears 1013."""
    got, details = _two_half_messages({"max_message_bytes": 65536, "assembly_pool_bytes": 65536})
    assert got == (1013, "try again later", 40010)
    assert details == ["the assembly pool is full"]


def test_one_address_gets_an_eighth_of_the_assembly_pool():
    """A pool of 8 largest messages with room left: one address still holds at most one of them."""
    got, details = _two_half_messages({"max_message_bytes": 65536, "assembly_pool_bytes": 8 * 65536})
    assert got == (1013, "try again later", 40010)
    assert details == ["this client's share of the assembly pool is full"]


def test_a_fragmented_message_that_does_not_finish_in_time_is_closed_1008():
    port = procs.free_port()
    rec = procs.Proc([procs.PY, "-m", "tests.gateway.recorder", str(port)], port)
    routes = [{"path": "/", "backend": {"url": "ws://127.0.0.1:%d/" % port}, "messages": "open"}]
    with rec, procs.gateway(port, routes=routes, extra={"message_policies": {"open": {}}},
                            timeouts={"message_ms": 300}) as g:
        async def main():
            r, w = await wire.upgrade(g.port)
            w.write(wire.frame(0x1, b"slow", fin=False))
            await w.drain()
            t0 = time.monotonic()
            for _ in range(3):  # pings keep the session from idling, not the message from expiring
                await asyncio.sleep(0.1)
                w.write(wire.frame(0x9, b"p"))
            code, reason, _ = await wire.read_close(r)
            w.close()
            return code, reason, time.monotonic() - t0
        code, reason, took = run(main())
    assert (code, reason) == (1008, "message too slow")
    assert took < 2.0
