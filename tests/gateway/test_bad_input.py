"""Bad input gets the exact close code or HTTP status, and a good connection beside it is untouched.

The gateway routes only ``/app`` (so ``/`` has no route) to edgegate's echo
backend. Malformed clients are raw asyncio sockets writing exact bytes; the
well-behaved connection is a websockets client that keeps echoing before,
during and after each bad input (``Steady``), and closes cleanly with 1000.
"""

import asyncio
import os

import pytest

from tests import procs

from . import wire
from .steady import Steady, run
from .wire import MAX_FRAME, MAX_MESSAGE, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT



@pytest.fixture(scope="module")
def gw():
    with procs.echo() as backend:
        routes = [{"path": "/app", "backend": {"url": "ws://127.0.0.1:%d" % backend.port}}]
        with procs.gateway(backend.port, routes=routes) as g:
            g.url = "ws://127.0.0.1:%d/app" % g.port
            yield g


def close_case(gw, frames, code, reason, echoed=()):
    """Upgrade a raw client, check it echoes, write ``frames``; expect close ``code`` then EOF.

    ``echoed``: the (opcode, payload) messages that must come back before the close.
    """
    async def main():
        async with Steady(gw.url) as steady:
            reader, writer = await wire.upgrade(gw.port, "/app")
            writer.write(wire.frame(OP_TEXT, b"fine so far"))
            assert await wire.read_frame(reader) == (True, OP_TEXT, b"fine so far")
            await steady.advance()
            writer.write(frames)
            (got_code, got_reason, before), _ = await asyncio.gather(wire.read_close(reader),
                                                                     steady.advance())
            assert (got_code, got_reason) == (code, reason)
            assert before == list(echoed)
            # The gateway then drops the connection: nothing more arrives.
            assert await wire.read_eof(reader) == b""
            writer.close()
            await writer.wait_closed()
            await steady.advance()
    run(main())


def status_case(gw, request, status):
    """Write ``request`` raw; expect exactly ``status`` with its headers, then EOF."""
    async def main():
        async with Steady(gw.url) as steady:
            reader, writer = await wire.connect(gw.port)
            await steady.advance()
            writer.write(request)
            (got, headers, body), _ = await asyncio.gather(wire.read_response(reader), steady.advance())
            rest = await wire.read_eof(reader)
            writer.close()
            await writer.wait_closed()
            await steady.advance()
            return got, headers, body, rest
    got, headers, body, rest = run(main())
    assert got == status, (got, headers, body)
    assert "close" in [t.strip().lower() for t in headers["connection"].split(",")]
    assert rest == b""
    return headers, body


# ---- frames after the upgrade (RFC 6455 5, 7.4.1) ----------------------------

def test_server_closes_1009_on_oversized_frame(gw):
    # Only the header is sent: the length alone decides, before any payload is read.
    close_case(gw, wire.frame(OP_BINARY, length=MAX_FRAME + 1), 1009, "message too big")


def test_server_closes_1009_on_frame_header_claiming_a_64_bit_length(gw):
    close_case(gw, wire.frame(OP_BINARY, length=1 << 40), 1009, "message too big")


def test_server_accepts_frame_of_exactly_max_frame_bytes(gw):
    async def main():
        async with Steady(gw.url) as steady:
            reader, writer = await wire.upgrade(gw.port, "/app")
            payload = os.urandom(MAX_FRAME)
            writer.write(wire.frame(OP_BINARY, payload))
            assert await wire.read_frame(reader) == (True, OP_BINARY, payload)
            writer.write(wire.frame(OP_CLOSE, wire.close_payload(1000)))
            assert (await wire.read_close(reader))[:2] == (1000, "")
            writer.close()
            await writer.wait_closed()
            await steady.advance()
    run(main())


def test_server_closes_1007_on_invalid_utf8_text(gw):
    close_case(gw, wire.frame(OP_TEXT, b"ok \xff\xfe"), 1007, "invalid utf-8")


def test_server_closes_1007_on_invalid_utf8_in_a_later_fragment(gw):
    # Frames are relayed as they arrive: the valid first fragment already came back.
    frames = wire.frame(OP_TEXT, b"valid start ", fin=False) + wire.frame(OP_CONT, b"\xc0\xaf")
    close_case(gw, frames, 1007, "invalid utf-8", echoed=[(OP_TEXT, b"valid start ")])


def test_server_closes_1007_on_text_ending_inside_a_character(gw):
    close_case(gw, wire.frame(OP_TEXT, b"cut \xe2\x9c"), 1007, "invalid utf-8")


def test_server_closes_1002_on_unmasked_client_frame(gw):
    close_case(gw, wire.frame(OP_TEXT, b"no mask", mask=False), 1002, "protocol error")


@pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
def test_server_closes_1002_on_reserved_opcode(gw, opcode):
    close_case(gw, wire.frame(opcode, b"x"), 1002, "protocol error")


@pytest.mark.parametrize("frames,echoed", [
    pytest.param(wire.frame(OP_TEXT, b"x", rsv=4), [], id="rsv1-without-extension"),
    pytest.param(wire.frame(OP_TEXT, b"x", rsv=1), [], id="rsv3"),
    pytest.param(wire.frame(OP_PING, b"x", fin=False), [], id="fragmented-ping"),
    pytest.param(wire.frame(OP_PING, b"p" * 126), [], id="ping-over-125-bytes"),
    pytest.param(wire.frame(OP_CONT, b"x"), [], id="continuation-without-a-message"),
    pytest.param(wire.frame(OP_TEXT, b"a", fin=False) + wire.frame(OP_TEXT, b"b"), [(OP_TEXT, b"a")],
                 id="new-message-inside-a-fragmented-one"),
    pytest.param(wire.frame(OP_CLOSE, b"\x03"), [], id="close-with-1-byte-payload"),
    pytest.param(wire.frame(OP_CLOSE, wire.close_payload(1005)), [], id="close-code-1005-on-the-wire"),
    pytest.param(wire.frame(OP_CLOSE, wire.close_payload(999)), [], id="close-code-999"),
])
def test_server_closes_1002_on_protocol_violation(gw, frames, echoed):
    close_case(gw, frames, 1002, "protocol error", echoed)


def test_server_relays_what_came_before_a_bad_frame_then_closes(gw):
    frames = wire.frame(OP_TEXT, b"one") + wire.frame(OP_BINARY, b"two") + wire.frame(OP_TEXT, b"\xff")
    close_case(gw, frames, 1007, "invalid utf-8", echoed=[(OP_TEXT, b"one"), (OP_BINARY, b"two")])


# ---- the upgrade request (RFC 6455 4.2.1, RFC 9110) ---------------------------

def test_server_answers_431_to_a_20_kb_header(gw):
    req = wire.request("/app", extra=[("X-Big", "a" * 20 * 1024)])
    status_case(gw, req, 431)


def test_server_answers_431_to_too_many_headers(gw):
    req = wire.request("/app", extra=[("X-H%d" % i, "v") for i in range(100)])
    status_case(gw, req, 431)


def test_server_answers_426_to_a_request_without_upgrade(gw):
    headers, body = status_case(gw, wire.request("/app", upgrade=False), 426)
    # RFC 9110 7.8: a sender of Upgrade also sends the "upgrade" connection option.
    assert headers["connection"] == "close, Upgrade"
    assert headers["upgrade"] == "websocket"
    assert headers["sec-websocket-version"] == "13"
    assert body == b"426 Upgrade Required\n"


def test_server_answers_426_to_a_wrong_websocket_version(gw):
    req = wire.request("/app").replace(b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8")
    headers, _ = status_case(gw, req, 426)
    assert headers["sec-websocket-version"] == "13"


@pytest.mark.parametrize("method", ["POST", "PUT", "HEAD", "DELETE"])
def test_server_answers_405_to_a_non_get_request(gw, method):
    headers, _ = status_case(gw, wire.request("/app", method=method), 405)
    assert headers["allow"] == "GET"


def test_server_answers_404_when_no_route_matches(gw):
    headers, body = status_case(gw, wire.request("/"), 404)
    assert body == b"404 Not Found\n"


def test_server_answers_404_to_a_path_that_only_shares_a_prefix(gw):
    status_case(gw, wire.request("/application"), 404)


def test_server_answers_400_to_a_malformed_key(gw):
    status_case(gw, wire.request("/app", key="not-a-key"), 400)


def test_server_answers_414_to_an_overlong_request_line(gw):
    status_case(gw, wire.request("/app?" + "q" * 5000), 414)


def test_server_closes_1007_on_invalid_utf8_in_a_close_reason(gw):
    close_case(gw, wire.frame(OP_CLOSE, wire.close_payload(1000) + b"\xff"), 1007, "invalid utf-8")


def test_server_closes_1009_on_fragmented_message_over_max_message_bytes(gw):
    # 16 frames of max_frame_bytes make exactly max_message_bytes (relayed and echoed);
    # one more byte is refused at the header of the 17th frame.
    parts = [os.urandom(MAX_FRAME) for _ in range(MAX_MESSAGE // MAX_FRAME)]
    frames = wire.frame(OP_BINARY, parts[0], fin=False)
    frames += b"".join(wire.frame(OP_CONT, p, fin=False) for p in parts[1:])
    frames += wire.frame(OP_CONT, b"x")
    echoed = [(OP_BINARY, parts[0])] + [(OP_CONT, p) for p in parts[1:]]
    close_case(gw, frames, 1009, "message too big", echoed)
