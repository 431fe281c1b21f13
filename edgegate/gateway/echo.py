"""The demo echo backend: a WebSocket server on the ws core that sends every message back.

Used by the simulator and as a stand-in service behind the gateway. It answers
the first offered sub-protocol, echoes every data frame as it came (a message
keeps its fragmentation, so what a gateway's max_frame_bytes let through comes
back through it), and mirrors the close code.
"""

from edgegate.rt import aio, net
from edgegate.ws.buffer import RxBuffer
from edgegate.ws.connection import Connection
from edgegate.ws.errors import HandshakeError
from edgegate.ws.events import CloseReceived, Fragment
from edgegate.ws.handshake import parse_upgrade, response_101, response_error


class EchoServer:
    def __init__(self, max_message_bytes=1 << 20):
        self.max_message_bytes = max_message_bytes
        self.rx_bytes = max_message_bytes + 64
        self.connections = 0
        self.messages = 0
        self.server = None

    async def start(self, host, port):
        self.server = await net.serve(host, port, self._handle, lambda: RxBuffer(self.rx_bytes))
        return self.server.sockets[0].getsockname()[:2]

    async def _handle(self, stream):
        rx = stream.rx  # dedicated: this server does not pool
        try:
            req = None
            while req is None:
                try:
                    req = parse_upgrade(rx, 8192, 100, 4096)
                except HandshakeError as e:
                    stream.write(response_error(e.status, e.headers))
                    return
                if req is None and await stream.fill() == 0:
                    return
            proto = req.protocols[0] if req.protocols else None
            stream.write(response_101(req.key, proto))
            req = None
            self.connections += 1
            conn = Connection(False, self.rx_bytes, self.max_message_bytes, self.max_message_bytes,
                              assemble=False, rx=rx)
            while True:
                conn.receive_buffered()
                for ev in conn.events():
                    t = type(ev)
                    if t is Fragment and conn.can_send:
                        conn.send_frame(ev.opcode, bytes(ev.payload), ev.fin)
                        if ev.fin:
                            self.messages += 1
                    elif t is CloseReceived and conn.can_send:
                        conn.send_close(ev.code, ev.reason)
                for out in conn.data_to_send():
                    if out:
                        stream.write(out)
                    else:
                        stream.write_eof()
                        return
                if stream.write_buffer_size > 1 << 20:
                    await stream.drain()
                if await stream.fill() == 0:
                    conn.receive_eof()
                    return
        finally:
            stream.close()

    def close(self):
        if self.server is not None:
            self.server.close()


async def serve_echo(host, port, max_message_bytes=1 << 20, ready=None):
    """Run an echo server until cancelled; ``ready(addr)`` is called once listening."""
    srv = EchoServer(max_message_bytes)
    addr = await srv.start(host, port)
    if ready is not None:
        ready(addr)
    try:
        await aio.Event().wait()
    finally:
        srv.close()
