"""One client session: the upgrade, the backend, and the pump that feeds the relay core.

States: HANDSHAKE (reading the request, bounded by handshake_ms), CONNECTING
(backend deadline: 502/504 before the 101), then the relay core's RELAY,
CLOSING and DONE (``edgegate.relay.core``). This module owns the streams and
their waits only: it reads, hands bytes, ends and ticks to the ``Relay``, and
performs the actions it returns (forward a run of frames without a copy,
write, half-close, close, abort, count and log). Every protocol and policy
decision after the 101 is the core's.
"""

from edgegate.relay.actions import BACKEND, CLIENT, Abort, Close, EndWrite, Forward, Note, PeerFault, Write
from edgegate.relay.core import CLOSING, DONE, RELAY
from edgegate.rt import aio, const, ticks_diff, ticks_ms
from edgegate.ws.handshake import response_error

from .upgrade import Upgrade

HANDSHAKE = const(0)
STATE_NAMES = ("handshake", "connecting", "relay", "closing", "done")


class Session(Upgrade):
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
        """HANDSHAKE or CONNECTING until the 101; from then on the relay core's."""
        return self.relay.state if self.relay is not None else self._state

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
                if r.rewritten[0] or r.rewritten[1]:
                    gw.log.count("messages_rewritten", r.rewritten[0] + r.rewritten[1])
                gw.log.info("session_end", id=self.id, peer=self.peer, path=self.path,
                            frames_in=r.frames[0], frames_out=r.frames[1], bytes_in=r.bytes[0], bytes_out=r.bytes[1],
                            dropped=r.dropped[0], dropped_out=r.dropped[1], rewritten_in=r.rewritten[0],
                            rewritten_out=r.rewritten[1], client_close=r.conns[0].close_rcvd,
                            ms=ticks_diff(ticks_ms(), self.started))

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
        # Pipelines (rates) get the exact clock; without one the reaper's (200 ms steps) does.
        r = self.relay
        self._perform(r.received(side, rx, ticks_ms() if r.chains[side] is not None else self.gw.now_ms), rx)

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
                self._perform(self.relay.start_close(1011, "internal error", ticks_ms()), None)
        except Exception:  # pragma: no cover - the transport itself is broken
            pass
        self.client.close()
        if self.backend is not None:
            self.backend.close()
