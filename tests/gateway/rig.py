"""An in-process gateway for tests: ``Gateway`` and edgegate's echo backend in the test's event loop,
on real loopback sockets, with the log kept in memory."""

import io
import json

from edgegate.cli import load_board
from edgegate.config import parse
from edgegate.gateway.echo import EchoServer
from edgegate.gateway.log import Log
from edgegate.gateway.server import Gateway
from tests import procs


class Rig:
    """An in-process gateway relaying to an in-process echo backend; log lines kept in memory."""

    def __init__(self, timeouts=None, extra=None):
        self.timeouts = timeouts or {}
        self.extra = extra or {}  # more of the config document (limits, admission...)

    async def __aenter__(self):
        self.echo = EchoServer()
        host, port = await self.echo.start("127.0.0.1", 0)
        doc = {"listen": [{"host": "127.0.0.1", "port": procs.free_port(), "plaintext": True}],
               "routes": [{"path": "/", "backend": {"url": "ws://127.0.0.1:%d" % port}}],
               "timeouts": self.timeouts}
        doc.update(self.extra)
        self.sink = io.StringIO()
        self.gw = Gateway(parse(doc, load_board("sim")), Log("info", sink=self.sink))
        await self.gw.start()
        self.port = self.gw.addresses[0][1]
        self.url = "ws://127.0.0.1:%d/" % self.port
        return self

    async def __aexit__(self, *exc):
        await self.gw.stop()
        self.echo.close()

    def records(self, event=None):
        out = [json.loads(line) for line in self.sink.getvalue().splitlines()]
        return [r for r in out if event is None or r["event"] == event]

    def count(self, name):
        return self.gw.log.counters.get(name, 0)

    def session_of(self, local_port):
        """The gateway's session for the client whose local port is ``local_port``."""
        peer = "127.0.0.1:%d" % local_port
        for s in self.gw.sessions.values():
            if s.peer == peer:
                return s
        return None
