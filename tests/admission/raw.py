"""One hand-written upgrade over a plain socket: the exact request target and header bytes, nothing fixed.

Client libraries normalise or refuse what these tests must send as is
(``/chat/..\\admin``, ``%2e%2e``, an Origin with NUL). ``upgrade`` writes the
head itself, reads the status, and on a 101 sends one masked text frame and
returns the backend's answer.
"""

import base64
import json
import os
import socket
import struct

STEP_S = 10.0


def _read_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(b), n))
        b += chunk
    return b


def upgrade(port, target, headers=(), send="?request"):
    """(status, the backend's answer to ``send`` parsed as JSON, or None when not 101)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % target, "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    lines += ["%s: %s" % kv for kv in headers]
    with socket.create_connection(("127.0.0.1", port), timeout=STEP_S) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the status line: %r" % head)
            head += chunk
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            return status, None
        rest = head[head.index(b"\r\n\r\n") + 4:]
        payload = send.encode()
        mask = os.urandom(4)
        s.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask
                  + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        buf = rest + _read_exact(s, max(0, 2 - len(rest)))
        n = buf[1] & 0x7F
        body_at = 2
        if n == 126:
            buf += _read_exact(s, max(0, 4 - len(buf)))
            n = struct.unpack("!H", buf[2:4])[0]
            body_at = 4
        buf += _read_exact(s, max(0, body_at + n - len(buf)))
        return status, json.loads(buf[body_at:body_at + n].decode())
