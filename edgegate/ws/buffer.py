"""Fixed-capacity receive buffers whose unread bytes are always contiguous, and their pool.

Bytes live in ``buf[start:end]``. Writers fill the free tail (``tail()`` then
``commit(n)``); readers consume from the head (``skip(n)``). When the tail is too
short for the unit being parsed, the unread bytes move to offset 0 (compaction),
so a frame is always one contiguous view. The buffer never resizes, so
memoryviews of it stay valid (MicroPython invalidates views on resize).
"""

from edgegate.rt import alloc_buffer


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
