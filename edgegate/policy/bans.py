"""A fixed-size ban table: addresses refused until an expiry, evicting the soonest to expire when full."""

from edgegate.rt import ticks_diff


class BanTable:
    """At most ``max_entries`` bans; ``banned(addr, now_ms)`` is O(1)."""

    def __init__(self, max_entries):
        if max_entries <= 0:
            raise ValueError("max_entries must be > 0")
        self.max_entries = max_entries
        self._until = {}
        self._reason = {}
        self.evictions = 0

    def __len__(self):
        return len(self._until)

    def ban(self, addr, until_ms, reason, now_ms):
        """Ban ``addr`` until ``until_ms``; a full table first drops the ban ending soonest."""
        self.expire(now_ms)
        if addr not in self._until and len(self._until) >= self.max_entries:
            first = None
            for a, u in self._until.items():
                if first is None or ticks_diff(u, self._until[first]) < 0:
                    first = a
            self.unban(first)
            self.evictions += 1
        self._until[addr] = until_ms
        self._reason[addr] = reason

    def unban(self, addr):
        """Lift a ban; False if there was none."""
        if addr not in self._until:
            return False
        del self._until[addr]
        del self._reason[addr]
        return True

    def banned(self, addr, now_ms):
        until = self._until.get(addr)
        if until is None:
            return False
        if ticks_diff(until, now_ms) <= 0:
            self.unban(addr)
            return False
        return True

    def expire(self, now_ms):
        for a in [a for a, u in self._until.items() if ticks_diff(u, now_ms) <= 0]:
            self.unban(a)

    def entries(self, now_ms):
        """[(addr, remaining_ms, reason)], soonest to expire first."""
        self.expire(now_ms)
        out = [(a, ticks_diff(u, now_ms), self._reason[a]) for a, u in self._until.items()]
        out.sort(key=lambda e: e[1])
        return out
