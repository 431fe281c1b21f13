"""TCP streams that read straight into a session's receive buffer.

``serve(host, port, handler, rings)`` and ``connect(host, port, rings)`` give
``Stream`` objects (``rings``: a ``Lender`` or ``RingPool`` whose buffers are lent
while data is in flight, or a callable making a dedicated buffer): ``await fill()`` waits until bytes were committed into
``stream.rx`` (0 at EOF), ``write``/``write_view`` queue bytes, ``drain`` waits
below the low watermark, ``write_eof``/``close``/``abort`` end it.

On CPython the socket data lands in the buffer with no copy: an
``asyncio.BufferedProtocol`` hands ``rx.tail()`` to ``recv_into`` and pauses
reading when the buffer is full. On MicroPython the stream's ``readinto`` does
the same. This module and ``aio`` are the only runtime-specific I/O code.
"""

import sys

from . import IS_MICROPYTHON, ticks_ms
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

        def write_view(self, view):
            self._w.write(bytes(view))

        def release_rx(self):
            pass

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

    def _make(rings):
        # MicroPython's streams read with readinto: a buffer is held for life.
        if hasattr(rings, "pool"):
            rings = rings.pool
        if hasattr(rings, "take"):
            return rings.take
        return rings

    class Lender:
        def __init__(self, pool):
            self.pool = pool

    async def serve(host, port, handler, rings, backlog=128, high_water=65536, admit=None):
        make = _make(rings)

        async def on_conn(reader, writer):
            s = Stream(reader, writer, make())
            if admit is None or admit(s):
                await handler(s)

        return await asyncio.start_server(on_conn, host, port, backlog)

    async def connect(host, port, rings, high_water=65536):
        reader, writer = await asyncio.open_connection(host, port)
        return Stream(reader, writer, _make(rings)())

