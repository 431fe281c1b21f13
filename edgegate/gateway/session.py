"""One client session: the upgrade, the backend, and the pump that feeds the relay core.

States: HANDSHAKE (reading the request, bounded by handshake_ms), CONNECTING
(backend deadline: 502/504 before the 101), then the relay core's RELAY,
CLOSING and DONE (``edgegate.relay.core``). This module owns the streams and
their waits only: it reads, hands bytes, ends and ticks to the ``Relay``, and
performs the actions it returns (forward a run of frames without a copy,
write, half-close, close, abort, count and log). Every protocol and policy
decision after the 101 is the core's.
"""

from edgegate import rt
from edgegate.policy.admission import Facts
from edgegate.policy.errors import Reject
from edgegate.relay.actions import BACKEND, CLIENT, Abort, Close, EndWrite, Forward, Note, PeerFault, Write
from edgegate.relay.core import CLOSING, DONE, RELAY, Relay
from edgegate.rt import aio, const, ticks_add, ticks_diff, ticks_ms
from edgegate.ws.buffer import RxBuffer
from edgegate.ws.connection import Connection
from edgegate.ws.errors import HandshakeError
from edgegate.ws.handshake import parse_upgrade, response_101, response_error

from .backend import open_backend

HANDSHAKE = const(0)
CONNECTING = const(1)
STATE_NAMES = ("handshake", "connecting", "relay", "closing", "done")

_LINGER_MS = const(1000)


