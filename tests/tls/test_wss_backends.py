"""wss:// backends: the gateway verifies the backend's certificate (CA and pinned name) before relaying.

The backend is a websockets-library server over stdlib ssl with the dev
server certificate (names localhost, 127.0.0.1, ::1). Routes: ``/ok`` is
verified against ca.pem as localhost and echoes; ``/wrong-name`` pins
"wrong.example"; ``/other-ca`` trusts another CA. The last two answer the
client HTTP 502 before any upgrade, whatever the listener (plaintext, or TLS
with either engine).
"""

import asyncio
import socket

import pytest

from tests import procs
from tests.gateway import wire

from . import tlsutil

LISTENERS = ["plaintext"] + tlsutil.BACKENDS


def wss_echo(certs):
    """An echo server on the websockets library, over TLS with server.pem.

    It echoes frame by frame (as procs.websockets_echo(fragments=True)), so a
    message bigger than the gateway's max_frame_bytes comes back through it.
    """
    port = procs.free_port()
    code = (
        "import asyncio, ssl, websockets\n"
        "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "ctx.load_cert_chain(%r, %r)\n"
        "async def echo(ws):\n"
        "    try:\n"
        "        while True:\n"
        "            await ws.send(ws.recv_streaming())\n"
        "    except websockets.ConnectionClosed:\n"
        "        pass\n"
        "async def main():\n"
        "    async with websockets.serve(echo, '127.0.0.1', %d, ssl=ctx, max_size=None, compression=None):\n"
        "        print('ready', flush=True)\n"
        "        await asyncio.Future()\n"
        "asyncio.run(main())\n" % (certs["server.pem"], certs["server.key"], port)
    )
    p = procs.Proc([procs.PY, "-c", code])
    _wait_ready(p)
    p.port = port
    return p


def _wait_ready(p, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while "ready" not in p.output():
        assert p.p.poll() is None, p.output()
        assert time.monotonic() < deadline, p.output()
        time.sleep(0.02)


@pytest.fixture(scope="module")
def backend(certs):
    with wss_echo(certs) as b:
        yield b


def _routes(certs, port):
    url = "wss://127.0.0.1:%d" % port
    return [
        {"path": "/ok", "backend": {"url": url, "tls": {"ca": certs["ca.pem"], "server_name": "localhost"}}},
        {"path": "/wrong-name", "backend": {"url": url, "tls": {"ca": certs["ca.pem"],
                                                                 "server_name": "wrong.example"}}},
        {"path": "/other-ca", "backend": {"url": url, "tls": {"ca": certs["other-ca.pem"],
                                                               "server_name": "localhost"}}},
    ]


@pytest.fixture(scope="module", params=LISTENERS)
def gw(request, certs, backend):
    port = procs.free_port()
    if request.param == "plaintext":
        ln = {"host": "127.0.0.1", "port": port, "plaintext": True}
    else:
        ln = tlsutil.tls_listener(port, certs, request.param)
    with procs.gateway_listen([ln], _routes(certs, backend.port)) as g:
        g.kind = request.param
        yield g
        assert "session_error" not in g.output()


def _url(gw, path):
    scheme = "ws" if gw.kind == "plaintext" else "wss"
    return "%s://localhost:%d%s" % (scheme, gw.port, path)


def test_a_wss_backend_verified_against_the_ca_echoes_text_binary_and_a_fragmented_mebibyte(gw, certs):
    import websockets

    async def main():
        ctx = None if gw.kind == "plaintext" else tlsutil.client_ctx(certs["ca.pem"])
        async with websockets.connect(_url(gw, "/ok"), ssl=ctx, max_size=None, compression=None,
                                      open_timeout=5) as ws:
            await ws.send("through a wss backend ✓")
            assert await asyncio.wait_for(ws.recv(), 5) == "through a wss backend ✓"
            await ws.send(b"\x00\xff" * 1000)
            assert await asyncio.wait_for(ws.recv(), 5) == b"\x00\xff" * 1000
            big = bytes((i * 13 + 1) & 0xFF for i in range(1 << 20))
            await ws.send([big[at:at + wire.MAX_FRAME] for at in range(0, len(big), wire.MAX_FRAME)])
            assert await asyncio.wait_for(ws.recv(), 15) == big
            await ws.close(4001, "done")
        assert ws.close_code == 4001

    asyncio.run(main())
    opened = [r for r in gw.records() if r.get("event") == "session_open"]
    assert opened and opened[-1]["backend"].startswith("wss://"), opened


def _status(gw, certs, path):
    """The status line the gateway answers an upgrade to ``path`` with, and what follows it."""
    req = wire.request(path, host="localhost")
    if gw.kind == "plaintext":
        s = socket.create_connection(("127.0.0.1", gw.port), 5)
    else:
        s = tlsutil.tls_connect(gw.port, tlsutil.client_ctx(certs["ca.pem"]))
    with s:
        s.sendall(req)
        head = tlsutil.recv_until(s, b"\r\n\r\n")
    return head


@pytest.mark.parametrize("path", ["/wrong-name", "/other-ca"])
def test_a_wss_backend_failing_verification_gives_the_client_502_before_any_upgrade(gw, certs, path):
    head = _status(gw, certs, path)
    assert head.startswith(b"HTTP/1.1 502 "), head[:80]
    assert b"101" not in head.split(b"\r\n")[0]
    rejects = [r for r in gw.records() if r.get("event") == "reject" and r.get("status") == 502]
    assert rejects, gw.output()[-2000:]
    print("%s %s: %s" % (gw.kind, path, rejects[-1].get("why")))
    assert gw.p.poll() is None
