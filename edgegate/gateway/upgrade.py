"""The HTTP side of a session: read the upgrade, admit it, dial the backend, answer 101 or an error.

A head that arrives in pieces is copied out of the ring into a buffer of its
own (at most ``max_header_bytes``) while the rest is awaited, so an unfinished
head never holds a ring. Admission (``policy.admission``) decides; the backend
is dialled within ``backend_connect_ms`` (502/504 before the 101). On the 101
the session's ``Relay`` is built: its connections, both directions' pipelines,
the assembly pool's key, the credential's expiry and refresh.
"""

from edgegate import rt
from edgegate.pipeline import Facts as StepFacts
from edgegate.policy.admission import Facts
from edgegate.policy.errors import Reject
from edgegate.relay.core import Relay
from edgegate.rt import aio, const, ticks_add, ticks_ms
from edgegate.ws.buffer import RxBuffer
from edgegate.ws.connection import Connection
from edgegate.ws.errors import HandshakeError
from edgegate.ws.handshake import parse_upgrade, response_101, response_error

from .backend import open_backend

CONNECTING = const(1)
_LINGER_MS = const(1000)


class Upgrade:
    """The upgrade half of ``Session`` (a mixin: it reads and sets the session's fields)."""

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
        self._state = CONNECTING
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
        expires = None if acc.expires_s is None else self._expiry(acc.expires_s, now)
        refresh = self._refresh if route.policy.refresh is not None and acc.method == "jwt" else None
        self.relay = Relay(cconn, bconn, self.cfg.timeouts, now, rt.mask_key, chains, gw.assembly, key, expires,
                           refresh, {"id": self.id, "peer": self.peer, "principal": acc.principal,
                                     "route": route.path}, rt.wall_s)
        self.client.write(response_101(req.key, protocol))
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

    def _chains(self, route, protocol, key, now):
        """The pipelines of both directions for this session (None where the route has none)."""
        facts = StepFacts(self.accept.principal, route.path, protocol, self.gw.box_id, self.client.peer[0])
        out = []
        for direction in ("client", "backend"):
            name = route.pipeline_for(direction, protocol)
            out.append(self.pipelines[name].session(now, key, facts) if name is not None else None)
        return tuple(out)

    def _refresh(self, payload):
        """The route's in-band token refresh (see ``Relay``): None, or the new expiry in ticks."""
        exp = self.admission.refresh(self.accept, payload, rt.wall_s())
        if exp is None:
            return None
        self.gw.log.info("audit", what="refreshed", id=self.id, principal=self.accept.principal)
        return self._expiry(exp, ticks_ms())

    def _expiry(self, exp_s, now):
        """Ticks at which a credential expiring at wall-clock ``exp_s`` ends the session (plus grace_s)."""
        return ticks_add(now, max(0, int((exp_s - rt.wall_s()) * 1000) + self.cfg.jwt.grace_s * 1000))

    async def _reject(self, status, headers, why):
        gw = self.gw
        gw.log.count("rejected_%d" % status)
        gw.log.info("reject", id=self.id, peer=self.peer, status=status, why=why)
        self.client.write(response_error(status, headers))
        await linger_close(self.client)


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
