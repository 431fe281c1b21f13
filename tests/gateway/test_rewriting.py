"""Redaction and enrichment through the running gateway, in both directions, with real clients.

A backend written on the ``websockets`` library records what reaches it and
answers each message with a reply of its own that carries a card number, an
e-mail address and a bearer token. The gateway runs as a process with a route
whose client->backend pipeline redacts and enriches, and whose
backend->client pipeline redacts: the backend must never see the client's
secrets and must see the gateway's stamp (not a forged one); the client must
never see the backend's. Both a ``websockets`` client and Node's ``ws`` drive it.
"""

import asyncio
import json
import os
import shutil
import subprocess

import pytest
import websockets

from tests import procs

NODE_DIR = os.path.join(procs.ROOT, "tests", "node")
CARD = "4111 1111 1111 1111"  # passes Luhn
NOT_A_CARD = "4111 1111 1111 1112"  # fails Luhn: left alone
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

BACKEND = (
    "import asyncio, json, sys, websockets\n"
    "log = open(sys.argv[1], 'a')\n"
    "async def serve(ws):\n"
    "    async for m in ws:\n"
    "        log.write(m + '\\n'); log.flush()\n"
    "        await ws.send(json.dumps({'echo': json.loads(m), 'card': '" + CARD + "',"
    " 'note': 'write to ops@corp.example', 'auth': 'Bearer abc.def.ghi'}))\n"
    "async def main():\n"
    "    async with websockets.serve(serve, '127.0.0.1', int(sys.argv[2]), compression=None):\n"
    "        await asyncio.Future()\n"
    "asyncio.run(main())\n"
)

POLICIES = {
    "in": {"steps": [
        {"step": "type", "types": ["text"]},
        {"step": "size", "max_bytes": 8192},
        {"step": "json", "max_depth": 8},
        {"step": "redact", "paths": ["$.password"], "patterns": ["card", "email", "jwt", "bearer"]},
        {"step": "enrich", "member": "_edgegate", "fields": ["principal", "route", "box", "ts"]},
    ]},
    "out": {"steps": [
        {"step": "redact", "patterns": ["card", "email", "bearer"]},
    ]},
}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    log = str(tmp_path_factory.mktemp("rewrite") / "backend.log")
    port = procs.free_port()
    be = procs.Proc([procs.PY, "-c", BACKEND, log, str(port)], port)
    routes = [{"path": "/pay", "backend": {"url": "ws://127.0.0.1:%d/" % port},
               "messages": "in", "messages_to_client": "out"}]
    gw = procs.gateway(port, routes=routes, extra={"message_policies": POLICIES})
    with be, gw:
        gw.url = "ws://127.0.0.1:%d/pay" % gw.port
        gw.backend_log = log
        yield gw


def seen_by_backend(rig):
    with open(rig.backend_log) as f:
        return [json.loads(line) for line in f if line.strip()]


def messages(tag):
    return [
        json.dumps({"client": tag, "text": "pay with " + CARD + " please", "password": "hunter2"}),
        json.dumps({"client": tag, "text": "not a card: " + NOT_A_CARD, "_edgegate": {"principal": "admin"}}),
        json.dumps({"client": tag, "text": "token " + TOKEN + " and mail me at jo@home.example"}),
    ]


def check(rig, got, sent_tag):
    backend = [m for m in seen_by_backend(rig) if m.get("client") == sent_tag]
    assert len(backend) == 3, backend
    flat = json.dumps(backend)
    assert CARD not in flat and "hunter2" not in flat and TOKEN not in flat and "jo@home.example" not in flat
    assert NOT_A_CARD in flat  # a digit run that fails Luhn is left alone
    for m in backend:
        stamp = m["_edgegate"]
        assert stamp["route"] == "/pay" and stamp["principal"] != "admin"  # the forged member is overwritten
        assert stamp["ts"].endswith("Z")
    assert backend[0]["password"] != "hunter2"
    replies = [json.loads(r) for r in got]
    assert len(replies) == 3
    flat = json.dumps(replies)
    assert CARD not in flat and "ops@corp.example" not in flat and "abc.def.ghi" not in flat
    # and what the client got back echoes what the backend saw: redacted, stamped
    assert "_edgegate" in replies[0]["echo"]


def test_websockets_client_messages_are_redacted_and_stamped_both_ways(rig):
    async def main():
        async with websockets.connect(rig.url, compression=None) as ws:
            got = []
            for m in messages("ws"):
                await ws.send(m)
                got.append(await asyncio.wait_for(ws.recv(), 5))
            return got
    got = asyncio.run(main())
    check(rig, got, "ws")


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(NODE_DIR, "node_modules")),
                    reason="node or tests/node/node_modules missing")
def test_node_ws_client_messages_are_redacted_and_stamped_both_ways(rig):
    sends = messages("node")
    r = subprocess.run(["node", os.path.join(NODE_DIR, "rewrite_client.mjs"), rig.url, json.dumps(sends)],
                       capture_output=True, text=True, timeout=30)
    out = json.loads(r.stdout)
    assert "fatal" not in out, out
    assert out["close"] == 1000
    check(rig, out["got"], "node")
