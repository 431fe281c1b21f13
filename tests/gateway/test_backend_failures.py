"""A backend that is down, silent, refusing or dying: the client gets 502, 504 or close 1014.

Answers before the upgrade are plain HTTP (nothing from the backend's answer is
passed on); a backend lost mid-session costs only its own sessions, and the
gateway keeps serving everyone else.
"""

import asyncio
import http
import signal
import time

import pytest
import websockets

from tests import procs

from . import wire
from .steady import Steady, run
from .wire import MAX_FRAME, STEP_S, wait_until

CONNECT_MS = 500


async def expect_status(port, path="/"):
    """A raw client's upgrade; return (status, headers, body, seconds until the answer)."""
    reader, writer = await wire.connect(port)
    t0 = time.monotonic()
    writer.write(wire.request(path))
    status, headers, body = await wire.read_response(reader)
    took = time.monotonic() - t0
    assert await wire.read_eof(reader) == b""
    writer.close()
    await writer.wait_closed()
    return status, headers, body, took


def test_client_gets_502_when_nothing_listens_on_the_backend_port():
    with procs.gateway(procs.free_port(), timeouts={"backend_connect_ms": CONNECT_MS}) as gw:
        status, headers, body, took = run(expect_status(gw.port))
        assert status == 502
        assert body == b"502 Bad Gateway\n"
        assert took < CONNECT_MS / 1000  # refused at once, not after the deadline

        async def with_websockets():
            with pytest.raises(websockets.InvalidStatus) as e:
                await websockets.connect("ws://127.0.0.1:%d/" % gw.port, open_timeout=STEP_S)
            assert e.value.response.status_code == 502
        run(with_websockets())
        assert [r["status"] for r in gw.records() if r.get("event") == "reject"] == [502, 502]


def test_client_gets_504_within_backend_connect_ms_when_the_backend_never_answers():
    async def main():
        requests = []
        held = []

        async def silent(reader, writer):
            held.append(writer)  # accept TCP, read the request, never answer
            requests.append(await reader.readuntil(b"\r\n\r\n"))

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with procs.echo() as echo:
            routes = [{"path": "/", "backend": {"url": "ws://127.0.0.1:%d" % port}},
                      {"path": "/ok", "backend": {"url": "ws://127.0.0.1:%d" % echo.port}}]
            with procs.gateway(port, routes=routes, timeouts={"backend_connect_ms": CONNECT_MS}) as gw:
                async with Steady("ws://127.0.0.1:%d/ok" % gw.port) as steady:
                    (status, headers, body, took), _ = await asyncio.gather(
                        expect_status(gw.port, "/"), steady.advance())
                    await steady.advance()
        assert status == 504
        assert body == b"504 Gateway Timeout\n"
        assert CONNECT_MS / 1000 - 0.05 <= took <= CONNECT_MS / 1000 + 1.0, took
        # The gateway did send its upgrade request to the backend, then gave up.
        assert len(requests) == 1
        assert requests[0].startswith(b"GET / HTTP/1.1\r\n")
        assert b"\r\nUpgrade: websocket\r\n" in requests[0]
        server.close()
        for w in held:
            w.close()
    run(main())


def test_client_gets_502_when_the_backend_answers_403():
    async def main():
        seen = []

        def refuse(connection, request):
            seen.append(request.path)
            return connection.respond(http.HTTPStatus.FORBIDDEN, "backend secret: do not leak\n")

        async with websockets.serve(lambda ws: None, "127.0.0.1", 0, process_request=refuse) as server:
            port = server.sockets[0].getsockname()[1]
            with procs.gateway(port, timeouts={"backend_connect_ms": CONNECT_MS}) as gw:
                status, headers, body, took = await expect_status(gw.port, "/room?x=1")
                assert status == 502
                assert body == b"502 Bad Gateway\n"  # nothing of the backend's answer is passed on
                assert seen == ["/room?x=1"]
                await wait_until(lambda: [r for r in gw.records() if r.get("event") == "reject"])
                rec = [r for r in gw.records() if r.get("event") == "reject"][0]
                assert (rec["status"], rec["why"]) == (502, "backend answered 403")
    run(main())


