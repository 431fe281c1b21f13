"""The websockets library as a client, through a real gateway process, to two real backends.

Every test runs once behind edgegate's own echo backend and once behind an echo
written on the websockets library (which echoes frame by frame and selects the
sub-protocol "chat.v1"). Sizes are the sim board's: one frame of exactly
max_frame_bytes, one fragmented message of exactly max_message_bytes.
"""

import asyncio
import os

import pytest
import websockets

from tests import procs

from . import wire
from .steady import run
from .wire import MAX_FRAME, MAX_MESSAGE, STEP_S, wait_until



@pytest.fixture(scope="module", params=["edgegate-echo", "websockets-echo"])
def relay(request):
    if request.param == "edgegate-echo":
        backend = procs.echo()
    else:
        backend = procs.websockets_echo(subprotocols=["chat.v1"], fragments=True)
    with backend, procs.gateway(backend.port) as gw:
        gw.url = "ws://127.0.0.1:%d/" % gw.port
        yield gw


def connect(url, **kw):
    return websockets.connect(url, max_size=None, compression=None, open_timeout=STEP_S,
                              ping_interval=None, **kw)


async def echo(ws, message):
    await ws.send(message)
    return await asyncio.wait_for(ws.recv(), STEP_S)


def test_client_text_message_comes_back_byte_exact(relay):
    async def main():
        async with connect(relay.url) as ws:
            for text in ["hello", "héllo wörld ✓ 🚀", "\x00 nul and \u2028 separators", "a" * 125,
                         "b" * 126, "c" * 65535]:
                got = await echo(ws, text)
                assert type(got) is str
                assert got == text
    run(main())


def test_client_binary_message_comes_back_byte_exact(relay):
    async def main():
        async with connect(relay.url) as ws:
            for data in [bytes(range(256)), b"\xff\xfe\x00\x80" * 300, os.urandom(126), os.urandom(65535)]:
                got = await echo(ws, data)
                assert type(got) is bytes
                assert got == data
    run(main())


def test_client_fragmented_text_comes_back_whole(relay):
    async def main():
        async with connect(relay.url) as ws:
            assert await echo(ws, ["frag", "mént", "ed ✓"]) == "fragménted ✓"
    run(main())


def test_client_text_with_a_character_split_across_fragments_comes_back_whole(relay):
    async def main():
        async with connect(relay.url) as ws:
            # UTF-8 is judged across the fragments, not frame by frame.
            await ws.send([b"a\xe2", b"\x9c", b"\x93b"], text=True)
            assert await asyncio.wait_for(ws.recv(), STEP_S) == "a✓b"
    run(main())


def test_client_fragmented_binary_comes_back_whole(relay):
    async def main():
        async with connect(relay.url) as ws:
            parts = [os.urandom(100), b"", os.urandom(1), os.urandom(5000)]
            assert await echo(ws, parts) == b"".join(parts)
    run(main())


def test_client_empty_messages_come_back_empty(relay):
    async def main():
        async with connect(relay.url) as ws:
            assert await echo(ws, "") == ""
            assert await echo(ws, b"") == b""
            assert await echo(ws, [b"", b""]) == b""
            assert await echo(ws, ["", ""]) == ""
    run(main())


