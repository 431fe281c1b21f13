"""One client session: the upgrade, the backend, and two pumps relaying frames.

States: HANDSHAKE (reading the request, bounded by handshake_ms), CONNECTING
(backend deadline: 502/504 before the 101), RELAY (two pumps), CLOSING
(a close is in flight; abort after close_ms), DONE. Frames are relayed as
they arrive, validated and re-masked in place in the receive buffer, and
written on without a copy. Ping/pong is answered hop by hop; the closing
handshake is carried end to end, so a client's close code reaches the backend
and the backend's answer comes back. On a route with a message policy every
client message passes its chain (``policy.messages``) first: one-frame
messages in place, fragmented ones assembled (bounded by max_message_bytes,
refused as soon as they are too big) and sent on as one frame; a verdict
drops the message or closes both sides, after the frames before it are sent.
"""

import hashlib

from edgegate import rt
from edgegate.policy.admission import Facts
from edgegate.policy.errors import AuthError, MessageRefused, Reject
from edgegate.rt import aio, const, ticks_add, ticks_diff, ticks_ms
from edgegate.ws.buffer import RxBuffer
from edgegate.ws.connection import Connection
from edgegate.ws.errors import HandshakeError
from edgegate.ws.events import CloseReceived, ConnectionFailed, Fragment
from edgegate.ws.frames import remask
from edgegate.ws.handshake import parse_upgrade, response_101, response_error

from .backend import open_backend

HANDSHAKE = const(0)
CONNECTING = const(1)
RELAY = const(2)
CLOSING = const(3)
DONE = const(4)
STATE_NAMES = ("handshake", "connecting", "relay", "closing", "done")

_LINGER_MS = const(1000)
# The close reason a client hears for a refused message, by rule ("message refused: <rule>" otherwise).
_CLOSE_REASONS = {"rate": "rate limit", "capacity": "try again later", "slow": "message too slow"}
_PING_PAYLOAD = b"edgegate"


def _measured(refusal, payload):
    """``refusal`` with what its audit record says of the message: its size and a SHA-256 prefix."""
    refusal.nbytes = len(payload)
    refusal.digest = hashlib.sha256(payload).hexdigest()[:32]
    return refusal


def _flush(stream, conn):
    for out in conn.data_to_send():
        if out:
            stream.write(out)
        else:
            stream.write_eof()


