"""A fixed-size ban table that the banned cannot flush: addresses (or their networks) refused until an expiry.

Two ways in. ``ban(addr, ...)`` is the operator's (console): it always lands,
replacing any expiry the key had; a full table first drops the automatic ban
ending soonest (``evictions`` counts it), and only when every entry is an
operator's, the operator ban ending soonest. ``ban_auto(addr, ...)`` is
admission's (repeated failures): it must hold against the attacker it stops,
who can make the table fill by getting many other addresses banned. So:

- an automatic ban never evicts anything: on a full table the new ban is
  dropped (``dropped`` counts it, admission audits it). A ban in the table
  stays until it expires or the operator lifts it, whatever floods in after;
- an automatic ban never shortens a ban: it extends the one that covers the
  address, or adds one;
- under pressure (the table ``PRESSURE_NUM/PRESSURE_DEN`` full) a new automatic
  ban is for the address's network, ``a.b.c.0/24`` for IPv4 (also when
  IPv4-mapped, ``::ffff:a.b.c.d``) or ``x:x:x:x::/64`` for IPv6
  (``aggregated`` counts them): from then on one /24 or /64 costs one entry
  however many of its addresses fail. Address bans already in the table stay
  as they are until they expire. Keys that are not IP addresses are never
  aggregated.

``banned(addr, now_ms)`` looks up the address, then (only while the table
holds prefix bans) its network: O(1). Expired bans are dropped when looked up,
listed, or when room is needed; the scan for room runs only once the soonest
expiry has passed, so a flood against a full table costs O(1) per ban.
``unban(key)`` lifts the ban of that exact key (an address, or a prefix as
``entries`` lists it); for an address with no ban of its own it lifts the
prefix ban that covers it. Times are ticks compared with ``ticks_diff`` only.
Limits: an attacker with addresses in more networks than the table has room
for is not banned past that point (but cannot lift earlier bans); a /24 ban
refuses innocent neighbours (a carrier NAT) until it expires.
"""

from edgegate.rt import ticks_diff

PRESSURE_NUM, PRESSURE_DEN = 3, 4
_DEC = "0123456789"
_HEXDIGITS = "0123456789abcdefABCDEF"


def _ipv4_prefix(a):
    parts = a.split(".")
    if len(parts) != 4:
        return None
    for p in parts:
        if not 1 <= len(p) <= 3 or not _only(p, _DEC) or int(p) > 255:
            return None
    return "%d.%d.%d.0/24" % (int(parts[0]), int(parts[1]), int(parts[2]))


def _only(s, chars):
    for c in s:
        if c not in chars:
            return False
    return True


def network(addr):
    """The /24 (IPv4, IPv4-mapped IPv6) or /64 (IPv6) an address aggregates into, or None
    when ``addr`` is not an IP address."""
    if not isinstance(addr, str) or len(addr) > 64:
        return None
    if ":" not in addr:
        return _ipv4_prefix(addr)
    a = addr.split("%", 1)[0]  # a zone (fe80::1%eth0) is not part of the network
    tail = a[a.rfind(":") + 1:]
    if "." in tail:
        head = a[:len(a) - len(tail)].lower()
        if head in ("::ffff:", "0:0:0:0:0:ffff:"):
            return _ipv4_prefix(tail)
        return None
    if a.count("::") > 1:
        return None
    if "::" in a:
        left, right = a.split("::")
        left = left.split(":") if left else []
        right = right.split(":") if right else []
        if len(left) + len(right) > 7:
            return None
        groups = left + ["0"] * (8 - len(left) - len(right)) + right
    else:
        groups = a.split(":")
    if len(groups) != 8:
        return None
    for g in groups:
        if not 1 <= len(g) <= 4 or not _only(g, _HEXDIGITS):
            return None
    return "%x:%x:%x:%x::/64" % tuple(int(g, 16) for g in groups[:4])


