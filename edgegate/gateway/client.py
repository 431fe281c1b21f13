"""A small asyncio WebSocket client on the ws core: the simulator's clients and test peers.

``await connect(url)`` returns a ``Client`` with ``send_text``/``send_binary``/
``ping``/``recv``/``close``. Messages are assembled (``max_message_bytes``).
"""

from edgegate import rt
from edgegate.config.model import parse_ws_url
from edgegate.rt import net
from edgegate.ws.buffer import RxBuffer
from edgegate.ws.connection import Connection
from edgegate.ws.errors import HandshakeError
from edgegate.ws.events import BinaryMessage, CloseReceived, ConnectionFailed, Pong, TextMessage
from edgegate.ws.handshake import client_request, new_key, parse_response

from .backend import host_header


class Client:
    def __init__(self, stream, conn, protocol):
        self.stream = stream
        self.conn = conn
        self.protocol = protocol
        self.close_code = 0
        self._queue = []

    def _flush(self):
        for out in self.conn.data_to_send():
            if out:
                self.stream.write(out)
            else:
                self.stream.write_eof()

    def send_text(self, text):
        self.conn.send_text(text)
        self._flush()

    def send_binary(self, data):
        self.conn.send_binary(data)
        self._flush()

    def send_frame(self, opcode, payload, fin):
        self.conn.send_frame(opcode, payload, fin)
        self._flush()

    def ping(self, payload=b""):
        self.conn.send_ping(payload)
        self._flush()

    async def recv(self):
        """The next message (str or bytes), Pong payload as ("pong", bytes), or None once closed."""
        while not self._queue:
            if self.close_code:
                return None
            self.conn.receive_buffered()
            for ev in self.conn.events():
                t = type(ev)
                if t is TextMessage or t is BinaryMessage:
                    self._queue.append(ev.data)
                elif t is Pong:
                    self._queue.append(("pong", ev.payload))
                elif t is CloseReceived:
                    self.close_code = ev.code
                    if self.conn.can_send:
                        self.conn.send_close(ev.code)
                elif t is ConnectionFailed:
                    self.close_code = ev.code
            self._flush()
            if self._queue:
                break
            if self.close_code:
                return None
            if await self.stream.fill() == 0:
                self.conn.receive_eof()
        return self._queue.pop(0)

    async def close(self, code=1000, reason=""):
        """Run the closing handshake; return the code the server answered."""
        if self.conn.can_send:
            self.conn.send_close(code, reason)
            self._flush()
        while await self.recv() is not None:
            pass
        self.stream.close()
        return self.close_code


async def connect(url, protocols=(), headers=(), rx_bytes=1 << 20 | 64, max_message_bytes=1 << 20):
    """Open a ws:// URL; raises HandshakeError (status 502, upstream_status set) on refusal."""
    host, port, path = parse_ws_url(url)
    rx = RxBuffer(rx_bytes)
    stream = await net.connect(host, port, lambda: rx)
    key = new_key(rt.rand_bytes)
    stream.write(client_request(host_header(host, port), path, key, protocols, headers))
    try:
        while True:
            res = parse_response(rx, key, protocols, 16384, 100)
            if res is not None:
                break
            if await stream.fill() == 0:
                raise HandshakeError("server closed during the handshake", 502)
    except BaseException:
        stream.close()
        raise
    conn = Connection(True, rx_bytes, rx_bytes - 64, max_message_bytes, rand_bytes=rt.rand_bytes, rx=rx)
    return Client(stream, conn, res[0])
