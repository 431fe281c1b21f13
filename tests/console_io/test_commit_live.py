"""Console commits on a gateway that is relaying: live sessions survive, removed routes close with 1001.

Real processes: the echo backend, the gateway with ``--console pty``, websockets
clients. The console is driven with pyserial in a worker thread so the event
loop keeps serving the clients meanwhile.
"""

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests import procs
from tests.console_io import boxes

STEP_S = boxes.STEP_S


def route(path, backend_port):
    return {"path": path, "backend": {"url": "ws://127.0.0.1:%d/" % backend_port}}


@pytest.fixture
def backend():
    with procs.echo() as e:
        yield e


@pytest.fixture
def live(tmp_path, backend):
    """A gateway with routes /a and /b to the echo backend, and its console logged in."""
    port = procs.free_port()
    doc = boxes.box_doc(port, backend.port, routes=[route("/a", backend.port), route("/b", backend.port)])
    box = boxes.Box(tmp_path, "pty", doc=doc)
    line = boxes.pty_console(box)
    box.wait_record("listening")
    line.login(prompted=True)
    box.url = "ws://127.0.0.1:%d" % port
    yield box, line
    line.close()
    box.stop()


async def connect(url):
    return await asyncio.wait_for(websockets.connect(url, compression=None, open_timeout=STEP_S), STEP_S)


async def echoes(ws, msg):
    await asyncio.wait_for(ws.send(msg), STEP_S)
    return await asyncio.wait_for(ws.recv(), STEP_S) == msg


async def console(line, *commands):
    """Run console commands in a thread (pyserial blocks); return their answers."""

    def run():
        return [line.command(c) for c in commands]

    return await asyncio.to_thread(run)


async def refused_status(url):
    try:
        ws = await connect(url)
    except InvalidStatus as e:
        return e.response.status_code
    await ws.close()
    return None


def test_commit_adding_a_route_and_changing_a_limit_keeps_sessions_relaying(live, backend):
    box, line = live

    async def main():
        a = await connect(box.url + "/a")
        b = await connect(box.url + "/b/x")
        assert await echoes(a, "before a")
        assert await echoes(b, b"before b")
        assert await refused_status(box.url + "/c") == 404
        answers = await console(
            line,
            "set routes[2] %s" % json.dumps(route("/c", backend.port)),
            "set limits.max_conns 40",
            "commit",
        )
        assert answers[2] == "committed 3 change(s)\r\n"
        applied = await asyncio.to_thread(box.wait_record, "config_applied")
        assert applied["routes"] == ["/a", "/b", "/c"]
        assert applied["max_conns"] == 40
        assert applied["drained"] == 0
        # the sessions opened before the commit still relay, both ways, many times
        for i in range(20):
            assert await echoes(a, "after a %d" % i)
            assert await echoes(b, b"after b %d" % i)
        # new connections get the new route
        c = await connect(box.url + "/c")
        assert await echoes(c, "via c")
        status = (await console(line, "show status"))[0]
        assert "sessions   3 of 40" in status
        for ws in (a, b, c):
            await ws.close()
            assert ws.close_code == 1000

    asyncio.run(main())


def test_commit_removing_a_route_closes_its_sessions_with_1001_and_spares_the_others(live, backend):
    box, line = live

    async def main():
        a1 = await connect(box.url + "/a")
        a2 = await connect(box.url + "/a/deeper")
        b = await connect(box.url + "/b")
        for ws in (a1, a2, b):
            assert await echoes(ws, "before")
        answers = await console(line, "unset routes[0]", "commit")
        # index by index: routes[0].path changes, routes[1] (two leaves) goes
        assert answers[1] == "committed 3 change(s)\r\n"
        applied = await asyncio.to_thread(box.wait_record, "config_applied")
        assert applied["routes"] == ["/b"]
        assert applied["drained"] == 2
        for ws in (a1, a2):
            with pytest.raises(ConnectionClosed) as ei:
                await asyncio.wait_for(ws.recv(), STEP_S)
            assert ei.value.rcvd is not None
            assert (ei.value.rcvd.code, ei.value.rcvd.reason) == (1001, "route removed")
        for i in range(20):
            assert await echoes(b, "still here %d" % i)
        assert await refused_status(box.url + "/a") == 404
        await b.close()
        assert b.close_code == 1000

    asyncio.run(main())


def test_commit_putting_a_message_policy_on_a_route_applies_to_new_sessions_only(live, backend):
    box, line = live

    async def main():
        old = await connect(box.url + "/a")
        assert await echoes(old, "<script>before</script>")
        answers = await console(
            line,
            'set message_policies.strict {"types": ["text"], "signatures": ["xss"]}',
            'set routes[0].messages "strict"',
            "commit",
            "show routes",
        )
        assert answers[2].startswith("committed")
        assert "strict" in answers[3]
        await asyncio.to_thread(box.wait_record, "config_applied")
        # the session opened before the commit keeps the chain it started with (none)
        assert await echoes(old, "<script>after</script>")
        new = await connect(box.url + "/a")
        assert await echoes(new, "plain text passes")
        await new.send("<script>x</script>")
        with pytest.raises(ConnectionClosed) as ei:
            await asyncio.wait_for(new.recv(), STEP_S)
        assert (ei.value.rcvd.code, ei.value.rcvd.reason) == (1008, "message refused: signature")
        await old.close()
        assert old.close_code == 1000

    asyncio.run(main())