class BanTable:
    """At most ``max_entries`` bans (addresses or prefixes); ``banned(addr, now_ms)`` is O(1)."""

    def __init__(self, max_entries):
        if max_entries <= 0:
            raise ValueError("max_entries must be > 0")
        self.max_entries = max_entries
        self._until = {}
        self._reason = {}
        self._manual = {}  # key -> True for an operator's ban
        self._prefixes = 0  # prefix keys in the table: banned() looks networks up only when > 0
        self._soonest = None  # no ban in the table ends before this tick (None: unknown)
        self.evictions = 0  # bans dropped to make room for an operator's ban
        self.dropped = 0  # automatic bans not recorded: the table was full
        self.aggregated = 0  # prefix bans made under pressure

    def __len__(self):
        return len(self._until)

    def _put(self, key, until_ms, reason, manual):
        if key not in self._until and "/" in key:
            self._prefixes += 1
        self._until[key] = until_ms
        self._reason[key] = reason
        self._manual[key] = manual
        if self._soonest is not None and ticks_diff(until_ms, self._soonest) < 0:
            self._soonest = until_ms

    def _room(self, now_ms):
        """True if a new key fits, after expiring what is due (scanned only once the soonest is due)."""
        if len(self._until) < self.max_entries:
            return True
        if self._soonest is None or ticks_diff(self._soonest, now_ms) <= 0:
            self.expire(now_ms)
        return len(self._until) < self.max_entries

    def ban(self, addr, until_ms, reason, now_ms):
        """The operator's ban of ``addr`` (or a prefix key) until ``until_ms``: always recorded,
        replacing the key's expiry and reason; a full table drops the automatic ban ending
        soonest (the operator ban ending soonest when there is no automatic one)."""
        if addr not in self._until and not self._room(now_ms):
            victim, rank = None, None
            for k, u in self._until.items():
                r = (self._manual[k], ticks_diff(u, now_ms))
                if rank is None or r < rank:
                    victim, rank = k, r
            self.unban(victim)
            self.evictions += 1
        self._put(addr, until_ms, reason, True)

    def ban_auto(self, addr, until_ms, reason, now_ms):
        """An automatic ban: the key now banned (``addr`` or its network), or None when the
        table is full and the ban was dropped. Never evicts a ban, never shortens one."""
        key = self._key_of(addr, now_ms)
        if key is not None:
            if ticks_diff(until_ms, self._until[key]) > 0:
                self._until[key] = until_ms
            return key
        key = addr
        if len(self._until) * PRESSURE_DEN >= self.max_entries * PRESSURE_NUM:
            key = network(addr) or addr
        if not self._room(now_ms):
            self.dropped += 1
            return None
        if key != addr:
            self.aggregated += 1
        self._put(key, until_ms, reason, False)
        return key

    def unban(self, addr):
        """Lift the ban of ``addr`` (an address or a prefix key), or else the prefix ban covering
        the address; False if there was none."""
        if addr not in self._until:
            net = network(addr) if self._prefixes else None
            if net is None or net not in self._until:
                return False
            addr = net
        if "/" in addr:
            self._prefixes -= 1
        del self._until[addr]
        del self._reason[addr]
        del self._manual[addr]
        return True

    def _live(self, key, now_ms):
        u = self._until.get(key)
        if u is None:
            return False
        if ticks_diff(u, now_ms) <= 0:
            self.unban(key)
            return False
        return True

    def _key_of(self, addr, now_ms):
        """The key of the live ban covering ``addr`` (its own, else its network's), or None."""
        if self._live(addr, now_ms):
            return addr
        if self._prefixes:
            net = network(addr)
            if net is not None and self._live(net, now_ms):
                return net
        return None

    def banned(self, addr, now_ms):
        return self._key_of(addr, now_ms) is not None

    def expire(self, now_ms):
        soonest = None
        for a in list(self._until):
            u = self._until[a]
            if ticks_diff(u, now_ms) <= 0:
                self.unban(a)
            elif soonest is None or ticks_diff(u, soonest) < 0:
                soonest = u
        self._soonest = soonest

    def entries(self, now_ms):
        """[(key, remaining_ms, reason)], soonest to expire first."""
        self.expire(now_ms)
        out = [(a, ticks_diff(u, now_ms), self._reason[a]) for a, u in self._until.items()]
        out.sort(key=lambda e: e[1])
        return out
