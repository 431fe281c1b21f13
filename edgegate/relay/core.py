"""The relay core: one client+backend pair after the 101, as a state machine with no I/O.

Everything that affects the relay's state lives in this file. The pump hands
in what happened (``received(side, rx, now_ms)``: bytes committed into that
side's receive buffer; ``eof(side, now_ms)``; ``tick(now_ms)``; an operator's
``start_close``/``kick``; a ring ``reclaim``) and performs the actions it gets
back (``relay.actions``), in order. The core owns:

- the two RFC 6455 connections and the closing handshake, carried end to end:
  a close from one side goes to the other, the answer comes back, and the
  close-code arbitration is the table in ``relay.closing``;
- frame relaying: frames parsed from one read go out as runs (one write each),
  re-masked in place for the backend, never copied;
- the message pipelines of both directions (``pipeline.Chain``): a one-frame
  message is judged in place; a fragmented one is assembled against the
  ``AssemblyPool`` (1013 when full, 1008 when not finished within
  ``timeouts.message_ms``) and goes on as one frame; a step may drop it, refuse
  it (close both sides) or replace it (the new payload goes out as one frame);
- the route's in-band token refresh, the credential's expiry (1008 at
  ``expires``), idle and keepalive deadlines, and the close deadline.

States: RELAY (both ways open), CLOSING (a close is in flight: cut after
``close_ms``), DONE.
"""

import hashlib
from binascii import hexlify

from edgegate.policy.errors import AuthError, MessageRefused
from edgegate.rt import apply_mask, const, ticks_diff
from edgegate.ws.events import CloseReceived, ConnectionFailed, Fragment
from edgegate.ws.frames import remask

from .actions import BACKEND, CLIENT, SIDE_NAMES, Abort, Close, EndWrite, Forward, Note, PeerFault, Write
from .closing import PEER_FAILED, UNANSWERED, refusal_reason

RELAY = const(2)
CLOSING = const(3)
DONE = const(4)

_PING_PAYLOAD = b"edgegate"


def _measured(refusal, payload):
    """``refusal`` with what its audit record says of the message: its size and a SHA-256 prefix."""
    refusal.nbytes = len(payload)
    refusal.digest = hexlify(hashlib.sha256(bytes(payload)).digest())[:32].decode()
    return refusal


class _Assembly:
    """A fragmented message being assembled for one direction's pipeline."""

    __slots__ = ("data", "held", "since")

    def __init__(self, data, since):
        self.data = data
        self.held = 0
        self.since = since


