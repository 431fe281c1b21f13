"""TCP streams that read straight into a session's receive buffer.

``serve(host, port, handler, rx_factory)`` and ``connect(host, port, rx)`` give
``Stream`` objects: ``await fill()`` waits until bytes were committed into
``stream.rx`` (0 at EOF), ``write``/``write_view`` queue bytes, ``drain`` waits
below the low watermark, ``write_eof``/``close``/``abort`` end it.

On CPython the socket data lands in the buffer with no copy: an
``asyncio.BufferedProtocol`` hands ``rx.tail()`` to ``recv_into`` and pauses
reading when the buffer is full. On MicroPython the stream's ``readinto`` does
the same. This module and ``aio`` are the only runtime-specific I/O code.
"""

import sys

from . import IS_MICROPYTHON
from .aio import asyncio

if IS_MICROPYTHON:  # pragma: no cover - MicroPython

    class Stream:
        def __init__(self, reader, writer, rx):
            self._r = reader
            self._w = writer
            self.rx = rx
            self.eof = False
            try:
                self.peer = writer.get_extra_info("peername")
            except Exception:
                self.peer = ("?", 0)

        async def fill(self):
            t = self.rx.tail()
            n = await self._r.readinto(t)
            if not n:
                self.eof = True
                return 0
            self.rx.commit(n)
            return n

        def write(self, data):
            self._w.write(data)

        write_view = write

        @property
        def write_buffer_size(self):
            return 0

        async def drain(self):
            await self._w.drain()

        def write_eof(self):
            pass

        def close(self):
            self._w.close()

        abort = close

        @property
        def closed(self):
            return self.eof

    async def serve(host, port, handler, rx_factory, backlog=128):
        async def on_conn(reader, writer):
            await handler(Stream(reader, writer, rx_factory()))

        return await asyncio.start_server(on_conn, host, port, backlog)

    async def connect(host, port, rx):
        reader, writer = await asyncio.open_connection(host, port)
        return Stream(reader, writer, rx)

else:  # pragma: no cover - CPython (exercised by every gateway test)
    import socket

    # CPython < 3.12 copies unsent bytes into the transport's own bytearray;
    # 3.12+ and uvloop may keep a reference to the object written, so a view of
    # a receive buffer that will be reused must be copied first.
    _VIEWS_ARE_COPIED = sys.version_info < (3, 12)

    class Stream(asyncio.BufferedProtocol):
        """A TCP connection whose received bytes land in ``rx`` without a copy."""

        def __init__(self, rx, high_water=65536):
            self.rx = rx
            self.transport = None
            self.peer = ("?", 0)
            self.eof = False
            self.closed = False
            self.pending = 0
            self._waiter = None
            self._drain_waiter = None
            self._read_paused = False
            self._write_paused = False
            self._high = high_water
            self._copy_views = not _VIEWS_ARE_COPIED

        # -- protocol callbacks (the event loop calls these) --
        def connection_made(self, transport):
            self.transport = transport
            self.peer = transport.get_extra_info("peername") or ("?", 0)
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
            transport.set_write_buffer_limits(high=self._high, low=self._high // 2)
            if type(transport).__module__.startswith("uvloop"):
                self._copy_views = True

        def get_buffer(self, sizehint):
            return self.rx.tail()

        def buffer_updated(self, nbytes):
            rx = self.rx
            rx.commit(nbytes)
            self.pending += nbytes
            if rx.end - rx.start == rx.size:
                self.transport.pause_reading()
                self._read_paused = True
            self._wake()

        def eof_received(self):
            self.eof = True
            self._wake()
            return True

        def connection_lost(self, exc):
            self.eof = True
            self.closed = True
            self._wake()
            self._wake_drain()

        def pause_writing(self):
            self._write_paused = True

        def resume_writing(self):
            self._write_paused = False
            self._wake_drain()

        def _wake(self):
            w = self._waiter
            if w is not None:
                self._waiter = None
                if not w.done():
                    w.set_result(None)

        def _wake_drain(self):
            w = self._drain_waiter
            if w is not None:
                self._drain_waiter = None
                if not w.done():
                    w.set_result(None)

        # -- the stream API the gateway uses --
        async def fill(self):
            """Wait for bytes in ``rx``; return how many arrived since the last call (0: EOF)."""
            if self._read_paused and self.rx.size - (self.rx.end - self.rx.start) > 0:
                self._read_paused = False
                if not self.closed:
                    self.transport.resume_reading()
            if self.pending == 0 and not self.eof:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
            n = self.pending
            self.pending = 0
            return n

        def write(self, data):
            if not self.closed:
                self.transport.write(data)

        def write_view(self, view):
            """Write a view of a buffer that will be reused (copied where the loop keeps it)."""
            if not self.closed:
                self.transport.write(bytes(view) if self._copy_views else view)

        @property
        def write_buffer_size(self):
            t = self.transport
            return 0 if t is None or self.closed else t.get_write_buffer_size()

        async def drain(self):
            """Wait until the peer has taken enough of what was written."""
            if self._write_paused and not self.closed:
                self._drain_waiter = asyncio.get_running_loop().create_future()
                await self._drain_waiter

        def write_eof(self):
            t = self.transport
            if t is not None and not self.closed and t.can_write_eof():
                try:
                    t.write_eof()
                except OSError:
                    pass

        def close(self):
            if self.transport is not None:
                self.transport.close()

        def abort(self):
            if self.transport is not None:
                self.transport.abort()

    class Server:
        def __init__(self, server):
            self._server = server
            self.sockets = server.sockets

        def close(self):
            self._server.close()

        async def wait_closed(self):
            await self._server.wait_closed()

    async def serve(host, port, handler, rx_factory, backlog=128, high_water=65536):
        """Listen on host:port; run ``handler(stream)`` as a task per connection."""
        loop = asyncio.get_running_loop()

        def factory():
            s = Stream(rx_factory(), high_water)
            orig = s.connection_made

            def made(transport):
                orig(transport)
                s.task = loop.create_task(handler(s))

            s.connection_made = made
            return s

        server = await loop.create_server(factory, host, port, backlog=backlog, reuse_address=True)
        return Server(server)

    async def connect(host, port, rx, high_water=65536):
        """Open a TCP connection whose received bytes land in rx."""
        loop = asyncio.get_running_loop()
        s = Stream(rx, high_water)
        await loop.create_connection(lambda: s, host, port)
        return s