def test_client_gets_1014_when_the_backend_dies_mid_session_and_the_gateway_keeps_serving():
    with procs.echo() as a, procs.echo() as b:
        routes = [{"path": "/a", "backend": {"url": "ws://127.0.0.1:%d" % a.port}},
                  {"path": "/b", "backend": {"url": "ws://127.0.0.1:%d" % b.port}}]
        with procs.gateway(a.port, routes=routes, timeouts={"backend_connect_ms": CONNECT_MS}) as gw:
            base = "ws://127.0.0.1:%d" % gw.port

            async def main():
                async with Steady(base + "/b") as steady:
                    doomed = await websockets.connect(base + "/a", open_timeout=STEP_S)
                    await doomed.send("alive")
                    assert await asyncio.wait_for(doomed.recv(), STEP_S) == "alive"
                    await steady.advance()
                    a.stop(signal.SIGKILL)  # the backend of /a dies; no close frame
                    with pytest.raises(websockets.ConnectionClosedError):
                        await asyncio.wait_for(doomed.recv(), STEP_S)
                    assert doomed.protocol.close_rcvd is not None
                    assert (doomed.close_code, doomed.close_reason) == (1014, "bad gateway")
                    await steady.advance()
                    # New clients: /b works, /a is refused before the upgrade.
                    async with websockets.connect(base + "/b", open_timeout=STEP_S) as fresh:
                        await fresh.send(b"\x00new")
                        assert await asyncio.wait_for(fresh.recv(), STEP_S) == b"\x00new"
                    status, _, _, _ = await expect_status(gw.port, "/a")
                    assert status == 502
                    await steady.advance()
                    # The backend comes back on its port: /a works again.
                    with procs.echo(port=a.port):
                        async with websockets.connect(base + "/a", open_timeout=STEP_S) as again:
                            await again.send("back")
                            assert await asyncio.wait_for(again.recv(), STEP_S) == "back"
                    await steady.advance()
            run(main())
            assert gw.p.poll() is None
            failed = [r for r in gw.records() if r.get("event") == "peer_failed"]
            assert [(r["side"], r["code"]) for r in failed] == [("backend", 1006)]


@pytest.mark.parametrize("bad,backend_hears", [
    pytest.param(lambda ws: ws.send(b"\x00" * (MAX_FRAME + 1)), (1009, "message too big"),
                 id="frame-over-max_frame_bytes"),
    pytest.param(lambda ws: ws.send(b"ok \xff\xfe", text=True), (1007, "invalid utf-8"), id="invalid-utf8"),
])
def test_client_gets_1014_when_the_backend_breaks_the_protocol(bad, backend_hears):
    async def main():
        seen = []

        async def handler(ws):
            await ws.send("fine first")
            await bad(ws)
            await ws.wait_closed()
            seen.append((ws.close_code, ws.close_reason))

        async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            with procs.gateway(port) as gw:
                async with websockets.connect("ws://127.0.0.1:%d/" % gw.port, open_timeout=STEP_S) as ws:
                    assert await asyncio.wait_for(ws.recv(), STEP_S) == "fine first"
                    with pytest.raises(websockets.ConnectionClosedError):
                        await asyncio.wait_for(ws.recv(), STEP_S)
                    assert ws.protocol.close_rcvd is not None
                    assert (ws.close_code, ws.close_reason) == (1014, "bad gateway")
                await wait_until(lambda: seen, what="the backend closed")
                assert seen == [backend_hears]
                failed = [(r["side"], r["code"]) for r in gw.records() if r.get("event") == "peer_failed"]
                assert failed == [("backend", backend_hears[0])]
    run(main())


def _tamper_protocol(response):
    response.headers["Sec-WebSocket-Protocol"] = "never-offered"