class Relay:
    """One relayed pair. ``conns``: (client Connection, backend Connection), parsing in relay mode.

    Args:
        chains: (client->backend Chain, backend->client Chain), each None for no pipeline.
        pool: the gateway's AssemblyPool; ``key`` names this session's share of it.
        timeouts: the config's timeouts (idle_ms, ping_interval_ms, close_ms, message_ms).
        expires: ticks ms when the credential runs out (None: never).
        refresh: ``refresh(payload) -> None | expires`` for a route's in-band token
            refresh (None: the route has none); raises AuthError for a refused token.
        mask_key: ``mask_key() -> 4 bytes`` for frames re-masked towards the backend.
        who: fields every audit record carries (id, peer, principal, route).
    """

    __slots__ = ("conns", "chains", "pool", "key", "timeouts", "expires", "refresh", "mask_key", "who",
                 "state", "client_seen", "pinged", "close_started", "frames", "bytes", "dropped", "_asm", "_now",
                 "wall", "_out", "_fwd", "_held", "_heard", "rewritten")

    def __init__(self, cconn, bconn, timeouts, now_ms, mask_key, chains=(None, None), pool=None, key=None,
                 expires=None, refresh=None, who=None, wall=None):
        self.conns = (cconn, bconn)
        self.chains = chains
        self.pool = pool
        self.key = key
        self.timeouts = timeouts
        self.expires = expires
        self.refresh = refresh
        self.mask_key = mask_key
        self.who = who or {}
        self.state = RELAY
        self.client_seen = now_ms
        self.pinged = False
        self.close_started = 0
        self.frames = [0, 0]  # relayed client->backend, backend->client
        self.bytes = [0, 0]
        self.dropped = [0, 0]
        self.rewritten = [0, 0]  # messages a step replaced, by direction
        self._asm = [None, None]
        self._now = now_ms
        self.wall = wall or _no_wall  # wall-clock seconds, for steps that stamp messages
        # received() answers most reads with one Forward in a list: both are reused
        # (valid until the next call into the core), so relaying allocates neither.
        self._out = []
        self._fwd = (Forward(CLIENT, 0, 0), Forward(BACKEND, 0, 0))
        # The close a side will hear once the other side's close answer is back (a refusal
        # of what it sent: the answers to its earlier messages reach it first).
        self._held = [None, None]
        self._heard = False  # the client sent something since the last tick

    # ---- what happened -------------------------------------------------------

    def received(self, side, rx, now_ms):
        """Bytes were committed into ``rx``, ``side``'s receive buffer; return the actions.

        The list and its actions are valid until the next call into the core:
        the pump performs them at once.
        """
        out = self._out
        out.clear()
        self._now = now_ms
        conn = self.conns[side]
        conn.rx = rx
        conn.receive_buffered()
        evs = conn.events()
        if evs:
            self._relay(side, evs, rx, now_ms, out)
        self._flush(side, out)
        if side == CLIENT:
            # Credited at the next tick (up to one tick late, never early): a read costs no clock.
            self._heard = True
        return out

    def eof(self, side, now_ms):
        """``side`` closed its TCP connection."""
        out = []
        self._now = now_ms
        conn = self.conns[side]
        conn.receive_eof()
        evs = conn.events()
        if evs:
            self._relay(side, evs, None, now_ms, out)
        return out

    def tick(self, now_ms):
        """Apply the deadlines at ``now_ms``: message, expiry, idle, keepalive, close."""
        out = []
        self._now = now_ms
        t = self.timeouts
        if self._heard:
            self._heard = False
            self.client_seen = now_ms
            self.pinged = False
        if self.state == RELAY:
            quiet = ticks_diff(now_ms, self.client_seen)
            late = self._late_assembly(now_ms)
            if late is not None:
                # A fragmented message that does not finish holds pool bytes: slowloris by message.
                asm = self._asm[late]
                r = _measured(MessageRefused(1008, "slow", "not finished within %d ms" % t["message_ms"]), asm.data)
                self._release(late)
                self._refused(late, r, out)
            elif self.expires is not None and ticks_diff(now_ms, self.expires) >= 0:
                # RFC 6455 7.4.1: 1008, the session's credential ran out.
                self.expires = None
                out.append(Note("credential_expired", "audit", self._audit("closed", reason="credential expired")))
                self._start_close(1008, "token expired", out)
            elif quiet > t["idle_ms"]:
                out.append(Note("idle_timeouts"))
                self._start_close(1001, "idle timeout", out)
            elif quiet > t["ping_interval_ms"] and not self.pinged and self.conns[CLIENT].can_send:
                self.pinged = True
                self.conns[CLIENT].send_ping(_PING_PAYLOAD)
                self._flush(CLIENT, out)
        elif self.state == CLOSING and ticks_diff(now_ms, self.close_started) > t["close_ms"]:
            out.append(Note("close_timeouts"))
            self.state = DONE
            for side in (CLIENT, BACKEND):
                conn = self.conns[side]
                f = conn.failure
                held = self._held[side]
                if conn.can_send and held is not None:
                    self._close(side, held[0], held[1], out)  # its refusal, the other side never answered
                    out.append(Close(side))
                elif conn.can_send and ((f is not None and f.close_code != 1006) or conn.close_rcvd):
                    # A side that failed hears its failure's code; a side whose close the
                    # other never answered hears its own code back (RFC 6455 5.5.1).
                    self._close(side, conn.close_rcvd or UNANSWERED, "", out)
                    out.append(Close(side))
                else:
                    out.append(Abort(side))
        return out

    def start_close(self, code, reason, now_ms):
        """Close both sides with ``code`` (drain, kick, route removed, a reclaimed ring)."""
        out = []
        self._now = now_ms
        self._start_close(code, reason, out)
        return out

    def done(self):
        """The session is over: give back what it holds (assembled bytes)."""
        self.state = DONE
        self._release(CLIENT)
        self._release(BACKEND)

    # ---- relaying --------------------------------------------------------------

    def _relay(self, side, evs, rx, now_ms, out):
        dst = 1 - side
        dconn = self.conns[dst]
        chain = self.chains[side]
        judged = chain is not None or (side == CLIENT and self.refresh is not None)
        # Frames parsed from one read sit back to back in the ring: each run of
        # them goes out in one write (one syscall), not one write per frame.
        run_a = run_b = -1
        nframes = nbytes = 0
        for ev in evs:
            t = type(ev)
            if t is Fragment:
                if not dconn.can_send:
                    continue
                if judged:
                    verdict = self._judge(side, ev, rx, now_ms)
                    if verdict is not None:
                        # Held, consumed, dropped, refused or replaced: what came
                        # before goes on first; this frame does not.
                        if run_a >= 0:
                            out.append(Forward(dst, run_a, run_b))
                            run_a = run_b = -1
                        if verdict is False:
                            continue
                        if isinstance(verdict, Exception):
                            self._refused(side, verdict, out)
                            continue
                        if dconn.can_send:  # a message rebuilt whole (assembled or rewritten): one frame
                            dconn.send_frame(1 if ev.text else 2, verdict, True)
                            self._flush(dst, out)
                            nframes += 1
                            nbytes += len(verdict)
                        continue
                n = ev.pend - ev.pstart
                if side == CLIENT:
                    remask(rx.buf, ev.pstart, ev.pend, self.mask_key(), ev.masked)
                if ev.hstart != run_b:
                    if run_a >= 0:
                        out.append(Forward(dst, run_a, run_b))
                    run_a = ev.hstart
                run_b = ev.pend
                nframes += 1
                nbytes += n
                continue
            if run_a >= 0:  # what came before this event goes out before its effects
                out.append(Forward(dst, run_a, run_b))
                run_a = run_b = -1
            if t is CloseReceived:
                if dconn.can_send:
                    code, reason = ev.code, ev.reason
                    if self._held[dst] is not None:
                        code, reason = self._held[dst]
                    elif dconn.close_rcvd and dconn.close_rcvd != code:
                        # An answer to a close the other side started: that side
                        # hears its own code echoed (RFC 6455 5.5.1).
                        code, reason = dconn.close_rcvd, ""
                    self._close(dst, code, reason, out)
                self._closing()
            elif t is ConnectionFailed:
                out.append(Note("failed_%d" % ev.code, "peer_failed",
                                {"id": self.who.get("id"), "side": SIDE_NAMES[side], "code": ev.code,
                                 "why": ev.reason}))
                if side == CLIENT and ev.code != 1006:
                    out.append(PeerFault(ev.code))
                if dconn.can_send:
                    # The other side did nothing wrong: it hears that its peer went
                    # away and answers what it already had; that still reaches the
                    # failed side, whose own 1002/1007/1009 goes out when the
                    # answer's close arrives.
                    code, reason = PEER_FAILED[side]
                    self._close(dst, code, reason, out)
                elif ev.code != 1006 and self.conns[side].can_send:
                    self._close(side, ev.code, "", out)
                self._closing()
        if run_a >= 0:
            if not out:  # the common case: one run, nothing else
                f = self._fwd[dst]
                f.start = run_a
                f.end = run_b
                out.append(f)
            else:
                out.append(Forward(dst, run_a, run_b))
        self.frames[side] += nframes
        self.bytes[side] += nbytes

    def _judge(self, side, ev, rx, now_ms):
        """The pipeline (and, from the client, the token refresh) on frame ``ev``.

        None: relay the frame as it is. False: held (a fragment being
        assembled), consumed (a refresh) or the rest of a refused message. An
        exception (MessageRefused or AuthError): the verdict, applied once the
        frames before this one are out. Bytes: the message to send whole, as
        one frame (assembled, or replaced by a step).
        """
        chain = self.chains[side]
        payload = None
        n = ev.pend - ev.pstart
        try:
            if ev.fin and ev.opcode != 0:
                payload = ev.payload
                if chain is not None:
                    chain.charge(n, now_ms)  # first: a flood of refresh messages is rate-limited too
                if side == CLIENT and self.refresh is not None and ev.text and self._refreshed(payload):
                    return False  # a refresh is judged by its own rules, not the route's type or size
                if chain is None:
                    return None
                chain.start(ev.text, n)
                if not (chain.reads_text if ev.text else chain.reads_binary):
                    return None
                new = chain.judge(ev.text, payload, now_ms, self.wall())
                if new is not None:
                    self.rewritten[side] += 1
                return new
            if chain is None:
                return None
            asm = self._asm[side]
            if ev.opcode != 0:
                chain.start(ev.text, n)
                asm = self._asm[side] = _Assembly(bytearray(), now_ms)
                self._hold(side, n)
                asm.data += ev.payload
            elif asm is not None:
                chain.grow(len(asm.data) + n)
                self._hold(side, n)
                asm.data += ev.payload
            else:
                return False  # the rest of a message already refused or dropped
            if ev.masked:  # binary the parser left masked (no step reads binary): unmask the copy
                end = len(asm.data)
                apply_mask(asm.data, bytes(rx.mv[ev.pstart - 4:ev.pstart]), end - n, end)
            if not ev.fin:
                return False
            payload = asm.data
            self._release(side)
            chain.charge(len(payload), now_ms)
            if not (chain.reads_text if ev.text else chain.reads_binary):
                return payload
            new = chain.judge(ev.text, payload, now_ms, self.wall())
            if new is None:
                return payload
            self.rewritten[side] += 1
            return new
        except MessageRefused as r:
            asm = self._asm[side]
            if payload is not None and not (ev.fin and ev.opcode != 0):
                seen = payload  # a whole assembled message (unmasked as it was collected)
            elif payload is None and asm is not None:
                seen = asm.data  # what was collected before this frame
            else:
                seen = ev.payload  # this frame alone
                if ev.masked:  # audit the bytes the client meant, not their mask
                    seen = bytearray(seen)
                    apply_mask(seen, bytes(rx.mv[ev.pstart - 4:ev.pstart]), 0, len(seen))
            self._release(side)
            return _measured(r, seen)
        except AuthError as e:
            return e

    def _refreshed(self, payload):
        new = self.refresh(payload)
        if new is None:
            return False
        self.expires = new
        return True

    def _hold(self, side, n):
        if self.pool is not None:
            self.pool.hold(self.key, n)
        self._asm[side].held += n

    def _release(self, side):
        asm = self._asm[side]
        if asm is not None:
            if self.pool is not None:
                self.pool.release(self.key, asm.held)
            self._asm[side] = None

    def _late_assembly(self, now_ms):
        limit = self.timeouts["message_ms"]
        for side in (CLIENT, BACKEND):
            asm = self._asm[side]
            if asm is not None and ticks_diff(now_ms, asm.since) > limit:
                return side
        return None

    def _refused(self, side, e, out):
        """Apply a verdict: audit it; drop the message or close the session."""
        if not isinstance(e, MessageRefused):  # AuthError: a refresh token refused
            out.append(Note(None, "audit", self._audit("closed", reason="token refresh refused: %s" % e)))
            self._start_close(1008, "token refresh refused", out)
            return
        chain = self.chains[side]
        out.append(Note("messages_refused_" + e.rule, "audit", self._audit(
            "message_dropped" if e.drop else "message_refused", direction=SIDE_NAMES[side],
            policy=getattr(chain, "name", None), rule=e.rule, detail=e.detail, code=e.code,
            bytes=getattr(e, "nbytes", None), sha256=getattr(e, "digest", None))))
        if e.drop:
            self.dropped[side] += 1
            return
        # The other side hears the refusal now and takes nothing more from the sender; the
        # sender hears it once the other side's close is back, after the answers to what it
        # sent before (as when a peer fails).
        reason = refusal_reason(e.rule)
        other = self.conns[1 - side]
        if other.can_send:
            self._close(1 - side, e.code, reason, out)
            if self.conns[side].can_send:
                self._held[side] = (e.code, reason)
        elif self.conns[side].can_send:
            self._close(side, e.code, reason, out)
        self._closing()

    def _audit(self, what, **fields):
        rec = {"what": what, "id": self.who.get("id"), "peer": self.who.get("peer"),
               "principal": self.who.get("principal"), "route": self.who.get("route")}
        rec.update(fields)
        return rec

    # ---- closing ---------------------------------------------------------------

    def _close(self, side, code, reason, out):
        """Send ``side`` its close; a side that failed hears its failure's code instead."""
        conn = self.conns[side]
        f = conn.failure
        if f is not None and f.close_code != 1006:
            code, reason = f.close_code, f.reason
        conn.send_close(code, reason)
        self._flush(side, out)

    def _closing(self):
        if self.state == RELAY:
            self.state = CLOSING
            self.close_started = self._now

    def _start_close(self, code, reason, out):
        for side in (CLIENT, BACKEND):
            if self.conns[side].can_send:
                self._close(side, code, reason, out)
        self._closing()

    def _flush(self, side, out):
        for data in self.conns[side].data_to_send():
            out.append(Write(side, data) if data else EndWrite(side))


def _no_wall():
    return 0.0