def test_client_message_of_max_frame_bytes_in_one_frame_comes_back(relay):
    async def main():
        async with connect(relay.url) as ws:
            data = os.urandom(MAX_FRAME)
            assert await echo(ws, data) == data
            text = ("0123456789abcdef" * (MAX_FRAME // 16))
            assert len(text.encode()) == MAX_FRAME
            assert await echo(ws, text) == text
    run(main())


def test_client_message_of_max_message_bytes_in_fragments_comes_back(relay):
    async def main():
        async with connect(relay.url) as ws:
            data = os.urandom(MAX_MESSAGE)
            parts = [data[i:i + MAX_FRAME] for i in range(0, MAX_MESSAGE, MAX_FRAME)]
            assert len(parts) == MAX_MESSAGE // MAX_FRAME
            got = await echo(ws, parts)
            assert len(got) == MAX_MESSAGE
            assert got == data
            # The connection is still good afterwards.
            assert await echo(ws, "after") == "after"
    run(main())


def test_client_ping_gets_pong_with_same_payload(relay):
    async def main():
        async with connect(relay.url) as ws:
            for payload in [b"edge-ping", os.urandom(125), b""]:
                waiter = await ws.ping(payload)
                # websockets resolves the waiter only for a pong carrying this payload.
                await asyncio.wait_for(waiter, STEP_S)
    run(main())


def test_client_ping_between_fragments_is_answered_and_message_comes_back_whole(relay):
    async def main():
        async with connect(relay.url) as ws:
            pongs = []

            async def parts():
                yield b"first "
                pongs.append(await ws.ping(b"mid-message"))
                yield b"second"

            await ws.send(parts())
            assert await asyncio.wait_for(ws.recv(), STEP_S) == b"first second"
            await asyncio.wait_for(pongs[0], STEP_S)
    run(main())


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_client_close_code_and_reason_are_echoed_end_to_end(relay, code):
    async def main():
        ws = await connect(relay.url)
        port = ws.local_address[1]
        assert await echo(ws, "before close %d" % code) == "before close %d" % code
        await asyncio.wait_for(ws.close(code, "bye %d" % code), STEP_S)
        # The backend echoed this very code (the gateway substitutes the client's
        # code with an empty reason when a backend answers another one).
        assert ws.protocol.close_rcvd is not None
        assert (ws.close_code, ws.close_reason) == (code, "bye %d" % code)
        return port

    port = run(main())

    def ended():
        return [r for r in relay.records() if r.get("event") == "session_end"
                and r.get("peer") == "127.0.0.1:%d" % port]

    run(wait_until(lambda: ended(), what="session_end logged"))
    assert ended()[0]["client_close"] == code


def test_client_sees_the_sub_protocol_the_backend_selected(relay):
    async def main():
        async with connect(relay.url, subprotocols=["chat.v1", "other"]) as ws:
            assert ws.subprotocol == "chat.v1"
            assert ws.response.headers["Sec-WebSocket-Protocol"] == "chat.v1"
            assert await echo(ws, "proto") == "proto"
    run(main())


def test_client_offering_no_sub_protocol_gets_none(relay):
    async def main():
        async with connect(relay.url) as ws:
            assert ws.subprotocol is None
            assert "Sec-WebSocket-Protocol" not in ws.response.headers
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
    run(main())


def test_client_offering_compression_gets_no_extension(relay):
    async def main():
        async with websockets.connect(relay.url, open_timeout=STEP_S) as ws:  # offers permessage-deflate
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            assert await echo(ws, "plain " * 100) == "plain " * 100
    run(main())


def test_client_frames_sent_right_behind_the_request_are_relayed(relay):
    """RFC 6455 4.1 says a client MUST wait for the 101 before sending data, but some do not:
    the gateway keeps the bytes after the request head and relays them, none lost."""
    async def main():
        reader, writer = await wire.connect(relay.port)
        writer.write(wire.request("/") + wire.frame(wire.OP_TEXT, b"pipelined")
                     + wire.frame(wire.OP_BINARY, b"\x00\x01", fin=False) + wire.frame(wire.OP_CONT, b"\x02"))
        status, headers = await wire.read_head(reader)
        assert status == 101
        assert await wire.read_message(reader) == (wire.OP_TEXT, b"pipelined")
        assert await wire.read_message(reader) == (wire.OP_BINARY, b"\x00\x01\x02")
        writer.write(wire.frame(wire.OP_CLOSE, wire.close_payload(1000)))
        assert (await wire.read_close(reader))[:2] == (1000, "")
        writer.close()
        await writer.wait_closed()
    run(main())


# ---- a backend that takes the initiative (websockets server in the test's loop) ----

async def scripted(script, test):
    """Run ``test(url, seen)`` against a gateway whose backend runs ``script(ws, seen)``."""
    seen = {}

    async def handler(ws):
        await script(ws, seen)

    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        with procs.gateway(port) as gw:
            await test("ws://127.0.0.1:%d/" % gw.port, seen)


def test_backend_close_code_and_reason_reach_the_client_and_its_answer_goes_back():
    async def script(ws, seen):
        assert await ws.recv() == "close me"
        await ws.close(4000, "backend bye")
        seen["close"] = (ws.close_code, ws.close_reason)

    async def test(url, seen):
        async with connect(url) as ws:
            await ws.send("close me")
            with pytest.raises(websockets.ConnectionClosedError):  # 4000 is not "OK" to websockets
                await asyncio.wait_for(ws.recv(), STEP_S)
            assert ws.protocol.close_rcvd is not None
            assert (ws.close_code, ws.close_reason) == (4000, "backend bye")
        await wait_until(lambda: "close" in seen, what="the backend's close answered")
        assert seen["close"] == (4000, "backend bye")  # the client's echo of it, relayed back
    run(scripted(script, test))


def test_backend_ping_is_answered_by_the_gateway_and_not_relayed_to_the_client():
    async def script(ws, seen):
        # websockets resolves this only for a pong carrying the same payload.
        await asyncio.wait_for(await ws.ping(b"from backend"), STEP_S)
        seen["pong"] = True
        await ws.send("after ping")
        await ws.wait_closed()

    async def test(url, seen):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        reader, writer = await wire.upgrade(port)
        # Control frames are hop by hop: the first frame the client sees is the text.
        assert await wire.read_message(reader) == (wire.OP_TEXT, b"after ping")
        assert seen["pong"] is True
        writer.write(wire.frame(wire.OP_CLOSE, wire.close_payload(1000)))
        assert (await wire.read_close(reader))[:2] == (1000, "")
        writer.close()
        await writer.wait_closed()
    run(scripted(script, test))
