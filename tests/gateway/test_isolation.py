"""A bug inside one session closes only that session (1011, or 500 before the upgrade) and is logged.

Fault injection on a real gateway: ``Gateway`` and edgegate's echo backend run
inside the test's event loop on real loopback sockets, with real websockets
clients. Once the victim's session object exists, ONE of its methods raises,
once, for that session object only (``inject``); every other session runs the
real code. Every
other session, and the gateway itself, must carry on.
"""

import asyncio

import pytest
import websockets


from . import wire
from .rig import Rig
from .steady import Steady, run
from .wire import STEP_S, wait_until


class InjectedFault(Exception):
    pass


def inject(monkeypatch, session, name):
    """Make the next call of ``<name>`` on this one session raise InjectedFault (once).

    Sessions have ``__slots__``, so the method is wrapped on the class for the
    test's duration; the wrapper raises only for ``session``, once, and every
    other call (other sessions, later calls) goes to the real method.
    """
    cls = type(session)
    real = getattr(cls, name)
    armed = [True]

    def fault(self, *args, **kw):
        if self is session and armed[0]:
            armed[0] = False
            raise InjectedFault("injected into %s" % name)
        return real(self, *args, **kw)

    monkeypatch.setattr(cls, name, fault)


def test_fault_in_one_sessions_relay_closes_it_1011_and_others_carry_on(monkeypatch):
    async def main():
        async with Rig() as rig, Steady(rig.url) as steady:
            victim = await websockets.connect(rig.url, open_timeout=STEP_S, ping_interval=None)
            await victim.send("before")
            assert await asyncio.wait_for(victim.recv(), STEP_S) == "before"
            session = rig.session_of(victim.local_address[1])
            assert session is not None
            inject(monkeypatch, session, "_relay")
            await steady.advance()

            await victim.send("boom")
            with pytest.raises(websockets.ConnectionClosedError):
                await asyncio.wait_for(victim.recv(), STEP_S)
            assert victim.protocol.close_rcvd is not None
            assert (victim.close_code, victim.close_reason) == (1011, "internal error")

            await steady.advance()
            await wait_until(lambda: session.id not in rig.gw.sessions, what="the session released")
            errors = rig.records("session_error")
            assert len(errors) == 1
            assert errors[0]["level"] == "error"
            assert errors[0]["id"] == session.id
            assert errors[0]["state"] == "relay"
            assert errors[0]["error"] == "InjectedFault: injected into _relay"
            assert rig.gw.log.counters["internal_errors"] == 1
            # New sessions work, and the gateway is still whole.
            async with websockets.connect(rig.url, open_timeout=STEP_S) as fresh:
                await fresh.send(b"fresh")
                assert await asyncio.wait_for(fresh.recv(), STEP_S) == b"fresh"
            await steady.advance()
            await wait_until(lambda: len(rig.gw.sessions) == 1, what="only the steady session left")
    run(main())


def test_fault_in_one_sessions_timer_closes_it_1011_and_the_reaper_carries_on(monkeypatch):
    async def main():
        async with Rig() as rig, Steady(rig.url) as steady:
            victim = await websockets.connect(rig.url, open_timeout=STEP_S, ping_interval=None)
            session = rig.session_of(victim.local_address[1])
            inject(monkeypatch, session, "tick")  # the reaper calls tick() on every session every 200 ms

            with pytest.raises(websockets.ConnectionClosedError):
                await asyncio.wait_for(victim.recv(), STEP_S)
            assert (victim.close_code, victim.close_reason) == (1011, "internal error")
            await wait_until(lambda: session.id not in rig.gw.sessions, what="the session released")
            errors = rig.records("session_error")
            assert [(r["id"], r["state"], r["error"]) for r in errors] == [
                (session.id, "relay", "InjectedFault: injected into tick")]
            assert not rig.gw._reaper.done()
            await steady.advance()
    run(main())


def test_fault_in_one_session_before_the_upgrade_answers_500_and_others_carry_on(monkeypatch):
    async def main():
        async with Rig() as rig, Steady(rig.url) as steady:
            reader, writer = await wire.connect(rig.port)
            local_port = writer.get_extra_info("sockname")[1]
            await wait_until(lambda: rig.session_of(local_port) is not None, what="the session exists")
            session = rig.session_of(local_port)
            inject(monkeypatch, session, "_connect")
            writer.write(wire.request("/"))
            status, headers, body = await wire.read_response(reader)
            assert (status, body) == (500, b"500 Internal Server Error\n")
            assert await wire.read_eof(reader) == b""
            writer.close()
            await writer.wait_closed()
            errors = rig.records("session_error")
            assert [(r["id"], r["state"], r["error"]) for r in errors] == [
                (session.id, "handshake", "InjectedFault: injected into _connect")]
            await steady.advance()
    run(main())


def test_fault_in_one_session_leaves_the_idle_keepalive_of_others_working(monkeypatch):
    """After a fault, the reaper still pings and idles out a silent raw client."""
    async def main():
        async with Rig({"idle_ms": 600, "ping_interval_ms": 200}) as rig:
            victim = await websockets.connect(rig.url, open_timeout=STEP_S, ping_interval=None)
            inject(monkeypatch, rig.session_of(victim.local_address[1]), "tick")
            with pytest.raises(websockets.ConnectionClosedError):
                await asyncio.wait_for(victim.recv(), STEP_S)
            assert victim.close_code == 1011
            reader, writer = await wire.upgrade(rig.port)
            assert (await wire.read_frame(reader))[1:] == (wire.OP_PING, b"edgegate")
            assert (await wire.read_close(reader))[:2] == (1001, "idle timeout")
            writer.close()
            await writer.wait_closed()
    run(main())
