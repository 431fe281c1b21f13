"""Fixed-capacity receive buffer whose unread bytes are always contiguous.

Bytes live in ``buf[start:end]``. Writers fill the free tail (``tail()`` then
``commit(n)``); readers consume from the head (``skip(n)``). When the tail is too
short for the unit being parsed, the unread bytes move to offset 0 (compaction),
so a frame is always one contiguous view. The bytearray never resizes, so
memoryviews of it stay valid (MicroPython invalidates views on resize).
"""


class RxBuffer:
    """A ``size``-byte receive buffer; ``need`` is the length of the unit in progress."""

    def __init__(self, size):
        if size <= 0:
            raise ValueError("size must be > 0")
        self.size = size
        self.buf = bytearray(size)
        self.mv = memoryview(self.buf)
        self.start = 0
        self.end = 0
        self.need = 0

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
