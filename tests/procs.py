"""Real processes for integration tests: the gateway, the echo backend, free ports.

Everything runs on loopback. Each helper returns a ``Proc`` that is a context
manager and terminates (SIGTERM, then SIGKILL) its process on exit.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
BIN = os.path.dirname(sys.executable)


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            with socket.create_connection((host, port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listening on %s:%d after %.0fs" % (host, port, timeout))


class Proc:
    def __init__(self, argv, port=None, env=None, log=None):
        self.argv = argv
        self.log = log or tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False).name
        e = dict(os.environ)
        e.setdefault("PYTHONUNBUFFERED", "1")
        if env:
            e.update(env)
        self._logf = open(self.log, "w")
        self.p = subprocess.Popen(argv, cwd=ROOT, stdout=self._logf, stderr=subprocess.STDOUT, env=e)
        self.port = port
        if port is not None:
            try:
                wait_port(port, proc=self.p)
            except Exception:
                self.stop()  # a process that never listened is not left behind
                raise

    def output(self):
        with open(self.log) as f:
            return f.read()

    def records(self):
        """The JSON log lines the process wrote, parsed."""
        out = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._logf.close()
        return self.p.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def echo(port=None, max_message_bytes=1 << 20):
    """The demo echo backend (edgegate's own, on the ws core)."""
    port = port or free_port()
    return Proc([PY, "-m", "edgegate", "echo", "--listen", "127.0.0.1:%d" % port,
                 "--max-message-bytes", str(max_message_bytes)], port)


# Tests open many connections from 127.0.0.1, and the bad-input ones break the
# protocol on purpose: admission limits that would rate-limit or ban that
# address are lifted unless a test sets its own (the admission tests do).
OPEN_ADMISSION = {"upgrades_per_ip_per_s": 100000, "upgrades_per_ip_burst": 100000,
                  "max_conns_per_ip": 100000, "ban_after_failures": 100000}


def gateway(backend_port, port=None, limits=None, timeouts=None, board="sim", routes=None, env=None,
            log_level="info", admission=None, extra=None):
    """edgegate run with a config written to a temp file; routes default to / -> backend."""
    port = port or free_port()
    doc = {
        "listen": [{"host": "127.0.0.1", "port": port, "plaintext": True}],
        "routes": routes or [{"path": "/", "backend": {"url": "ws://127.0.0.1:%d" % backend_port}}],
        "admission": OPEN_ADMISSION if admission is None else admission,
    }
    if extra:
        doc.update(extra)
    path = _write_config(doc, limits, timeouts)
    p = Proc(_run_argv(path, board, log_level), port, env=env)
    p.config_path = path
    return p


def _write_config(doc, limits, timeouts):
    """Write ``doc`` (with optional limits/timeouts) to a temp file; return its path."""
    if limits:
        doc["limits"] = limits
    if timeouts:
        doc["timeouts"] = timeouts
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    return path


def _run_argv(path, board, log_level):
    return [PY, "-m", "edgegate", "run", "--board", board, "--config", path, "--log-level", log_level,
            "--console", "none"]


def websockets_echo(port=None, subprotocols=None, fragments=False):
    """An echo server written on the websockets library (an independent peer).

    ``subprotocols``: the server's list; it selects the first one the client offers,
    and none (no error) when the client offers none of them.
    ``fragments``: echo each message frame by frame as it arrives (then one empty
    final frame) instead of whole, so a message bigger than a gateway's
    max_frame_bytes can come back through it.
    """
    port = port or free_port()
    loop = (
        "        while True:\n"
        "            await ws.send(ws.recv_streaming())\n"
        if fragments else
        "        async for m in ws:\n"
        "            await ws.send(m)\n"
    )
    code = (
        "import asyncio, sys, websockets\n"
        "async def echo(ws):\n"
        "    try:\n"
        + loop +
        "    except websockets.ConnectionClosed:\n"
        "        pass\n"
        "def select(conn, offered):\n"
        "    return next((p for p in %r if p in offered), None)\n"
        "async def main():\n"
        "    async with websockets.serve(echo, '127.0.0.1', %d, max_size=None, compression=None,"
        " max_queue=None, select_subprotocol=select):\n"
        "        await asyncio.Future()\n"
        "asyncio.run(main())\n" % (list(subprotocols or ()), port)
    )
    # websockets fails messages of more than 4096 fragments by default (Autobahn 9.3/9.4 send 65536).
    return Proc([PY, "-c", code], port, env={"WEBSOCKETS_MAX_FRAGMENTS": "100000"})


def wait_record(proc, event, timeout=10.0):
    """Poll ``proc``'s JSON log until a record with ``event`` appears; return it.

    Raises RuntimeError if the process exits first, TimeoutError after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for rec in proc.records():
            if rec.get("event") == event:
                return rec
        if proc.p.poll() is not None:
            raise RuntimeError("process exited with %s before logging %s:\n%s"
                               % (proc.p.returncode, event, proc.output()[-2000:]))
        time.sleep(0.02)
    raise TimeoutError("no %s record after %.0fs:\n%s" % (event, timeout, proc.output()[-2000:]))


def gateway_listen(listen, routes, limits=None, timeouts=None, board="sim", env=None, log_level="info"):
    """edgegate run (--console none) with a full ``listen`` list, e.g. TLS listeners.

    It is ready once it logs ``listening`` (no TCP probe: against a TLS listener
    a probe is a failed handshake); at log levels above info, which do not log
    that, once the first listener accepts a TCP connection. ``port`` is the
    first listener's port.
    """
    path = _write_config({"listen": listen, "routes": routes, "admission": OPEN_ADMISSION}, limits, timeouts)
    p = Proc(_run_argv(path, board, log_level), env=env)
    p.port = listen[0]["port"]
    p.config_path = path
    try:
        if log_level in ("debug", "info"):
            wait_record(p, "listening")
        else:
            wait_port(p.port, listen[0].get("host", "127.0.0.1"), proc=p.p)
    except BaseException:
        p.stop()
        raise
    return p