else:  # pragma: no cover - CPython (exercised by every gateway test)
    import socket

    # CPython < 3.12 copies unsent bytes into the transport's own bytearray;
    # 3.12+ and uvloop may keep a reference to the object written, so a view of
    # a receive buffer that will be reused must be copied first.
    _VIEWS_ARE_COPIED = sys.version_info < (3, 12)

    def resolve(waiter):
        """Wake whoever awaits ``waiter`` (a future, or None when nobody waits)."""
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    class Lender:
        """Lends a RingPool's buffers to streams, within shares, and stops readers that are over them.

        A stream without a buffer is "idle"; it takes one when bytes arrive
        (``lend``) and gives it back once they are parsed (``give_back``). Three
        bounds decide whether an idle stream may read:

        - the pool: when no ring is left, every idle stream stops reading;
        - ``per_ip``: one client address holds at most this many rings at once;
          its idle streams stop reading while it holds them all;
        - ``heads``: streams that have not finished their upgrade (not yet
          ``establish``ed) hold at most this many rings together, so unfinished
          request heads can never take the rings that established sessions need.

        Streams opened by the gateway itself (``addr`` None: backends) are bound
        by the pool only. ``since`` (ticks ms) says how long each held ring has
        been held: the gateway's reaper reclaims rings that trickling peers keep
        (see ``holders``). A bound's stop costs O(streams it stops), paid only
        when the bound is reached and when it is released.
        """

        def __init__(self, pool, per_ip=0, heads=0):
            self.pool = pool
            self.per_ip = per_ip or pool.max_rings
            self.heads = heads or pool.max_rings
            self.idle = {}  # addr -> set of idle streams
            self.idle_heads = set()  # idle streams not yet established
            self.held = {}  # addr -> rings its streams hold (keys leave at zero)
            self.holders = set()  # client streams holding a ring
            self.heads_held = 0
            self.starved = False  # the pool is empty
            self.full = set()  # addresses at their share
            self.heads_full = False
            self.overflow = 0

        # -- a stream's life --
        def joined(self, stream):
            self._idle_add(stream)
            if self._blocked(stream):
                stream._starve()

        def left(self, stream):
            self._idle_discard(stream)

        def establish(self, stream):
            """``stream`` finished its upgrade: its ring (if any) no longer counts as a head's."""
            if stream.established:
                return
            stream.established = True
            if stream.rx is not None and stream.rx.owner is not None:
                self.heads_held -= 1
                self._heads_released()
            self.idle_heads.discard(stream)
            if stream.rx is None and not self._blocked(stream):
                stream._feed()

        # -- rings --
        def lend(self, stream):
            # A stream with a buffer is never stopped for want of one.
            stream._feed()
            rx = self.pool.take()
            if rx is None:
                # A loop may hand out bytes of a read it polled before the stream was
                # stopped: they get a buffer of their own, counted as overflow and
                # reclaimed like a ring.
                self.overflow += 1
                from edgegate.ws.buffer import RxBuffer

                rx = RxBuffer(self.pool.ring_bytes)  # owner None: counted as overflow
                self._idle_discard(stream)
                if stream.addr is not None:
                    stream.since = ticks_ms()
                    self.holders.add(stream)
                return rx
            self._idle_discard(stream)
            addr = stream.addr
            if addr is not None:
                stream.since = ticks_ms()
                self.holders.add(stream)
                n = self.held[addr] = self.held.get(addr, 0) + 1
                if n >= self.per_ip and addr not in self.full:
                    self.full.add(addr)
                    for s in self.idle.get(addr, ()):
                        s._starve()
                if not stream.established:
                    self.heads_held += 1
                    if self.heads_held >= self.heads and not self.heads_full:
                        self.heads_full = True
                        for s in self.idle_heads:
                            s._starve()
            if self.pool.available == 0 and not self.starved:
                self.starved = True
                for group in self.idle.values():
                    for s in group:
                        s._starve()
            return rx

        def give_back(self, stream, rx):
            """Take back ``stream``'s ring; whoever was stopped only for want of it reads again.

            Every ending of a stream (parsed, closed, reset, aborted) comes here,
            so a closed stream wakes the others as an open one does.
            """
            if rx.owner is None:
                self.overflow -= 1
                self.holders.discard(stream)
            else:
                rx.owner.give(rx)  # the pool it came from, even if a commit replaced it since
                addr = stream.addr
                if addr is not None and stream in self.holders:
                    self.holders.discard(stream)
                    n = self.held.get(addr, 0) - 1
                    if n > 0:
                        self.held[addr] = n
                    else:
                        self.held.pop(addr, None)
                    if not stream.established:
                        self.heads_held -= 1
                    if addr in self.full and n < self.per_ip:
                        self.full.discard(addr)
                        self._feed(self.idle.get(addr, ()))
                    if self.heads_full and self.heads_held < self.heads:
                        self._heads_released()
            if not stream.closed:
                self._idle_add(stream)
                if self._blocked(stream):
                    stream._starve()
            if self.starved and self.pool.available > 0:
                self.starved = False
                for group in list(self.idle.values()):
                    self._feed(group)

        def set_pool(self, pool):
            """Lend from ``pool`` from now on (a commit changed the ring size or count)."""
            self.pool = pool
            if self.starved and pool.available > 0:
                self.starved = False
                for group in list(self.idle.values()):
                    self._feed(group)

        def set_shares(self, per_ip, heads):
            """New bounds (a commit); they apply as rings are next lent and returned."""
            self.per_ip = per_ip or self.pool.max_rings
            self.heads = heads or self.pool.max_rings

        def held_by(self, addr):
            return self.held.get(addr, 0)

        # -- internals --
        def _blocked(self, stream):
            if self.pool.available == 0:
                return True
            addr = stream.addr
            if addr is None:
                return False
            return addr in self.full or (not stream.established and self.heads_held >= self.heads)

        def _heads_released(self):
            if self.heads_full and self.heads_held < self.heads:
                self.heads_full = False
                self._feed(self.idle_heads)

        def _feed(self, streams):
            for s in list(streams):
                if not self._blocked(s):
                    s._feed()

        def _idle_add(self, stream):
            group = self.idle.get(stream.addr)
            if group is None:
                group = self.idle[stream.addr] = set()
            group.add(stream)
            if not stream.established:
                self.idle_heads.add(stream)

        def _idle_discard(self, stream):
            group = self.idle.get(stream.addr)
            if group is not None:
                group.discard(stream)
                if not group:
                    del self.idle[stream.addr]
            self.idle_heads.discard(stream)

    class Stream(asyncio.BufferedProtocol):
        """A TCP connection whose received bytes land in ``rx`` without a copy.

        ``rx`` is a dedicated RxBuffer, or (with a ``Lender``) one borrowed from
        a pool when bytes arrive and handed back by ``release_rx`` once empty.
        """

        __slots__ = ("rx", "transport", "peer", "eof", "closed", "pending", "_waiter", "_drain_waiter",
                     "_read_paused", "_starved", "_write_paused", "_high", "_copy_views", "_lender",
                     "_on_made", "task", "peer_cert", "secure", "addr", "established", "since")

        def __init__(self, rx=None, high_water=65536, lender=None, on_made=None):
            self.rx = rx
            self.transport = None
            self.peer = ("?", 0)
            self.eof = False
            self.closed = False
            self.pending = 0
            self._waiter = None
            self._drain_waiter = None
            self._read_paused = False
            self._starved = False
            self._write_paused = False
            self._high = high_water
            self._copy_views = not _VIEWS_ARE_COPIED
            self._lender = lender
            self._on_made = on_made
            self.task = None
            self.peer_cert = None  # the TLS peer's certificate (DER), once verified
            self.secure = False  # carried over TLS
            self.addr = None  # the client's address (served streams); None: a stream the gateway opened
            self.established = True  # False from accept until the upgrade is done (served streams)
            self.since = 0  # ticks when the ring it holds was lent

        # -- protocol callbacks (the event loop calls these) --
        def connection_made(self, transport):
            self.transport = transport
            self.peer = transport.get_extra_info("peername") or ("?", 0)
            if self._on_made is not None:  # accepted by a listener, not opened by us
                self.addr = self.peer[0]
                self.established = False
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:  # the stdlib ssl backend: handshake already done
                self.secure = True
                self.peer_cert = ssl_object.getpeercert(binary_form=True)
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
            transport.set_write_buffer_limits(high=self._high, low=self._high // 2)
            if type(transport).__module__.startswith("uvloop"):
                self._copy_views = True
            if self._lender is not None and self.rx is None:
                self._lender.joined(self)
            if self._on_made is not None:
                self._on_made(self)
                self._on_made = None

        def get_buffer(self, sizehint):
            rx = self.rx
            if rx is None:
                rx = self.rx = self._lender.lend(self)
            return rx.tail()

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
            # Keep a TCP transport open for our side to finish (half-close). An
            # asyncio SSL transport cannot, and logs a plain-text warning into
            # the JSON log on every True.
            t = self.transport
            return t is None or t.get_extra_info("ssl_object") is None

        def connection_lost(self, exc):
            self.eof = True
            self.closed = True
            if self._lender is not None:
                self._drop_rx()
                self._lender.left(self)
            self._wake()
            self._wake_drain()

        def pause_writing(self):
            self._write_paused = True

        def resume_writing(self):
            self._write_paused = False
            self._wake_drain()

        def _starve(self):
            if not self._starved and not self.closed:
                self._starved = True
                self.transport.pause_reading()

        def _feed(self):
            if self._starved:
                self._starved = False
                if not self.closed and not self._read_paused:
                    self.transport.resume_reading()

        def _wake(self):
            w, self._waiter = self._waiter, None
            resolve(w)

        def _wake_drain(self):
            w, self._drain_waiter = self._drain_waiter, None
            resolve(w)

        # -- the stream API the gateway uses --
        async def fill(self):
            """Wait for bytes in ``rx``; return how many arrived since the last call (0: EOF)."""
            rx = self.rx
            if self._read_paused and (rx is None or rx.size - (rx.end - rx.start) > 0):
                self._read_paused = False
                if not self.closed and not self._starved:
                    self.transport.resume_reading()
            while self.pending == 0 and not self.eof:  # a wake without bytes is not EOF
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
            n = self.pending
            self.pending = 0
            return n

        def release_rx(self):
            """Give a borrowed, fully parsed buffer back to the pool (no-op otherwise)."""
            rx = self.rx
            if self._lender is not None and rx is not None and rx.start == rx.end and not self._read_paused:
                self.rx = None
                self._lender.give_back(self, rx)

        def _drop_rx(self):
            # A closing stream gives its buffer back whatever is left in it,
            # and what it had not yet reported is gone with it.
            rx = self.rx
            if self._lender is not None and rx is not None:
                self.rx = None
                self.pending = 0
                self._lender.give_back(self, rx)

        def establish(self):
            """The upgrade is done: from now on this stream reads as an established session."""
            if self._lender is not None:
                self._lender.establish(self)
            else:
                self.established = True

        def _writable(self):
            # Nothing is written once the transport is closing: it would be lost, and
            # the stdlib ssl transport, closed twice, has no protocol left to take it.
            return not self.closed and not self.transport.is_closing()

        def write(self, data):
            if self._writable():
                self.transport.write(data)

        def write_view(self, view):
            """Write a view of a buffer that will be reused (copied where the loop keeps it)."""
            if self._writable():
                self.transport.write(bytes(view) if self._copy_views else view)

        @property
        def write_buffer_size(self):
            t = self.transport
            return t.get_write_buffer_size() if t is not None and self._writable() else 0

        async def drain(self):
            """Wait until the peer has taken enough of what was written."""
            if self._write_paused and not self.closed:
                w = self._drain_waiter  # both pumps may wait on one stream: they share the wait
                if w is None or w.done():
                    w = self._drain_waiter = asyncio.get_running_loop().create_future()
                await w

        def write_eof(self):
            """Half-close; where the transport cannot (TLS via stdlib ssl), close after flushing."""
            t = self.transport
            if t is None or not self._writable():
                return
            if not t.can_write_eof():
                t.close()
                return
            try:
                t.write_eof()
            except OSError:
                pass

        def close(self):
            t = self.transport
            if t is not None and not t.is_closing():
                t.close()
            self._drop_rx()

        def abort(self):
            if self.transport is not None:
                self.transport.abort()
            self._drop_rx()

    class Server:
        def __init__(self, server):
            self._server = server
            self.sockets = server.sockets

        def close(self):
            self._server.close()

        async def wait_closed(self):
            await self._server.wait_closed()

    def _source(rings):
        """(dedicated rx factory, lender) for ``rings``: a Lender, a RingPool, or a buffer factory."""
        if isinstance(rings, Lender):
            return None, rings
        if hasattr(rings, "take"):
            return None, Lender(rings)
        return rings, None

    async def serve(host, port, handler, rings, backlog=128, high_water=65536, stream_class=Stream,
                    stream_args=(), ssl=None, ssl_handshake_timeout=None, admit=None):
        """Listen on host:port; run ``handler(stream)`` as a task per connection.

        ``admit(stream)``, when given, is asked first, as the connection is
        accepted and before anything is read from it: on False the stream has
        been refused (``admit`` answered and closed it) and no task runs.

        ``rings`` is a RingPool (buffers lent while data is in flight) or a
        callable returning a dedicated RxBuffer per connection. ``stream_class``
        (a Stream subclass, e.g. a TLS one, given ``stream_args``) and ``ssl``
        (a stdlib SSLContext) choose how bytes are carried.
        """
        loop = asyncio.get_running_loop()
        make_rx, lender = _source(rings)

        def made(s):
            if admit is None or admit(s):
                s.task = loop.create_task(handler(s))

        def factory():
            return stream_class(make_rx() if make_rx else None, high_water, lender, made, *stream_args)

        server = await loop.create_server(factory, host, port, backlog=backlog, reuse_address=True,
                                          ssl=ssl, ssl_handshake_timeout=ssl_handshake_timeout)
        srv = Server(server)
        srv.lender = lender
        return srv

    async def connect(host, port, rings, high_water=65536, stream_class=Stream, stream_args=(), ssl=None,
                      server_hostname=None):
        """Open a TCP connection; ``rings``, ``stream_class`` and ``ssl`` as for ``serve``."""
        loop = asyncio.get_running_loop()
        make_rx, lender = _source(rings)
        s = stream_class(make_rx() if make_rx else None, high_water, lender, None, *stream_args)
        await loop.create_connection(lambda: s, host, port, ssl=ssl, server_hostname=server_hostname)
        return s