class Session:
    __slots__ = ("gw", "cfg", "pipelines", "rings", "tls", "identity", "accept", "admission", "relay",
                 "id", "client", "backend", "_state", "route", "path", "peer", "started")

    def __init__(self, gw, stream, sid):
        self.gw = gw
        self.cfg = gw.cfg  # a commit applies to new sessions; this one keeps what it started with
        self.pipelines = gw.pipelines  # the message pipelines of that config
        self.rings = gw.rings
        self.tls = getattr(stream, "secure", False)
        self.identity = None  # the verified client certificate's facts (TLS with client certs)
        self.accept = None  # the admission decision, held until the session ends
        self.admission = None  # the Admission that holds its places
        self.relay = None  # the relay core, from the 101 on
        self.id = sid
        self.client = stream
        self.backend = None
        self._state = HANDSHAKE
        self.route = None
        self.path = ""
        self.peer = "%s:%s" % (stream.peer[0], stream.peer[1])
        self.started = ticks_ms()

    @property
    def state(self):
        return self.relay.state if self.relay is not None else self._state

    @state.setter
    def state(self, value):
        if self.relay is not None:
            self.relay.state = value
        else:
            self._state = value

    @property
    def frames(self):
        return self.relay.frames if self.relay is not None else [0, 0]

    # ---- the upgrade ----------------------------------------------------

    async def run(self):
        gw = self.gw
        try:
            try:
                req = await aio.wait_for(self._read_upgrade(), self.cfg.timeouts["handshake_ms"] / 1000)
            except aio.TimeoutError:
                await self._reject(408, (), "handshake timeout")
                return
            if req is None:
                return
            await self._connect(req)
            req = None  # the head's strings are not kept for the session's life
            if self.relay is not None and self.state == RELAY:
                # One extra task (backend to client); this one pumps client to backend.
                back = aio.create_task(self._pump(BACKEND))
                await self._pump(CLIENT)
                await back
        except aio.CancelledError:
            raise
        except Exception as e:
            self._internal_error(e)
        finally:
            r = self.relay
            if r is not None:
                r.done()
            self._state = DONE
            if self.accept is not None:
                self.admission.release(self.accept, self.client.peer[0])
                self.accept = None
            self.client.close()
            if self.backend is not None:
                self.backend.close()
            if r is not None:
                gw.log.info("session_end", id=self.id, peer=self.peer, path=self.path,
                            frames_in=r.frames[0], frames_out=r.frames[1], bytes_in=r.bytes[0], bytes_out=r.bytes[1],
                            dropped=r.dropped[0], dropped_out=r.dropped[1], client_close=r.conns[0].close_rcvd,
                            ms=ticks_diff(ticks_ms(), self.started))

    async def _read_upgrade(self):
        """Read the upgrade request; None when the client left or was answered with an error.

        A head that arrives in pieces is copied out of the ring into a buffer of
        its own (at most ``max_header_bytes``) while the rest is awaited, so an
        unfinished head never holds a ring that established sessions need.
        """
        lim = self.cfg.limits
        client = self.client
        held = None  # the unfinished head so far
        while True:
            if await client.fill() == 0:
                return None
            rx = client.rx
            src, n = rx, 0
            if held is not None:
                n = held.write(rx.mv[rx.start:rx.end])
                src = held
            try:
                req = parse_upgrade(src, lim["max_header_bytes"], lim["max_headers"], lim["max_request_line"])
            except HandshakeError as e:
                await self._reject(e.status, e.headers, str(e))
                return None
            if req is None:
                if held is None:
                    held = RxBuffer(lim["max_header_bytes"] + 4)  # + the CRLFCRLF that ends a full-size head
                    n = held.write(rx.mv[rx.start:rx.end])
                rx.skip(n)
                rx.need = 0
                client.release_rx()
                continue
            if held is not None:  # what followed the head came in this read: it stays in the ring
                rx.skip(n - len(held))
            client.release_rx()  # no ring is held while the backend is dialled
            return req

    async def _connect(self, req):
        gw = self.gw
        self.path = req.path
        if gw.draining:
            # The listeners are closed: a request finished now is refused like a new connection.
            await self._reject(503, (("Retry-After", "1"),), "draining")
            return
        if self.client.peer_cert is not None:
            from .tls import identity

            self.identity = identity(self.client.peer_cert)
        facts = Facts(req.path, req.query, req.headers, req.protocols, self.client.peer[0], self.identity)
        try:
            acc = gw.admission.decide(facts, ticks_ms(), rt.wall_s())
        except Reject as r:
            await self._reject(r.status, r.headers, r.reason)
            return
        self.accept = acc
        self.admission = gw.admission
        route = acc.route
        self.route = route
        self.state = CONNECTING
        try:
            self.backend, protocol = await aio.wait_for(
                open_backend(route, req, self.cfg.limits, self.client.peer[0], self.rings,
                             gw.tls_backends.get((route.path, route.exact, route.backend_url)),
                             "wss" if self.tls else "ws", acc),
                self.cfg.timeouts["backend_connect_ms"] / 1000,
            )
        except aio.TimeoutError:
            await self._reject(504, (), "backend timeout")
            return
        except HandshakeError as e:
            await self._reject(e.status, (), str(e))
            return
        lim = self.cfg.limits
        now = ticks_ms()
        key = acc.principal or "addr:" + self.client.peer[0]
        chains = self._chains(route, protocol, key, now)
        cconn = Connection(False, lim["rx_ring_bytes"], lim["max_frame_bytes"], lim["max_message_bytes"],
                           assemble=False, rx=self.client.rx, defer_fail_close=True, own_rx=False,
                           raw_binary=chains[0] is None or not chains[0].reads_binary)
        bconn = Connection(True, lim["rx_ring_bytes"], lim["max_frame_bytes"], lim["max_message_bytes"],
                           assemble=False, rand_bytes=rt.rand_bytes, rx=self.backend.rx,
                           defer_fail_close=True, own_rx=False)
        expires = None
        if acc.expires_s is not None:
            expires = ticks_add(now, max(0, int((acc.expires_s - rt.wall_s()) * 1000) + self.cfg.jwt.grace_s * 1000))
        refresh = self._refresh if route.policy.refresh is not None and acc.method == "jwt" else None
        self.relay = Relay(cconn, bconn, self.cfg.timeouts, now, rt.mask_key, chains, gw.assembly, key, expires,
                           refresh, {"id": self.id, "peer": self.peer, "principal": acc.principal,
                                     "route": route.path}, rt.wall_s)
        self.client.write(response_101(req.key, protocol))
        self.state = RELAY
        gw.established(self.client)
        gw.log.count("upgrades")
        ident = self.identity
        gw.log.info("session_open", id=self.id, peer=self.peer, path=req.path,
                    backend=route.backend_url, protocol=protocol, principal=acc.principal, auth=acc.method,
                    messages=[getattr(c, "name", None) for c in chains] if chains != (None, None) else None,
                    client_cert=None if ident is None else ident["fingerprint_sha256"][:16])
        if gw.draining:
            # The drain began while the backend was answering: this session gets its 1001 too.
            self.start_close(1001, "going away")

    async def _reject(self, status, headers, why):
        gw = self.gw
        gw.log.count("rejected_%d" % status)
        gw.log.info("reject", id=self.id, peer=self.peer, status=status, why=why)
        self.client.write(response_error(status, headers))
        await linger_close(self.client)

    def _chains(self, route, protocol, key, now):
        """The pipelines of both directions for this session (None where the route has none)."""
        try:
            from edgegate.pipeline import Facts as StepFacts
        except ImportError:
            from .legacy_chain import Facts as StepFacts

        facts = StepFacts(self.accept.principal, route.path, protocol, self.gw.box_id, self.client.peer[0])
        out = []
        for direction in ("client", "backend"):
            if hasattr(route, "pipeline_for"):
                name = route.pipeline_for(direction, protocol)
            else:
                name = route.message_policy_for(protocol) if direction == "client" else None
            out.append(self.pipelines[name].session(now, key, facts) if name is not None else None)
        return tuple(out)

    def _refresh(self, payload):
        """The route's in-band token refresh (see ``Relay``): None, or the new expiry in ticks."""
        exp = self.admission.refresh(self.accept, payload, rt.wall_s())
        if exp is None:
            return None
        self.gw.log.info("audit", what="refreshed", id=self.id, principal=self.accept.principal)
        return ticks_add(ticks_ms(), max(0, int((exp - rt.wall_s()) * 1000) + self.cfg.jwt.grace_s * 1000))

    async def _reject(self, status, headers, why):
        gw = self.gw
        gw.log.count("rejected_%d" % status)
        gw.log.info("reject", id=self.id, peer=self.peer, status=status, why=why)
        self.client.write(response_error(status, headers))
        await linger_close(self.client)

    # ---- the pump -----------------------------------------------------------

    async def _pump(self, side):
        src = self.client if side == CLIENT else self.backend
        dst = self.backend if side == CLIENT else self.client
        high = self.cfg.limits["write_buffer_bytes"]
        try:
            while True:
                self._relay(side, src.rx)
                src.release_rx()  # back to the pool once every byte in it is parsed
                if dst.write_buffer_size > high:
                    await dst.drain()
                if src.write_buffer_size > high:
                    # Pongs and closes answered to a peer that does not read: stop
                    # reading it until it does (its idle deadline then ends it).
                    self.gw.log.count("write_stalls")
                    await src.drain()
                if await src.fill() == 0:
                    self._perform(self.relay.eof(side, ticks_ms()), None)
                    src.release_rx()  # a side that has ended holds no ring while the other finishes
                    return
        except aio.CancelledError:
            raise
        except Exception as e:
            self._internal_error(e)

    def _relay(self, side, rx):
        self._perform(self.relay.received(side, rx, ticks_ms()), rx)

    def _perform(self, actions, rx):
        gw = self.gw
        for a in actions:
            t = type(a)
            if t is Forward:
                (self.backend if a.side else self.client).write_view(rx.mv[a.start:a.end])
            elif t is Write:
                (self.backend if a.side else self.client).write(a.data)
            elif t is Note:
                if a.count is not None:
                    gw.log.count(a.count)
                if a.event is not None:
                    gw.log.info(a.event, **a.fields)
            elif t is EndWrite:
                (self.backend if a.side else self.client).write_eof()
            elif t is Close:
                (self.backend if a.side else self.client).close()
            elif t is Abort:
                (self.backend if a.side else self.client).abort()
            elif t is PeerFault and self.admission is not None:
                self.admission.protocol_failure(self.client.peer[0], ticks_ms())

    # ---- from outside: the reaper, the operator, the ring reclaimer ------------

    def tick(self, now):
        """Apply the relay's deadlines at ``now`` (ms); the reaper calls this."""
        if self.relay is not None:
            self._perform(self.relay.tick(now), None)

    def start_close(self, code, reason):
        """Close both sides with ``code`` (idle timeout, drain, kick, route removed)."""
        if self.relay is not None:
            self._perform(self.relay.start_close(code, reason, ticks_ms()), None)

    def kick(self, code, reason):
        """Operator's close: a session not yet relaying is simply cut."""
        if self.state in (RELAY, CLOSING):
            self.start_close(code, reason)
        else:
            self.client.abort()

    def reclaim(self, why):
        """Take back the ring a trickling peer holds: a head gets 408, a session 1008; both end."""
        gw = self.gw
        gw.log.count("rings_reclaimed")
        gw.log.info("ring_reclaimed", id=self.id, peer=self.peer, state=STATE_NAMES[self.state], why=why)
        if self.state == HANDSHAKE:
            self.client.write(response_error(408))
        elif self.state in (RELAY, CLOSING):
            self.start_close(1008, "too slow")
        self.client.close()  # gives the ring back now, whatever it held

    def _internal_error(self, e):
        self.gw.log.count("internal_errors")
        self.gw.log.error("session_error", id=self.id, peer=self.peer, state=STATE_NAMES[self.state],
                          error="%s: %s" % (type(e).__name__, e))
        try:
            if self.relay is None:
                self.client.write(response_error(500))
            else:
                for side, stream in ((CLIENT, self.client), (BACKEND, self.backend)):
                    conn = self.relay.conns[side]
                    if conn.can_send:
                        conn.send_close(1011, "internal error")
                        for out in conn.data_to_send():
                            stream.write(out) if out else stream.write_eof()
        except Exception:  # pragma: no cover - the transport itself is broken
            pass
        self.client.close()
        if self.backend is not None:
            self.backend.close()


async def linger_close(stream):
    """Half-close, then read and drop what the peer still sends (bounded), then close.

    Closing with unread input makes the kernel send RST, which can destroy the
    answer just written; a short linger lets the peer read it.
    """
    stream.write_eof()

    async def _drain_input():
        while await stream.fill():
            stream.rx.clear()

    try:
        await aio.wait_for(_drain_input(), _LINGER_MS / 1000)
    except aio.TimeoutError:
        pass
    stream.close()
