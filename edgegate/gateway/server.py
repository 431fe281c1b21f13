"""The gateway: listeners, the fixed session table, bans, the reaper, live reconfiguration, the drain.

At most ``limits.max_conns`` sessions exist; a connection beyond that gets 503
at once. A reaper task wakes every ``_TICK_MS`` to apply each session's idle,
keepalive and close deadlines, so no per-frame timers exist. On SIGTERM the
listeners close, every session gets close 1001, and the process waits at most
``timeouts.drain_ms`` for them to finish. ``apply(cfg)`` puts a committed config
into service without dropping anyone: new listeners open, removed ones stop
accepting, new sessions get the new routes and limits, and sessions whose
route is gone are closed with 1001.
"""

from edgegate.errors import MaterialError
from edgegate.pipeline import compile_pipelines
from edgegate.policy.occupancy import EVICT, Occupancy
from edgegate.rt import aio, const, heap, net, ticks_add, ticks_diff, ticks_ms
from edgegate.ws.buffer import RingPool
from edgegate.ws.handshake import response_error

from . import tls as _tls
from .log import Log
from .session import Session

_TICK_MS = const(200)
_MIN_HOLD_MS = const(1000)  # under ring pressure, a ring held longer than this by a partial unit is reclaimable
_MAX_REFUSING = const(256)  # refused connections answered and lingering at once (sockets, not rings)
_LINGER_S = 1.0
_TRIM_AFTER = const(2048)  # connections ended between two heap trims (a trim costs a few ms)


def _route_key(r):
    return (r.path, r.exact, r.backend_url)


def _listener_key(ln):
    return ln.key()


def prepare_tls(cfg):
    """Build every TLS context ``cfg`` needs, reading its files now.

    Returns ({listener key: context}, {route key: client context}).
    Raises:
        TlsError: naming the unreadable or invalid file.
    """
    listeners = {}
    for ln in cfg.listeners:
        if ln.tls is not None:
            make = _tls.ssl_server_context if ln.tls.backend == "ssl" else _tls.mbedtls_server_context
            listeners[ln.key()] = make(ln.tls)
    backends = {}
    for r in cfg.routes:
        if r.backend_tls is not None:
            backends[_route_key(r)] = _tls.mbedtls_client_context(r.backend_tls.ca)
    return listeners, backends


