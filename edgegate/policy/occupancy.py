"""Who holds the gateway's connection slots, decided at accept, before a byte is read.

Every client connection counts from accept until it ends, whatever it is doing
(a TLS handshake, an unfinished request head, a session, a refusal lingering).
A connection is *pending* until its upgrade is done, then *established*.
``admit(addr)`` refuses a new connection when

- the gateway holds ``max_conns`` connections (503),
- the address holds ``per_ip`` connections (429): the per-address cap binds
  idle TCP connections too, not only admitted sessions,
- the address holds ``pending_per_ip`` unfinished ones (429): one address may
  have as many heads in flight as it may make upgrades at once,
- ``pending_max`` unfinished ones are held in all and the address already
  holds as many as the address holding the most (503): heads and handshakes
  never take more than that share of the slots, so the rest stays a reserve
  for established sessions whoever floods. When the share is full and another
  address holds more unfinished connections than the newcomer's would, the
  newcomer is admitted and ``admit`` names that address: the I/O layer ends
  its oldest unfinished connection (``EVICT``). When every address holds as
  few as the newcomer's (a crowd, one idle connection each), the oldest
  unfinished connection of all is ended instead, once it has waited
  ``min_pending_ms`` (``victim`` None). A crowd of flooding addresses thus
  cannot keep a new address from being read.

Pending connections are reclaimed by their deadline (``handshake_ms``), which
the I/O layer enforces. The table holds one entry per address with a live
connection, so it is bounded by ``max_conns``; finding the address holding the
most unfinished connections costs at most its burst, not a scan of the table.
Refusals are counted by reason.
"""


EVICT = -1


class Occupancy:
    __slots__ = ("max_conns", "per_ip", "pending_per_ip", "pending_max", "min_pending_ms", "total", "pending",
                 "_by", "refused", "victim", "_levels", "_top")

    def __init__(self, max_conns, per_ip, pending_per_ip, pending_max, min_pending_ms=1000):
        self.victim = None
        self.total = 0
        self.pending = 0
        self._by = {}  # addr -> [connections, pending]
        # pending count -> {addr: None} of the addresses holding that many unfinished
        # connections, so the address holding the most is found without scanning them all
        # (a crowd flood asks on every accept).
        self._levels = {}
        self._top = 0  # no address has held more unfinished connections than this
        self.refused = {}  # reason -> count
        self.configure(max_conns, per_ip, pending_per_ip, pending_max, min_pending_ms)

    def configure(self, max_conns, per_ip, pending_per_ip, pending_max, min_pending_ms=1000):
        """New bounds (a commit): they apply to connections accepted from now on."""
        self.min_pending_ms = min_pending_ms
        self.max_conns = max(1, max_conns)
        self.per_ip = max(1, per_ip)
        self.pending_per_ip = max(1, min(pending_per_ip, self.per_ip))
        self.pending_max = max(1, min(pending_max, self.max_conns))

    def admit(self, addr, oldest_pending_ms=0):
        """Count a new connection from ``addr`` (``oldest_pending_ms``: how long the oldest
        unfinished connection has waited).

        Returns 0 (admitted), the HTTP status refusing it, or ``EVICT``: admitted,
        and ``victim`` names the address whose oldest unfinished connection must
        end now, or is None for the oldest of all (it no longer counts here once
        its release comes).
        """
        if self.total >= self.max_conns:
            return self._refuse("capacity", 503)
        mine = self._by.get(addr)
        if mine is not None:
            if mine[0] >= self.per_ip:
                return self._refuse("per_ip", 429)
            if mine[1] >= self.pending_per_ip:
                return self._refuse("pending_per_ip", 429)
        evict = 0
        if self.pending >= self.pending_max:
            top, most = self._most_pending()
            if most > (mine[1] if mine is not None else 0) + 1:
                self.victim = top
            elif oldest_pending_ms >= self.min_pending_ms:
                self.victim = None
            else:
                return self._refuse("pending", 503)
            self.refused["evicted"] = self.refused.get("evicted", 0) + 1
            evict = EVICT
        if mine is None:
            mine = self._by[addr] = [0, 0]
        mine[0] += 1
        self._pending_by(addr, mine, 1)
        self.total += 1
        return evict

    def _pending_by(self, addr, mine, d):
        """Move ``addr``'s unfinished count by ``d`` (and its place among the levels)."""
        levels = self._levels
        old = mine[1]
        if old:
            lv = levels[old]
            del lv[addr]
            if not lv:
                del levels[old]
        new = mine[1] = old + d
        if new:
            lv = levels.get(new)
            if lv is None:
                lv = levels[new] = {}
            lv[addr] = None
            if new > self._top:
                self._top = new
        self.pending += d

    def _most_pending(self):
        # O(the most unfinished connections one address ever held): bounded by its burst.
        levels = self._levels
        for n in range(self._top, 0, -1):
            lv = levels.get(n)
            if lv:
                return next(iter(lv)), n
        return None, 0

    def establish(self, addr):
        """The connection from ``addr`` finished its upgrade: it no longer counts as pending."""
        mine = self._by.get(addr)
        if mine is not None and mine[1] > 0:
            self._pending_by(addr, mine, -1)

    def release(self, addr, established):
        """A connection from ``addr`` ended (``established``: after ``establish``)."""
        mine = self._by.get(addr)
        if mine is None:
            return
        mine[0] -= 1
        self.total -= 1
        if not established and mine[1] > 0:
            self._pending_by(addr, mine, -1)
        if mine[0] <= 0:
            if mine[1]:  # keeps the levels whole even if a release was missed
                self._pending_by(addr, mine, -mine[1])
            del self._by[addr]

    def held(self, addr):
        """(connections, pending) of ``addr``."""
        mine = self._by.get(addr)
        return (mine[0], mine[1]) if mine is not None else (0, 0)

    def addresses(self):
        return len(self._by)

    def _refuse(self, reason, status):
        self.refused[reason] = self.refused.get(reason, 0) + 1
        return status
