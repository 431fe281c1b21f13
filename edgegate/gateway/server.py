"""The gateway: listeners, the fixed session table, the reaper, and the drain on SIGTERM.

At most ``limits.max_conns`` sessions exist; a connection beyond that gets 503
at once. A reaper task wakes every ``_TICK_MS`` to apply each session's idle,
keepalive and close deadlines, so no per-frame timers exist. On SIGTERM the
listeners close, every session gets close 1001, and the process waits at most
``timeouts.drain_ms`` for them to finish.
"""

from edgegate.rt import aio, const, net, ticks_ms
from edgegate.ws.buffer import RingPool
from edgegate.ws.handshake import response_error

from .log import Log
from .session import Session, linger_close

_TICK_MS = const(200)


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
        self.rings = net.Lender(self.pool)

    async def start(self):
        """Open every listener; ``addresses`` then holds the bound (host, port)s."""
        lim = self.cfg.limits
        for ln in self.cfg.listeners:
            srv = await net.serve(ln.host, ln.port, self._on_client, self.rings,
                                  high_water=lim["write_buffer_bytes"])
            self.servers.append(srv)
            for s in srv.sockets:
                self.addresses.append(s.getsockname()[:2])
        self._reaper = aio.create_task(self._reap())
        self.log.info("listening", addresses=["%s:%d" % a for a in self.addresses],
                      board=self.cfg.board, max_conns=lim["max_conns"], ring_pool_rings=lim["ring_pool_rings"],
                      routes=[r.path for r in self.cfg.routes])

    async def _on_client(self, stream):
        self.log.count("accepted")
        if self.draining or len(self.sessions) >= self.cfg.limits["max_conns"]:
            self.log.count("rejected_503")
            stream.write(response_error(503, (("Retry-After", "1"),)))
            await linger_close(stream)
            return
        self._next_id += 1
        s = Session(self, stream, self._next_id)
        self.sessions[s.id] = s
        try:
            await s.run()
        finally:
            del self.sessions[s.id]
            if self.draining and not self.sessions:
                self._stopped.set()

    async def _reap(self):
        while True:
            await aio.sleep_ms(_TICK_MS)
            now = ticks_ms()
            for s in list(self.sessions.values()):
                try:
                    s.tick(now)
                except Exception as e:  # pragma: no cover - a session bug must not stop the reaper
                    s._internal_error(e)

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
        await self.start()
        aio.on_terminate(self.drain)
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