def ring_shares(lim):
    """(rings one client address may hold, rings unfinished heads may hold together).

    An eighth of the pool per address and a quarter for heads: established
    sessions always keep three quarters of it, whoever floods heads. On a pool
    of a few big rings an eighth is less than a client's handful of streams in
    flight: an address may then hold up to 4, at most half the pool.
    """
    rings = lim["ring_pool_rings"]
    return max(2, rings // 8, min(4, rings // 2)), max(1, rings // 4)


def assembly_bounds(lim):
    """(the assembly pool's bytes, one principal's share: an eighth, or one largest message)."""
    pool = lim["assembly_pool_bytes"]
    return pool, max(lim["max_message_bytes"], pool // 8)


def slot_bounds(cfg):
    """Occupancy's bounds: (max_conns, per address, pending per address, pending in all).

    An address may have as many unfinished heads as upgrades it may make at
    once (its burst); unfinished heads and TLS handshakes take at most a
    quarter of the slots (16 on a box with few).
    """
    lim, adm = cfg.limits, cfg.admission
    n = lim["max_conns"]
    # An unfinished connection may be pushed out for a newcomer once it has had a fortieth of
    # handshake_ms (125 ms of the default 5 s): a crowd re-opening what is pushed out must not
    # make itself young enough to keep everyone else at 503.
    return (n, adm.max_conns_per_ip, adm.ip_burst, max(min(n, 16), n // 4), max(50, cfg.timeouts["handshake_ms"] // 40))


class Gateway:
    def __init__(self, cfg, log=None):
        self.cfg = cfg
        self.log = log if log is not None else Log()
        self.sessions = {}
        self.servers = []
        self.addresses = []
        self.draining = False
        self._next_id = 0
        self._stopped = aio.Event()
        self._drain_begun = aio.Event()
        self._reaper = None
        lim = cfg.limits
        self.pool = RingPool(lim["rx_ring_bytes"], lim["ring_pool_rings"])
        self.rings = net.Lender(self.pool, *ring_shares(lim))
        self.occupancy = Occupancy(*slot_bounds(cfg))
        self.refusing = 0  # refused at accept and still lingering (see _admit)
        self.ended = 0  # connections ended (and refused) since the heap was last trimmed
        self.unfinished = {}  # addr -> {stream: None} of its connections not yet upgraded, oldest first
        self.unfinished_all = {}  # stream -> ticks accepted, every unfinished connection, oldest first
        from edgegate.policy.admission import Admission
        from edgegate.relay.pool import AssemblyPool

        from .keys import load_keys

        self.admission = Admission(cfg, load_keys(cfg), self._audit)
        self.box_id = cfg.board
        self.pipelines = compile_pipelines(cfg, self.box_id)  # policy name -> Pipeline, for new sessions
        self.assembly = AssemblyPool(*assembly_bounds(lim))  # messages being assembled, all sessions
        self.bans = self.admission.bans  # console bans and automatic ones share the fixed table
        self.listening = {}  # listener key -> server
        self.started_ms = self.now_ms = ticks_ms()  # now_ms: the reaper's clock, 200 ms steps
        self.applied = 0
        self.handshaking = 0  # TLS connections not yet through their handshake
        self.tls_listeners, self.tls_backends = {}, {}
        self._holders = {}  # listener key -> ContextHolder (TLS listeners)
        self.carried = {}  # "host:port" -> "plaintext" or "tls <engine>, client_cert <mode>"

    async def start(self):
        """Open every listener; ``addresses`` then holds the bound (host, port)s."""
        lim = self.cfg.limits
        self.tls_listeners, self.tls_backends = prepare_tls(self.cfg)
        for ln in self.cfg.listeners:
            await self._listen(ln)
        self._reaper = aio.create_task(self._reap())
        self.log.info("listening", addresses=["%s:%d" % a for a in self.addresses], carried=self.carried,
                      board=self.cfg.board, max_conns=lim["max_conns"], ring_pool_rings=lim["ring_pool_rings"],
                      routes=[r.path for r in self.cfg.routes])

    async def _listen(self, ln):
        key = _listener_key(ln)
        kw = {}
        if ln.tls is not None:
            holder = self._holders[key] = _tls.ContextHolder(self.tls_listeners[key])
            kw = {"stream_class": _tls.SslStream if ln.tls.backend == "ssl" else _tls.MbedTlsStream,
                  "stream_args": (holder,)}

        async def on_client(stream):
            await self._on_client(stream, ln)

        srv = await net.serve(ln.host, ln.port, on_client, self.rings, backlog=self.cfg.limits["listen_backlog"],
                              high_water=self.cfg.limits["write_buffer_bytes"], admit=self._admit, **kw)
        self.servers.append(srv)
        self.listening[_listener_key(ln)] = srv
        how = "plaintext" if ln.tls is None else "tls %s, client_cert %s" % (ln.tls.backend, ln.tls.client_cert)
        for s in srv.sockets:
            self.addresses.append(s.getsockname()[:2])
            self.carried["%s:%d" % s.getsockname()[:2]] = how

    def _audit(self, what, **fields):
        self.log.count("audit_%s" % what)
        self.log.info("audit", what=what, **fields)

    def prepare(self, cfg):
        """Read and check ``cfg``'s TLS and key files before it is committed.

        Raises MaterialError (a KeyFileError or a TlsError) naming the file.
        """
        from .keys import load_keys

        keys = load_keys(cfg)
        return prepare_tls(cfg) + (keys,)

    async def apply(self, cfg, prepared=None):
        """Put ``cfg`` into service for new connections; live sessions stay up
        unless their route was removed (closed with 1001, "route removed")."""
        try:
            prepared = prepared or self.prepare(cfg)
        except MaterialError as e:
            self.log.error("config_not_applied", why=str(e))
            return 0
        old = self.cfg
        self.pipelines = compile_pipelines(cfg, self.box_id)
        self.assembly.limit, self.assembly.share = assembly_bounds(cfg.limits)
        self.cfg = cfg
        self.tls_listeners, self.tls_backends, keys = prepared
        self.admission.reconfigure(cfg, keys)
        for key, holder in self._holders.items():
            if key in self.tls_listeners:  # same settings: new connections get freshly read files
                holder.ctx = self.tls_listeners[key]
        lim, olim = cfg.limits, old.limits
        if (lim["rx_ring_bytes"], lim["ring_pool_rings"]) != (olim["rx_ring_bytes"], olim["ring_pool_rings"]):
            self.pool = RingPool(lim["rx_ring_bytes"], lim["ring_pool_rings"])
            self.rings.set_pool(self.pool)
        self.rings.set_shares(*ring_shares(lim))
        self.occupancy.configure(*slot_bounds(cfg))
        want = {_listener_key(ln): ln for ln in cfg.listeners}
        for key in [k for k in self.listening if k not in want]:
            srv = self.listening.pop(key)
            srv.close()
            self.servers.remove(srv)
            self.addresses = [a for a in self.addresses if a[1] != key[1]]
            self.carried = {a: how for a, how in self.carried.items() if not a.endswith(":%d" % key[1])}
        opened = []
        for key, ln in want.items():
            if key not in self.listening:
                try:
                    await self._listen(ln)
                    opened.append("%s:%d" % (ln.host, ln.port))
                except OSError as e:
                    self.log.error("listen_failed", address="%s:%d" % (ln.host, ln.port), error=str(e))
        keep = set(_route_key(r) for r in cfg.routes)
        drained = 0
        for s in list(self.sessions.values()):
            if s.route is not None and _route_key(s.route) not in keep:
                s.start_close(1001, "route removed")
                drained += 1
        self.applied += 1
        self.log.info("config_applied", listeners=len(self.listening), opened=opened,
                      routes=[r.path for r in cfg.routes], max_conns=lim["max_conns"], drained=drained)
        return drained

    def kick(self, sid, code=1008, reason="closed by operator"):
        """Close session ``sid``; False if there is no such session."""
        s = self.sessions.get(sid)
        if s is None:
            return False
        self.log.info("kick", id=sid, peer=s.peer)
        s.kick(code, reason)
        return True

    def ban(self, addr, seconds, reason="console"):
        now = ticks_ms()
        self.bans.ban(addr, ticks_add(now, seconds * 1000), reason, now)
        self.log.info("ban", address=addr, seconds=seconds, reason=reason)

    def _admit(self, stream):
        """At accept, before a byte is read: bans, the drain, and who holds the slots.

        A refused plaintext client gets its status line; a TLS one is cut (it
        cannot read a plaintext answer, and a handshake would cost more).
        """
        addr = stream.peer[0]
        self.log.count("accepted")
        if self.bans.banned(addr, ticks_ms()):
            status, why = 403, "banned"
        elif self.draining:
            status, why = 503, "draining"
        else:
            oldest = 0
            if self.occupancy.pending >= self.occupancy.pending_max and self.unfinished_all:
                oldest = ticks_diff(ticks_ms(), next(iter(self.unfinished_all.values())))
            status = self.occupancy.admit(addr, oldest)
            why = "capacity" if status == 503 else "too many connections from this address"
            if status == EVICT:
                self._evict_unfinished(self.occupancy.victim)
                status = 0
            if not status:
                mine = self.unfinished.get(addr)
                if mine is None:
                    mine = self.unfinished[addr] = {}
                mine[stream] = None
                self.unfinished_all[stream] = ticks_ms()
                return True
        self.log.count("rejected_%d" % status)
        self.log.count("refused_at_accept")
        if self.log.counters.get("refused_at_accept", 0) % 1000 == 1:  # a flood is logged, not every line of it
            self.log.info("refused_at_accept", peer=addr, status=status, why=why,
                          refused=self.log.counters["refused_at_accept"])
        if getattr(stream, "secure", False) or self.refusing >= _MAX_REFUSING:
            stream.abort()  # past the bound a flood's refusals are not answered, only cut
            self.ended += 1
        else:
            # As admission answers the same limits: 5 s for a per-address cap, 1 s for capacity.
            retry = {429: (("Retry-After", "5"),), 503: (("Retry-After", "1"),)}.get(status, ())
            stream.refuse(response_error(status, retry), _LINGER_S)
            self.refusing += 1
            aio.asyncio.get_running_loop().call_later(_LINGER_S, self._refused_gone)
        return False

    def _refused_gone(self):
        self.refusing -= 1
        self.ended += 1

    def established(self, stream):
        """``stream``'s upgrade is done: it leaves the pending share of slots and rings."""
        self.occupancy.establish(stream.peer[0])
        self._forget_unfinished(stream)
        stream.establish()

    def _forget_unfinished(self, stream):
        self.unfinished_all.pop(stream, None)
        mine = self.unfinished.get(stream.peer[0])
        if mine is not None:
            mine.pop(stream, None)
            if not mine:
                del self.unfinished[stream.peer[0]]

    def _evict_unfinished(self, addr):
        """End the oldest unfinished connection of ``addr`` (None: of all) to make room for a newcomer."""
        if addr is None:
            if not self.unfinished_all:
                return
            victim = next(iter(self.unfinished_all))
        else:
            mine = self.unfinished.get(addr)
            if not mine:
                return
            victim = next(iter(mine))
        self._forget_unfinished(victim)
        self.log.count("unfinished_evicted")
        victim.abort()

    async def _on_client(self, stream, listener=None):
        try:
            if isinstance(stream, _tls.MbedTlsStream):
                self.handshaking += 1
                try:
                    await aio.wait_for(stream.handshake(), listener.tls.handshake_ms / 1000)
                except aio.TimeoutError:
                    self.log.count("tls_handshake_timeouts")
                    self.log.info("tls_refused", peer="%s:%s" % stream.peer[:2], why="handshake timeout")
                    stream.abort()
                    return
                except _tls.TlsError as e:
                    self.log.count("tls_handshake_failures")
                    self.log.info("tls_refused", peer="%s:%s" % stream.peer[:2], why=str(e)[:200])
                    stream.abort()
                    return
                finally:
                    self.handshaking -= 1
            self._next_id += 1
            s = Session(self, stream, self._next_id)
            self.sessions[s.id] = s
            try:
                await s.run()
            finally:
                del self.sessions[s.id]
                if self.draining and not self.sessions:
                    self._stopped.set()
        finally:
            self._forget_unfinished(stream)
            self.occupancy.release(stream.peer[0], stream.established)
            self.ended += 1

    async def _reap(self):
        while True:
            await aio.sleep_ms(_TICK_MS)
            now = self.now_ms = self.rings.now = ticks_ms()
            for s in list(self.sessions.values()):
                try:
                    s.tick(now)
                except Exception as e:  # pragma: no cover - a session bug must not stop the reaper
                    s._internal_error(e)
            self._reclaim(now)
            if self.ended >= _TRIM_AFTER:
                # Churn frees all it took, but the C heap keeps it: give it back.
                self.ended = 0
                heap.trim()
                self.log.count("heap_trims")

    def _reclaim(self, now):
        """Take rings back from clients that trickle: a frame or head that holds a ring longer
        than ``timeouts.message_ms`` ends; while fewer than a sixteenth of the pool is free,
        the longest holders (over ``_MIN_HOLD_MS``) end too, oldest first, until it is."""
        lender, pool = self.rings, self.pool
        reserve = max(2, pool.max_rings // 16)
        pressed = pool.available < reserve
        limit = self.cfg.timeouts["message_ms"]
        slow = []
        for stream in lender.holders:
            held = ticks_diff(now, stream.since)
            if held > limit or (pressed and held > _MIN_HOLD_MS):
                slow.append((held, stream))
        if not slow:
            return
        slow.sort(key=lambda hs: -hs[0])
        by_stream = {s.client: s for s in self.sessions.values()}
        for held, stream in slow:
            if held <= limit and pool.available >= reserve:
                continue
            s = by_stream.get(stream)
            if s is None:  # not (or no longer) a session's: a TLS handshake or a closing stream
                stream.abort()
                continue
            s.reclaim("held a ring %d ms" % held if held > limit else "ring pool below its reserve")

    def drain(self):
        """Stop accepting and close every session with 1001 (SIGTERM)."""
        if self.draining:
            return
        self.draining = True
        self._drain_begun.set()
        self.log.info("draining", sessions=len(self.sessions))
        for srv in self.servers:
            srv.close()
        for s in list(self.sessions.values()):
            s.start_close(1001, "going away")
        if not self.sessions:
            self._stopped.set()

    async def serve_forever(self):
        """Start, run until SIGTERM/SIGINT, drain within drain_ms, stop."""
        aio.on_terminate(self.drain)  # before listening: a SIGTERM from then on drains
        await self.start()
        # Wait for the drain to begin, not for it to end: stop() bounds it by drain_ms.
        await self._drain_begun.wait()
        await self.stop()

    async def stop(self):
        """Drain (if not yet), wait at most drain_ms, then abort what is left."""
        self.drain()
        try:
            await aio.wait_for(self._stopped.wait(), self.cfg.timeouts["drain_ms"] / 1000)
        except aio.TimeoutError:
            for s in list(self.sessions.values()):
                s.client.abort()
                if s.backend is not None:
                    s.backend.abort()
        if self._reaper is not None:
            self._reaper.cancel()
        self.log.info("stopped", counters=self.log.counters, at_ms=ticks_ms())
