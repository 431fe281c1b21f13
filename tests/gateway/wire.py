"""Raw WebSocket bytes over plain asyncio sockets: hand-built requests and frames, and what comes back.

The malformed clients in these tests write exact bytes with these helpers and
read the gateway's status line or close frame themselves, so nothing between
the test and the gateway fixes or hides a byte.
"""

import asyncio
import base64
import json
import os
import struct
import time

from tests import procs

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

STEP_S = 5.0  # deadline for any single read; a test never waits longer for one answer

with open(os.path.join(procs.ROOT, "boards", "sim.json")) as _f:
    SIM_LIMITS = json.load(_f)["limits"]  # what procs.gateway() runs with (board "sim")
MAX_FRAME = SIM_LIMITS["max_frame_bytes"]
MAX_MESSAGE = SIM_LIMITS["max_message_bytes"]


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def request(path="/", method="GET", upgrade=True, extra=(), key=None, host="127.0.0.1"):
    """An HTTP/1.1 request head; with ``upgrade`` it is a valid WebSocket upgrade."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: Upgrade",
                  "Sec-WebSocket-Key: %s" % (key or new_key()), "Sec-WebSocket-Version: 13"]
    lines += ["%s: %s" % kv for kv in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One frame as a client writes it (masked unless told not to).

    ``length`` overrides the length field (then only the header and mask key
    are built: the payload is what the caller writes after, if anything).
    """
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return head + (payload if length is None else b"")
    key = os.urandom(4)
    if length is not None:
        return head + key
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


def close_payload(code, reason=""):
    return struct.pack("!H", code) + reason.encode()


async def connect(port, host="127.0.0.1"):
    return await asyncio.wait_for(asyncio.open_connection(host, port), STEP_S)


async def read_head(reader):
    """Read an HTTP response head; return (status, {lower-case name: value}).

    A repeated header's values are joined with ", " (RFC 9110 5.3).
    """
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), STEP_S)
    lines = raw.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    assert version == "HTTP/1.1", lines[0]
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            k, v = k.strip().lower(), v.strip()
            headers[k] = headers[k] + ", " + v if k in headers else v
    return int(status), headers


async def read_response(reader):
    """Status, headers and body of an error answer (the body is Content-Length long)."""
    status, headers = await read_head(reader)
    n = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(n), STEP_S) if n else b""
    return status, headers, body


async def upgrade(port, path="/", extra=()):
    """Open a raw WebSocket connection through the handshake; return (reader, writer)."""
    reader, writer = await connect(port)
    writer.write(request(path, extra=extra))
    status, headers = await read_head(reader)
    assert status == 101, (status, headers)
    return reader, writer


async def read_frame(reader):
    """The next frame the server sent: (fin, opcode, payload). Server frames are unmasked."""
    b0, b1 = await asyncio.wait_for(reader.readexactly(2), STEP_S)
    assert b1 & 0x80 == 0, "server frames must not be masked"
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), STEP_S))
    elif n == 127:
        (n,) = struct.unpack("!Q", await asyncio.wait_for(reader.readexactly(8), STEP_S))
    payload = await asyncio.wait_for(reader.readexactly(n), STEP_S) if n else b""
    return bool(b0 & 0x80), b0 & 0x0F, payload


async def read_message(reader):
    """The next whole data message, however it was fragmented: (opcode, payload)."""
    fin, op, payload = await read_frame(reader)
    assert op in (OP_TEXT, OP_BINARY), (op, payload)
    while not fin:
        fin, cont, more = await read_frame(reader)
        assert cont == OP_CONT, (cont, more)
        payload += more
    return op, payload


async def read_close(reader):
    """Read frames up to the close; return (code, reason, [(opcode, payload) before it])."""
    before = []
    while True:
        fin, op, payload = await read_frame(reader)
        if op == OP_CLOSE:
            if not payload:
                return 1005, "", before
            return struct.unpack("!H", payload[:2])[0], payload[2:].decode(), before
        before.append((op, payload))


async def read_eof(reader):
    """Read until the server closes its side; return the bytes that came before."""
    return await asyncio.wait_for(reader.read(), STEP_S)


async def wait_until(cond, timeout=STEP_S, what="condition"):
    """Poll ``cond()`` every 10 ms until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("%s not met within %.1fs" % (what, timeout))
        await asyncio.sleep(0.01)
