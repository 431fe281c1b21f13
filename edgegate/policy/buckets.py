"""Token buckets in integer micro-tokens, and fixed-size tables: LRU (``LruTable``, shared with the
message chain's per-principal buckets), of buckets, and of live counts.

A bucket refills ``tokens`` every ``per_s`` seconds up to ``burst`` (so 10 per
60 s works without floats, which are heap objects on MicroPython). The bucket
table holds at most ``max_entries`` keys: a new key when full evicts the least
recently used one (the table keeps insertion order and a key is re-inserted on
each use), so a flood of distinct sources cannot grow it. CPython dicts keep
insertion order; MicroPython's do not (they iterate in hash-slot order), so
there the table is an OrderedDict.
"""

from edgegate.rt import IS_MICROPYTHON, ticks_diff

if IS_MICROPYTHON:  # pragma: no cover - MicroPython
    from collections import OrderedDict as _ordered
else:
    _ordered = dict

_UNIT = 1000000  # micro-tokens per token


class LruTable:
    """At most ``max_entries`` keys: a key moves to the back on each use, and a new key
    when the table is full evicts the one at the front (the least recently used)."""

    __slots__ = ("_d", "max_entries", "evictions")

    def __init__(self, max_entries):
        self._d = _ordered()
        self.max_entries = max_entries
        self.evictions = 0

    def __len__(self):
        return len(self._d)

    def get(self, key):
        """The value of ``key`` (or None), without counting it as a use."""
        return self._d.get(key)

    def use(self, key):
        """The value of ``key``, now the most recently used; None when absent."""
        v = self._d.pop(key, None)
        if v is not None:
            self._d[key] = v
        return v

    def add(self, key, value):
        """Insert ``key`` (absent) as the most recently used; return ``value``."""
        d = self._d
        if len(d) >= self.max_entries:
            for k in d:
                del d[k]
                self.evictions += 1
                break
        d[key] = value
        return value


class BucketTable:
    def __init__(self, tokens, per_s, burst, max_entries):
        if tokens <= 0 or per_s <= 0 or burst <= 0 or max_entries <= 0:
            raise ValueError("tokens, per_s, burst and max_entries must be > 0")
        self.refill_per_ms = max(1, tokens * (_UNIT // 1000) // per_s)
        self.cap = burst * _UNIT
        self.max_entries = max_entries
        self._b = LruTable(max_entries)  # key -> [micro-tokens, last ms]

    @property
    def evictions(self):
        return self._b.evictions

    def __len__(self):
        return len(self._b)

    def take(self, key, now_ms):
        """True if ``key`` may act now (one token is charged); False when over its rate."""
        b = self._b.use(key)
        if b is None:
            b = self._b.add(key, [self.cap, now_ms])
        else:
            dt = max(0, ticks_diff(now_ms, b[1]))
            b[0] = min(self.cap, b[0] + dt * self.refill_per_ms)
            b[1] = now_ms
        if b[0] < _UNIT:
            return False
        b[0] -= _UNIT
        return True

    def empty(self, key):
        """True if ``key`` has no whole token left (as of its last ``take``)."""
        b = self._b.get(key)
        return b is not None and b[0] < _UNIT

    def retry_after_s(self, key):
        """Whole seconds until ``key`` has a token again (for Retry-After), at least 1."""
        b = self._b.get(key)
        if b is None or b[0] >= _UNIT:
            return 1
        ms = (_UNIT - b[0] + self.refill_per_ms - 1) // self.refill_per_ms
        return max(1, (ms + 999) // 1000)


class CountTable:
    """Live counts per key (connections per IP, per principal, per route), at most ``max_entries`` keys.

    A key whose count returns to zero is dropped. A new key when full is
    refused (``add`` returns False) rather than evicting a live count: the
    table is sized from max_conns, so that only happens past the global cap.
    """

    def __init__(self, max_entries):
        self.max_entries = max_entries
        self._n = {}

    def __len__(self):
        return len(self._n)

    def count(self, key):
        return self._n.get(key, 0)

    def add(self, key):
        n = self._n.get(key)
        if n is None:
            if len(self._n) >= self.max_entries:
                return False
            n = 0
        self._n[key] = n + 1
        return True

    def remove(self, key):
        n = self._n.get(key, 0) - 1
        if n <= 0:
            self._n.pop(key, None)
        else:
            self._n[key] = n