def _tamper_extension(response):
    response.headers["Sec-WebSocket-Extensions"] = "permessage-deflate"


def _tamper_accept(response):
    del response.headers["Sec-WebSocket-Accept"]
    response.headers["Sec-WebSocket-Accept"] = "dGhlIHNhbXBsZSBub25jZQ=="


@pytest.mark.parametrize("tamper,why", [
    pytest.param(_tamper_protocol, "sub-protocol not offered", id="sub-protocol-never-offered"),
    pytest.param(_tamper_extension, "extension negotiated without an offer", id="extension-never-offered"),
    pytest.param(_tamper_accept, "wrong Sec-WebSocket-Accept", id="wrong-accept"),
])
def test_client_gets_502_when_the_backend_answers_a_101_it_could_not_accept(tamper, why):
    async def main():
        def process_response(connection, request, response):
            tamper(response)

        async with websockets.serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0,
                                    process_response=process_response) as server:
            port = server.sockets[0].getsockname()[1]
            with procs.gateway(port) as gw:
                status, headers, body, took = await expect_status(gw.port)
                assert (status, body) == (502, b"502 Bad Gateway\n")
                assert "sec-websocket-protocol" not in headers
                rec = [r for r in gw.records() if r.get("event") == "reject"]
                assert [(r["status"], r["why"]) for r in rec] == [(502, why)]
    run(main())


def test_backend_sees_the_path_query_and_forwarded_for_of_the_client():
    async def main():
        seen = []

        def look(connection, request):
            seen.append((request.path, request.headers.get("X-Forwarded-For"),
                         request.headers.get("X-Forwarded-Proto"), request.headers.get("Origin"),
                         request.headers.get_all("Sec-WebSocket-Protocol")))

        async with websockets.serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, process_request=look,
                                    subprotocols=["b", "a"]) as server:
            port = server.sockets[0].getsockname()[1]
            # A browser's Origin must be on the route's allow-list (refused otherwise).
            routes = [{"path": "/", "origins": ["http://app.example"],
                       "backend": {"url": "ws://127.0.0.1:%d" % port}}]
            with procs.gateway(port, routes=routes) as gw:
                url = "ws://127.0.0.1:%d/room/7?user=x&y=%%20" % gw.port
                async with websockets.connect(url, origin="http://app.example", subprotocols=["a", "b"],
                                              open_timeout=STEP_S) as ws:
                    assert ws.subprotocol == "b"  # the backend's choice, passed on
        assert seen == [("/room/7?user=x&y=%20", "127.0.0.1", "ws", "http://app.example", ["a, b"])]
    run(main())


def test_client_close_is_answered_within_close_ms_when_the_backend_never_answers_it():
    """RFC 6455 5.5.1: an endpoint that receives a close frame MUST send one in response.

    The gateway forwards the client's close and waits for the backend's answer;
    when none comes within close_ms, it answers the client itself (its own code).
    """
    async def main():
        from edgegate.ws.handshake import accept_key

        held = []

        async def deaf(reader, writer):  # completes the upgrade, then never reads a frame
            held.append(writer)
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            key = [v.strip() for k, _, v in (h.partition(":") for h in head.split("\r\n"))
                   if k.lower() == "sec-websocket-key"][0]
            writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n\r\n" % accept_key(key)).encode())

        server = await asyncio.start_server(deaf, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with procs.gateway(port, timeouts={"close_ms": 500}) as gw:
            ws = await websockets.connect("ws://127.0.0.1:%d/" % gw.port, open_timeout=STEP_S,
                                          close_timeout=STEP_S)
            t0 = time.monotonic()
            await ws.close(4001, "client leaving")
            took = time.monotonic() - t0
            assert ws.protocol.close_rcvd is not None, "the close was never answered"
            assert ws.close_code == 4001
            assert 0.5 - 0.05 <= took <= 0.5 + 0.2 + 1.0, took
        server.close()
        for w in held:
            w.close()
    run(main())
