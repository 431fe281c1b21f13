"""Receive buffers, the pool they are lent from, and the lender that shares them out.

``RxBuffer``: a fixed-capacity buffer whose unread bytes are always contiguous.
Bytes live in ``buf[start:end]``. Writers fill the free tail (``tail()`` then
``commit(n)``); readers consume from the head (``skip(n)``). When the tail is too
short for the unit being parsed, the unread bytes move to offset 0 (compaction),
so a frame is always one contiguous view. The buffer never resizes, so
memoryviews of it stay valid (MicroPython invalidates views on resize).

``RingPool``: at most ``max_rings`` of them, lent while data is in flight.

``Lender``: lends a pool's rings to streams within shares (the pool, one
address's share, the unfinished upgrades' share) and stops the readers that
are over them. Pure logic, no I/O: ``rt.net``'s streams drive it, and its
tests drive it with fake streams and a fake clock.
"""

from edgegate.rt import alloc_buffer, ticks_ms


class RxBuffer:
    """A ``size``-byte receive buffer; ``need`` is the length of the unit in progress."""

    __slots__ = ("size", "buf", "mv", "start", "end", "need", "owner")

    def __init__(self, size):
        if size <= 0:
            raise ValueError("size must be > 0")
        self.size = size
        self.buf = alloc_buffer(size)
        self.mv = memoryview(self.buf)
        self.start = 0
        self.end = 0
        self.need = 0
        self.owner = None  # the RingPool that lent it, if any

    def __len__(self):
        return self.end - self.start

    def tail(self):
        """Writable view of the free space after the unread bytes (may compact)."""
        if self.start == self.end:
            self.start = self.end = 0
        elif self.end == self.size or self.start + self.need > self.size:
            self.compact()
        return self.mv[self.end:]

    def compact(self):
        """Move the unread bytes to offset 0."""
        n = self.end - self.start
        if self.start and n:
            self.mv[0:n] = self.mv[self.start:self.end]
        self.start = 0
        self.end = n

    def commit(self, n):
        """Mark n bytes written into ``tail()`` as received."""
        if n < 0 or self.end + n > self.size:
            raise ValueError("commit past the end of the buffer")
        self.end += n

    def write(self, data):
        """Copy as much of data as fits; return the number of bytes accepted."""
        t = self.tail()
        n = min(len(data), len(t))
        if n:
            t[:n] = data[:n] if n < len(data) else data
            self.end += n
        return n

    def skip(self, n):
        """Consume n unread bytes."""
        if n > self.end - self.start:
            raise ValueError("skip past the unread bytes")
        self.start += n
        if self.start == self.end:
            self.start = self.end = 0

    def view(self, a, b):
        """View of absolute offsets [a, b)."""
        return self.mv[a:b]

    def clear(self):
        """Drop every unread byte."""
        self.start = self.end = 0
        self.need = 0


