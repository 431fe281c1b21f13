"""The assembly pool: the bytes of fragmented messages being assembled for a pipeline, all sessions.

A message is assembled only when a pipeline must judge it whole. The pool
holds at most ``limit`` bytes for everyone together, and one key (a
principal, else an address) at most ``share`` of them (an eighth of the
pool, or one largest message, whichever is more): a message that would go
past either is refused with 1013 (try again later). Keys leave the table
when they hold nothing, so it never holds more entries than sessions.
"""

from edgegate.policy.errors import MessageRefused


class AssemblyPool:
    __slots__ = ("limit", "share", "held", "by", "refusals")

    def __init__(self, limit, share):
        self.limit = limit
        self.share = share
        self.held = 0
        self.by = {}
        self.refusals = 0

    def hold(self, key, n):
        """Count ``n`` more bytes for ``key``; raise MessageRefused(1013) when the pool or its share is full."""
        mine = self.by.get(key, 0)
        if self.held + n > self.limit or mine + n > self.share:
            self.refusals += 1
            raise MessageRefused(1013, "capacity", "the assembly pool is full" if self.held + n > self.limit
                                 else "this client's share of the assembly pool is full")
        self.held += n
        self.by[key] = mine + n

    def release(self, key, n):
        """Give back ``n`` bytes ``key`` held."""
        if not n:
            return
        self.held -= n
        left = self.by.get(key, 0) - n
        if left > 0:
            self.by[key] = left
        else:
            self.by.pop(key, None)
