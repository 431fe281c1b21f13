"""TCP streams that read straight into a session's receive buffer (CPython only).

``serve(host, port, handler, rings)`` and ``connect(host, port, rings)`` give
``Stream`` objects (``rings``: a ``Lender`` or ``RingPool`` whose buffers are lent
while data is in flight, or a callable making a dedicated buffer): ``await
fill()`` waits until bytes were committed into ``stream.rx`` (0 at EOF),
``write``/``write_view`` queue bytes, ``drain`` waits below the low watermark,
``write_eof``/``close``/``abort`` end it.

The socket data lands in the buffer with no copy: an ``asyncio.BufferedProtocol``
hands ``rx.tail()`` to ``recv_into`` and pauses reading when the buffer is full
or the ``Lender`` (``edgegate.ws.buffer``, portable; ``net.Lender`` is the same
class) says the stream is over its share. A Stream is the lender's stream: it
calls ``joined``/``lend``/``give_back``/``establish``/``left`` and answers
``_starve``/``_feed``.

Not on MicroPython: importing this module there raises ImportError. It had a
MicroPython branch, which passed bytes over loopback with a dedicated buffer,
but it never gave a pooled ring back (one leaked per connection), failed when
the pool was empty, had no Lender, shares, ``establish`` or ``admit`` refusal,
and took none of the arguments (``stream_class``, ``ssl``) the gateway passes.
The gateway (``edgegate/gateway``: ssl, python-mbedtls, files, signals) runs
on CPython only; what runs on MicroPython is the portable sans-I/O core
(``ws``, ``relay``, ``policy``, ``config``, ``console``, ``rt`` but this module),
and its tests. A MicroPython gateway would need its own streams: MicroPython's
asyncio reads with ``readinto`` into a buffer given before the bytes arrive,
so a ring could not be lent on arrival as here.
"""

import socket
import sys

from edgegate.ws.buffer import Lender

from . import IS_MICROPYTHON
from .aio import asyncio

if IS_MICROPYTHON:  # pragma: no cover - MicroPython
    raise ImportError("edgegate.rt.net runs on CPython only (the gateway's I/O); the portable core is sans-I/O")

__all__ = ("Lender", "Server", "Stream", "connect", "resolve", "serve")

# CPython < 3.12 copies unsent bytes into the transport's own bytearray;
# 3.12+ and uvloop may keep a reference to the object written, so a view of
# a receive buffer that will be reused must be copied first.
_VIEWS_ARE_COPIED = sys.version_info < (3, 12)


_DISCARD = memoryview(bytearray(4096))  # where a refused connection's last polled read goes


def resolve(waiter):
    """Wake whoever awaits ``waiter`` (a future, or None when nobody waits)."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class Stream(asyncio.BufferedProtocol):
    """A TCP connection whose received bytes land in ``rx`` without a copy.

    ``rx`` is a dedicated RxBuffer, or (with a ``Lender``) one borrowed from
    a pool when bytes arrive and handed back by ``release_rx`` once empty.
    """

    __slots__ = ("rx", "transport", "peer", "eof", "closed", "pending", "_waiter", "_drain_waiter",
                 "_read_paused", "_starved", "_write_paused", "_high", "_copy_views", "_lender",
                 "_on_made", "task", "peer_cert", "secure", "addr", "established", "since", "_answer")

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
        self._answer = None  # a refusal waiting for the peer's first bytes (see refuse)

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
            if self._lender is None:  # refused: what a read already polled brings is dropped
                return _DISCARD
            rx = self.rx = self._lender.lend(self)
        return rx.tail()

    def buffer_updated(self, nbytes):
        rx = self.rx
        if rx is None:  # refused: its request is read into the discard buffer, then answered
            self._answer_refusal()
            return
        rx.commit(nbytes)
        self.pending += nbytes
        if rx.end - rx.start == rx.size:
            self.transport.pause_reading()
            self._read_paused = True
        self._wake()

    def eof_received(self):
        if self._answer is not None:
            self._answer_refusal()
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

    def refuse(self, answer, linger_s):
        """Answer a connection refused at accept, without a ring.

        What it sends is read into a shared discard buffer; the answer goes out
        after its first bytes (a client that reads only after writing its
        request would miss an answer sent before it), then a FIN. The socket is
        cut when the peer closes or after ``linger_s``: closing at once with
        input unread would send an RST that can destroy the answer.
        """
        self._answer = answer
        if self._lender is not None:  # it leaves the lender: no ring is ever lent to it
            self._drop_rx()
            self._lender.left(self)
            self._lender = None
        if self.transport is not None and not self.transport.is_closing():
            asyncio.get_running_loop().call_later(linger_s, self.abort)

    def _answer_refusal(self):
        answer, self._answer = self._answer, None
        if answer is not None:
            self.write(answer)
            self.write_eof()

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