class RingPool:
    """At most ``max_rings`` receive buffers of ``ring_bytes``, lent while data is in flight.

    An idle connection holds no buffer: it takes one when bytes arrive and gives
    it back once everything in it has been parsed. Buffers are allocated on
    first need and then reused, so memory follows the peak in-flight count,
    never more than ``max_rings * ring_bytes``.
    """

    def __init__(self, ring_bytes, max_rings, keep_free=0):
        if ring_bytes <= 0 or max_rings <= 0:
            raise ValueError("ring_bytes and max_rings must be > 0")
        self.ring_bytes = ring_bytes
        self.max_rings = max_rings
        # Free buffers kept for reuse; more than this are dropped (their memory
        # goes back to the OS) so a burst does not pin its peak forever.
        self.keep_free = keep_free or max(4, max_rings // 16)
        self.allocated = 0
        self.lent = 0
        self.high_water = 0
        self._free = []

    @property
    def available(self):
        """Buffers that can still be lent (free or not yet allocated)."""
        return self.max_rings - self.lent

    def take(self):
        """Lend an empty buffer, or return None when all ``max_rings`` are lent."""
        if self._free:
            rx = self._free.pop()
        elif self.allocated < self.max_rings:
            rx = RxBuffer(self.ring_bytes)
            rx.owner = self
            self.allocated += 1
        else:
            return None
        self.lent += 1
        if self.lent > self.high_water:
            self.high_water = self.lent
        return rx

    def give(self, rx):
        """Take back a buffer lent by ``take`` (its content is dropped)."""
        rx.clear()
        self.lent -= 1
        if len(self._free) < self.keep_free:
            self._free.append(rx)
        else:
            self.allocated -= 1


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
    by the pool only. ``since`` (ticks ms, from ``clock``) says how long each
    held ring has been held: the gateway's reaper reclaims rings that
    trickling peers keep (see ``holders``). A bound's stop costs O(streams it
    stops), paid only when the bound is reached and when it is released.

    The interface, both ways. A stream calls:

    - ``joined(s)`` when its connection opens without a buffer;
    - ``lend(s)`` -> an RxBuffer, when bytes arrive and it holds none;
    - ``give_back(s, rx)`` when ``rx`` is parsed empty, and on every ending
      (closed, reset, aborted: ``s.closed`` set first) whatever is left in it;
    - ``establish(s)`` once its upgrade is done;
    - ``left(s)`` when its connection is gone.

    The lender calls ``s._starve()`` (stop reading the socket) and
    ``s._feed()`` (it may read again), both idempotent; it reads ``s.addr``
    (the client's address, or None), ``s.rx`` (its buffer or None) and
    ``s.closed``, reads and sets ``s.established``, and sets ``s.since``.
    A buffer lent beyond the pool (``owner`` None) is counted in
    ``overflow`` until it is given back.
    """

    def __init__(self, pool, per_ip=0, heads=0, clock=None):
        self.pool = pool
        self.per_ip = per_ip or pool.max_rings
        self.heads = heads or pool.max_rings
        # ``since`` comes from ``clock()`` when given, else from ``now``, which the
        # owner moves (the gateway's reaper, every 200 ms): lending then costs no
        # new int per read.
        self.clock = clock
        self.now = ticks_ms()
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
        group = self.idle.get(stream.addr)
        if group is not None and not group:  # the address's groups go with its last stream
            del self.idle[stream.addr]

    def establish(self, stream):
        """``stream`` finished its upgrade: its ring (if any) no longer counts as a head's."""
        if stream.established:
            return
        stream.established = True
        if stream.addr is not None and stream.rx is not None and stream.rx.owner is not None:
            self.heads_held -= 1  # counted as a head's when lent (``lend``: client streams only)
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
            rx = RxBuffer(self.pool.ring_bytes)  # owner None: counted as overflow
            self._idle_discard(stream)
            if stream.addr is not None:
                stream.since = self.now if self.clock is None else self.clock()
                self.holders.add(stream)
            return rx
        self._idle_discard(stream)
        addr = stream.addr
        if addr is not None:
            stream.since = self.now if self.clock is None else self.clock()
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
        pool = self.pool
        if pool.lent >= pool.max_rings and not self.starved:
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
            if (self.starved or self.heads_full or self.full) and self._blocked(stream):
                stream._starve()
        self._unstarve()

    def set_pool(self, pool):
        """Lend from ``pool`` from now on (a commit changed the ring size or count)."""
        self.pool = pool
        self._unstarve()

    def set_shares(self, per_ip, heads):
        """New bounds (a commit); they apply as rings are next lent and returned."""
        self.per_ip = per_ip or self.pool.max_rings
        self.heads = heads or self.pool.max_rings

    def held_by(self, addr):
        return self.held.get(addr, 0)

    # -- internals --
    def _blocked(self, stream):
        pool = self.pool
        if pool.lent >= pool.max_rings:
            return True
        addr = stream.addr
        if addr is None:
            return False
        return addr in self.full or (not stream.established and self.heads_held >= self.heads)

    def _unstarve(self):
        """The pool has a ring again: every idle stream stopped only for want of one reads."""
        if self.starved and self.pool.lent < self.pool.max_rings:
            self.starved = False
            for group in list(self.idle.values()):
                self._feed(group)

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
        if not stream.established and stream.addr is not None:
            self.idle_heads.add(stream)

    def _idle_discard(self, stream):
        group = self.idle.get(stream.addr)
        if group is not None:
            group.discard(stream)  # an empty group stays until the address's last stream leaves
        if self.idle_heads:
            self.idle_heads.discard(stream)
