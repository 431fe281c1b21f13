"""The box behind the console: ``BoxOps`` over a ConfigSession and a running Gateway.

Console commits are applied to the gateway in a task (listeners may open); the
console line that asked gets its answer at once, the log says when the new
config is in service.
"""

from edgegate.console.ops import BoxOps, OpsError
from edgegate.rt import aio, ticks_diff, ticks_ms

from .session import STATE_NAMES


class Box(BoxOps):
    def __init__(self, gateway, session, notes=(), on_reboot=None):
        self.gw = gateway
        self.cs = session
        self.notes = list(notes)
        self.on_reboot = on_reboot
        self._applying = []
        self._prepared = None

    # The ConfigSession calls this before a commit is written: TLS files must load.
    def prepare_config(self, cfg):
        from edgegate.config import ConfigError

        from edgegate.errors import MaterialError

        try:
            self._prepared = (cfg, self.gw.prepare(cfg))
        except MaterialError as e:  # a TLS or a key file: ``prepare`` reads both
            raise ConfigError("tls", str(e)) from None

    # The ConfigSession calls this with each validated Config.
    def apply_config(self, cfg):
        prepared = self._prepared[1] if self._prepared and self._prepared[0] is cfg else None
        self._prepared = None
        task = aio.create_task(self.gw.apply(cfg, prepared))
        self._applying.append(task)
        self._applying = [t for t in self._applying if not t.done()]

    # -- authentication --
    def check_password(self, password):
        return self.cs.check_password(password)

    def set_password(self, old, new):
        return self.cs.set_password(old, new, ticks_ms())

    # -- configuration --
    def running(self):
        return self.cs.running()

    def staged(self):
        return self.cs.staged()

    def set(self, path, value_text):
        self.cs.set(path, value_text)

    def unset(self, path):
        self.cs.unset(path)

    def diff(self):
        return self.cs.diff()

    def commit(self, now_ms, confirm_ms=0):
        return self.cs.commit(now_ms, confirm_ms)

    def confirm(self, now_ms):
        return self.cs.confirm(now_ms)

    def rollback(self, now_ms):
        return self.cs.rollback(now_ms)

    def discard(self):
        self.cs.discard()

    def tick(self, now_ms):
        lines = self.cs.tick(now_ms)
        for line in lines:
            self.gw.log.warn("config_rollback", why=line)
        return lines

    # -- the running gateway --
    def status(self, now_ms):
        gw = self.gw
        cfg = gw.cfg
        out = [
            ("board", cfg.board),
            ("uptime_s", ticks_diff(now_ms, gw.started_ms) // 1000),
            ("config", self.cs.source),
            ("listening", ", ".join("%s:%d" % a for a in gw.addresses) or "nothing"),
            ("sessions", "%d of %d" % (len(gw.sessions), cfg.limits["max_conns"])),
            ("rings", "%d lent of %d (peak %d)" % (gw.pool.lent, gw.pool.max_rings, gw.pool.high_water)),
            ("commits", self.cs.commits),
            ("draining", gw.draining),
        ]
        left = self.cs.pending_remaining_ms(now_ms)
        if left:
            out.append(("pending_confirm_s", left // 1000))
        for n in self.notes:
            out.append(("note", n))
        return out

    def connections(self, now_ms):
        out = []
        for s in self.gw.sessions.values():
            out.append({"id": s.id, "peer": s.peer, "path": s.path, "state": STATE_NAMES[s.state],
                        "age_ms": ticks_diff(now_ms, s.started), "frames_in": s.frames[0],
                        "frames_out": s.frames[1]})
        return out

    def routes(self):
        active = {}
        for s in self.gw.sessions.values():
            if s.route is not None:
                active[id(s.route)] = active.get(id(s.route), 0) + 1
        return [{"path": r.path, "match": "exact" if r.exact else "prefix", "backend": r.backend_url,
                 "messages": _messages_cell(r), "active": active.get(id(r), 0)} for r in self.gw.cfg.routes]

    def kick(self, conn_id):
        if not self.gw.kick(conn_id):
            raise OpsError("no connection %s" % conn_id)

    def bans(self, now_ms):
        return [{"address": a, "remaining_ms": ms, "reason": r} for a, ms, r in self.gw.bans.entries(now_ms)]

    def ban(self, address, seconds, now_ms):
        if not address or " " in address or len(address) > 64:
            raise OpsError("not an address: %s" % address[:64])
        if not 1 <= seconds <= 31 * 86400:
            raise OpsError("seconds must be from 1 to 2678400")
        self.gw.ban(address, seconds)

    def unban(self, address):
        if not self.gw.bans.unban(address):
            raise OpsError("%s is not banned" % address[:64])

    def metrics(self):
        m = dict(self.gw.log.counters)
        m["sessions"] = len(self.gw.sessions)
        m["rings_lent"] = self.gw.pool.lent
        return m

    def log(self, n):
        out = []
        for rec in self.gw.log.last(n):
            fields = " ".join("%s=%s" % (k, rec[k]) for k in rec if k not in ("t", "level", "event"))
            out.append("%s %s %s %s" % (rec["t"], rec["level"], rec["event"], fields))
        return out

    def reboot(self):
        self.gw.log.warn("reboot", why="console")
        if self.on_reboot is not None:
            self.on_reboot()


def _messages_cell(route):
    """The route's pipelines for ``show routes``: ``chat raw.v1=raw``, then ``to client: out`` when
    the route has a backend->client one; "-" when none."""
    parts = [route.messages or "-"]
    for proto in sorted(route.messages_by_subprotocol):
        parts.append("%s=%s" % (proto, route.messages_by_subprotocol[proto]))
    out = getattr(route, "messages_to_client", None)
    by = getattr(route, "messages_to_client_by_subprotocol", {})
    if out or by:
        parts.append("| to client: %s" % (out or "-"))
        for proto in sorted(by):
            parts.append("%s=%s" % (proto, by[proto]))
    return " ".join(parts)