class Session:
    __slots__ = ("gw", "cfg", "messages", "rings", "tls", "identity", "accept", "admission", "expires",
                 "_refresh_checks", "gate", "_asm", "_asm_held", "_asm_key", "_asm_since", "dropped",
                 "id", "client", "backend", "cconn", "bconn", "state", "route", "path", "peer",
                 "started", "client_seen", "pinged", "close_started", "frames", "bytes")

    def __init__(self, gw, stream, sid):
        self.gw = gw
        self.cfg = gw.cfg  # a commit applies to new sessions; this one keeps what it started with
        self.messages = gw.messages  # the message policies of that config
        self.gate = None  # the route's message chain for this session (a MessageGate), or None
        self._asm = None  # a fragmented client message being assembled for the chain
        self._asm_held = 0  # its bytes, counted in the gateway's assembly pool
        self._asm_key = None  # whose share of the pool they count against (principal, else address)
        self._asm_since = 0  # ticks when its first frame came (timeouts.message_ms bounds it)
        self.dropped = 0  # client messages the chain dropped
        self.rings = gw.rings
        self.tls = getattr(stream, "secure", False)
        self.identity = None  # the verified client certificate's facts (TLS with client certs)
        self.accept = None  # the admission decision, held until the session ends
        self.admission = None  # the Admission that holds its places
        self.expires = None  # ticks when the credential expires (plus grace)
        self._refresh_checks = False  # the route takes in-band token refreshes
        self.id = sid
        self.client = stream
        self.backend = None
        self.cconn = None
        self.bconn = None
        self.state = HANDSHAKE
        self.route = None
        self.path = ""
        self.peer = "%s:%s" % (stream.peer[0], stream.peer[1])
        self.started = ticks_ms()
        self.client_seen = self.started
        self.pinged = False
        self.close_started = 0
        self.frames = [0, 0]  # relayed client->backend, backend->client
        self.bytes = [0, 0]

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
            if self.state == RELAY:
                # One extra task (backend to client); this one pumps client to backend.
                back = aio.create_task(self._pump(self.backend, self.bconn, self.client, self.cconn, False))
                await self._pump(self.client, self.cconn, self.backend, self.bconn, True)
                await back
        except aio.CancelledError:
            raise
        except Exception as e:
            self._internal_error(e)
        finally:
            self.state = DONE
            self.release_assembly()
            if self.accept is not None:
                self.admission.release(self.accept, self.client.peer[0])
                self.accept = None
            self.client.close()
            if self.backend is not None:
                self.backend.close()
            if self.cconn is not None:
                gw.log.info("session_end", id=self.id, peer=self.peer, path=self.path,
                            frames_in=self.frames[0], frames_out=self.frames[1],
                            bytes_in=self.bytes[0], bytes_out=self.bytes[1], dropped=self.dropped,
                            client_close=self.cconn.close_rcvd, ms=ticks_diff(ticks_ms(), self.started))

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
        self._refresh_checks = acc.route.policy.refresh is not None and acc.method == "jwt"
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
        pname = route.message_policy_for(protocol)
        if pname is not None:
            self._asm_key = acc.principal or "addr:" + self.client.peer[0]
            self.gate = self.messages[pname].gate(ticks_ms(), self._asm_key)
        self.cconn = Connection(False, lim["rx_ring_bytes"], lim["max_frame_bytes"],
                                lim["max_message_bytes"], assemble=False, rx=self.client.rx,
                                defer_fail_close=True, own_rx=False,
                                raw_binary=self.gate is None or not self.gate.policy.needs_binary_content())
        self.bconn = Connection(True, lim["rx_ring_bytes"], lim["max_frame_bytes"],
                                lim["max_message_bytes"], assemble=False, rand_bytes=rt.rand_bytes,
                                rx=self.backend.rx, defer_fail_close=True, own_rx=False)
        self.client.write(response_101(req.key, protocol))
        self.state = RELAY
        gw.established(self.client)
        self.client_seen = ticks_ms()
        gw.log.count("upgrades")
        ident = self.identity
        if acc.expires_s is not None:
            left_ms = int((acc.expires_s - rt.wall_s()) * 1000) + self.cfg.jwt.grace_s * 1000
            self.expires = ticks_add(ticks_ms(), max(0, left_ms))
        gw.log.info("session_open", id=self.id, peer=self.peer, path=req.path,
                    backend=route.backend_url, protocol=protocol, principal=acc.principal, auth=acc.method,
                    messages=pname,
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

    # ---- relaying ---------------------------------------------------------

    async def _pump(self, src, sconn, dst, dconn, to_backend):
        try:
            high = self.cfg.limits["write_buffer_bytes"]
            while True:
                sconn.rx = src.rx
                sconn.receive_buffered()
                evs = sconn.events()
                if evs:
                    self._relay(evs, src, sconn, dst, dconn, to_backend)
                _flush(src, sconn)
                src.release_rx()  # back to the pool once every byte in it is parsed
                if dst.write_buffer_size > high:
                    await dst.drain()
                if src.write_buffer_size > high:
                    # Pongs and closes answered to a peer that does not read: stop
                    # reading it until it does (its idle deadline then ends it).
                    self.gw.log.count("write_stalls")
                    await src.drain()
                if await src.fill() == 0:
                    sconn.receive_eof()
                    evs = sconn.events()
                    if evs:
                        self._relay(evs, src, sconn, dst, dconn, to_backend)
                    src.release_rx()  # a side that has ended holds no ring while the other finishes
                    return
                if to_backend:
                    self.client_seen = ticks_ms()
                    self.pinged = False
        except aio.CancelledError:
            raise
        except Exception as e:
            self._internal_error(e)

    def _relay(self, evs, src, sconn, dst, dconn, to_backend):
        d = 0 if to_backend else 1
        rx = src.rx
        # Frames parsed from one read sit back to back in the ring: each run of
        # them goes out in one write (one syscall), not one write per frame.
        run_a = run_b = -1
        nframes = nbytes = 0
        for ev in evs:
            t = type(ev)
            if t is Fragment:
                if not dconn.can_send:
                    continue
                if to_backend and (self.gate is not None or self._refresh_checks):
                    verdict = self._client_frame(ev)
                    if verdict is not None:
                        # Held (a fragment being assembled), consumed, dropped or refused:
                        # what came before goes on first; this frame does not.
                        if run_a >= 0:
                            dst.write_view(rx.mv[run_a:run_b])
                            run_a = run_b = -1
                        if verdict is False:
                            continue
                        if isinstance(verdict, Exception):
                            self._refused(verdict)
                            continue
                        if dconn.can_send:
                            # A fragmented message that passed goes on as one frame.
                            dconn.send_frame(1 if ev.text else 2, verdict, True)
                            _flush(dst, dconn)
                            nframes += 1
                            nbytes += len(verdict)
                        continue
                n = ev.pend - ev.pstart
                if to_backend:
                    remask(rx.buf, ev.pstart, ev.pend, rt.mask_key(), ev.masked)
                if ev.hstart != run_b:
                    if run_a >= 0:
                        dst.write_view(rx.mv[run_a:run_b])
                    run_a = ev.hstart
                run_b = ev.pend
                nframes += 1
                nbytes += n
                continue
            if run_a >= 0:  # what came before this event goes out before its effects
                dst.write_view(rx.mv[run_a:run_b])
                run_a = run_b = -1
            if t is CloseReceived:
                if dconn.can_send:
                    code, reason = ev.code, ev.reason
                    if dconn.close_rcvd and dconn.close_rcvd != code:
                        # An answer to a close the other side started: that side
                        # hears its own code echoed (RFC 6455 5.5.1).
                        code, reason = dconn.close_rcvd, ""
                    self._close(not to_backend, code, reason)
                self._closing()
            elif t is ConnectionFailed:
                self.gw.log.info("peer_failed", id=self.id, side="client" if to_backend else "backend",
                                 code=ev.code, why=ev.reason)
                if to_backend and ev.code != 1006 and self.admission is not None:
                    self.admission.protocol_failure(self.client.peer[0], ticks_ms())
                self.gw.log.count("failed_%d" % ev.code)
                if dconn.can_send:
                    # The other side did nothing wrong: it hears that its peer went
                    # away (a client hears 1014, bad gateway) and answers what it
                    # already had; that still reaches the failed side, whose own
                    # 1002/1007/1009 goes out when the answer's close arrives.
                    if to_backend:
                        self._close(False, 1001, "peer failed")
                    else:
                        self._close(True, 1014, "bad gateway")
                elif ev.code != 1006 and sconn.can_send:
                    self._close(to_backend, ev.code, "")
                self._closing()
        if run_a >= 0:
            dst.write_view(rx.mv[run_a:run_b])
        self.frames[d] += nframes
        self.bytes[d] += nbytes

    def _client_frame(self, ev):
        """The route's message chain and token refresh on the client frame ``ev``.

        None: relay the frame as it is. False: held (a fragment being
        assembled), consumed (a refresh) or the rest of a refused message.
        An exception (MessageRefused or AuthError): the verdict, for the
        caller to apply once the frames before this one are written. Bytes:
        a fragmented message that passed, whole, to send as one frame.

        A one-frame message is judged in place in the ring. A fragmented one
        is collected, its type and size checked at every frame (so it is
        refused as soon as it is too big), and judged whole at its last frame.
        """
        gate = self.gate
        payload = None
        n = ev.pend - ev.pstart
        try:
            if ev.fin and ev.opcode != 0:
                payload = ev.payload
                if gate is not None:
                    gate.charge(n, ticks_ms())  # first: a flood of refresh messages is rate-limited too
                if self._refresh_checks and ev.text and self._refresh(payload):
                    return False  # a refresh is judged by its own rules, not the route's type or size
                if gate is not None:
                    gate.start(ev.text, n)
                    gate.inspect(ev.text, payload)
                return None
            if gate is None:
                return None
            if ev.opcode != 0:
                gate.start(ev.text, n)
                self._hold(n)
                self._asm = bytearray(ev.payload)
                self._asm_since = ticks_ms()
            elif self._asm is not None:
                gate.grow(len(self._asm) + n)
                self._hold(n)
                self._asm += ev.payload
            else:
                return False  # the rest of a message already refused or dropped
            if ev.masked:  # binary the parser left masked (the chain does not read binary): unmask the copy
                end = len(self._asm)
                rt.apply_mask(self._asm, self._frame_key(ev), end - n, end)
            if not ev.fin:
                return False
            payload = self._asm
            self.release_assembly()
            gate.charge(len(payload), ticks_ms())
            gate.inspect(ev.text, payload)
            return payload
        except MessageRefused as r:
            if payload is not None and not (ev.fin and ev.opcode != 0):
                seen = payload  # a whole assembled message (unmasked as it was collected)
            elif payload is None and self._asm is not None:
                seen = self._asm  # what was collected before this frame
            else:
                seen = ev.payload  # this frame alone
                if ev.masked:  # audit the bytes the client meant, not their mask
                    seen = bytearray(seen)
                    rt.apply_mask(seen, self._frame_key(ev), 0, len(seen))
            self.release_assembly()
            return _measured(r, seen)
        except AuthError as e:
            return e

    def _frame_key(self, ev):
        """The masking key of client frame ``ev``: the 4 bytes before its payload in the ring."""
        return bytes(self.client.rx.mv[ev.pstart - 4:ev.pstart])

    def _hold(self, n):
        """Count ``n`` more assembled bytes against the gateway-wide assembly pool and this
        session's key's share of it (its principal, else its address): 1013 when either is full."""
        gw = self.gw
        lim = self.cfg.limits
        pool = lim["assembly_pool_bytes"]
        key = self._asm_key
        mine = gw.assembling_by.get(key, 0)
        if gw.assembling + n > pool or mine + n > max(lim["max_message_bytes"], pool // 8):
            gw.log.count("assembly_pool_full")
            raise MessageRefused(1013, "capacity", "the assembly pool is full" if gw.assembling + n > pool
                                 else "this client's share of the assembly pool is full")
        gw.assembling += n
        gw.assembling_by[key] = mine + n
        self._asm_held += n

    def release_assembly(self):
        """Give the assembled bytes back to the pool (message done, refused, or session over)."""
        held = self._asm_held
        if held:
            gw = self.gw
            gw.assembling -= held
            left = gw.assembling_by.get(self._asm_key, 0) - held
            if left > 0:
                gw.assembling_by[self._asm_key] = left
            else:
                gw.assembling_by.pop(self._asm_key, None)
            self._asm_held = 0
        self._asm = None

    def _refused(self, e):
        """Apply a verdict of ``_client_frame``: audit it; drop the message or close the session."""
        gw = self.gw
        principal = self.accept.principal if self.accept else None
        if not isinstance(e, MessageRefused):  # AuthError: a refresh token refused
            gw.log.info("audit", what="closed", id=self.id, peer=self.peer, principal=principal,
                        reason="token refresh refused: %s" % e)
            self.start_close(1008, "token refresh refused")
            return
        gw.log.count("messages_refused_" + e.rule)
        gw.log.info("audit", what="message_dropped" if e.drop else "message_refused", id=self.id, peer=self.peer,
                    principal=principal, route=self.route.path, policy=self.gate.policy.name, rule=e.rule,
                    detail=e.detail, code=e.code, bytes=e.nbytes, sha256=e.digest)
        if e.drop:
            self.dropped += 1
            return
        self.start_close(e.code, _CLOSE_REASONS.get(e.rule, "message refused: " + e.rule))

    def _refresh(self, payload):
        """True when ``payload`` was the route's refresh message (consumed, session extended).

        Raises:
            AuthError: it was a refresh message, and its token is refused.
        """
        exp = self.admission.refresh(self.accept, payload, rt.wall_s())
        if exp is None:
            return False
        left_ms = int((exp - rt.wall_s()) * 1000) + self.cfg.jwt.grace_s * 1000
        self.expires = ticks_add(ticks_ms(), max(0, left_ms))
        self.gw.log.info("audit", what="refreshed", id=self.id, principal=self.accept.principal)
        return True

    def _close(self, to_client, code, reason):
        """Send one side its close; a side that failed hears its failure's code instead."""
        conn, stream = (self.cconn, self.client) if to_client else (self.bconn, self.backend)
        f = conn.failure
        if f is not None and f.close_code != 1006:
            code, reason = f.close_code, f.reason
        conn.send_close(code, reason)
        _flush(stream, conn)

    def _closing(self):
        if self.state == RELAY:
            self.state = CLOSING
            self.close_started = ticks_ms()

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

    def kick(self, code, reason):
        """Operator's close: a session not yet relaying is simply cut."""
        if self.state in (RELAY, CLOSING):
            self.start_close(code, reason)
        else:
            self.client.abort()

    def start_close(self, code, reason):
        """Close both sides with ``code`` (idle timeout, drain, kick)."""
        if self.cconn is not None and self.cconn.can_send:
            self._close(True, code, reason)
        if self.bconn is not None and self.bconn.can_send:
            self._close(False, code, reason)
        self._closing()

    def _internal_error(self, e):
        self.gw.log.count("internal_errors")
        self.gw.log.error("session_error", id=self.id, peer=self.peer, state=STATE_NAMES[self.state],
                          error="%s: %s" % (type(e).__name__, e))
        try:
            if self.cconn is not None:
                if self.cconn.can_send:
                    self.cconn.send_close(1011, "internal error")
                    _flush(self.client, self.cconn)
            else:
                self.client.write(response_error(500))
            if self.bconn is not None and self.bconn.can_send:
                self.bconn.send_close(1011, "internal error")
                _flush(self.backend, self.bconn)
        except Exception:  # pragma: no cover - the transport itself is broken
            pass
        self.client.close()
        if self.backend is not None:
            self.backend.close()

    # ---- timers (driven by the gateway's reaper) --------------------------

    def tick(self, now):
        """Apply idle, keepalive and close deadlines at time ``now`` (ms)."""
        t = self.cfg.timeouts
        if self.state == RELAY:
            quiet = ticks_diff(now, self.client_seen)
            if self._asm is not None and ticks_diff(now, self._asm_since) > t["message_ms"]:
                # A fragmented message that does not finish holds pool bytes: slowloris by message.
                r = _measured(MessageRefused(1008, "slow", "not finished within %d ms" % t["message_ms"]), self._asm)
                self.release_assembly()
                self._refused(r)
            elif self.expires is not None and ticks_diff(now, self.expires) >= 0:
                # RFC 6455 7.4.1: 1008, the session's credential ran out.
                self.expires = None
                self.gw.log.count("credential_expired")
                self.gw.log.info("audit", what="closed", id=self.id, peer=self.peer,
                                 principal=self.accept.principal if self.accept else None,
                                 reason="credential expired")
                self.start_close(1008, "token expired")
            elif quiet > t["idle_ms"]:
                self.gw.log.count("idle_timeouts")
                self.start_close(1001, "idle timeout")
            elif quiet > t["ping_interval_ms"] and not self.pinged and self.cconn.can_send:
                self.pinged = True
                self.cconn.send_ping(_PING_PAYLOAD)
                _flush(self.client, self.cconn)
        elif self.state == CLOSING and ticks_diff(now, self.close_started) > t["close_ms"]:
            self.gw.log.count("close_timeouts")
            self.state = DONE
            for to_client, conn, stream in ((True, self.cconn, self.client), (False, self.bconn, self.backend)):
                f = conn.failure
                if conn.can_send and ((f is not None and f.close_code != 1006) or conn.close_rcvd):
                    # A side that failed hears its failure's code; a side whose close
                    # the other never answered hears its own code back (RFC 6455
                    # 5.5.1: a received close MUST be answered).
                    self._close(to_client, conn.close_rcvd or 1001, "")
                    stream.close()
                else:
                    stream.abort()


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
