"""``python -m sim``: run the gateway in the simulator and push a burst of real clients through it.

Starts the demo echo backend and ``edgegate run --board sim --config sim/config.json``
as separate processes, then runs well-behaved clients (text, binary, fragmented,
empty and max-size messages, pings; JSON on the /chat route and its message
policy) and a few hostile ones (oversized frame, bad UTF-8, unmasked frame,
huge header, unknown path, script and SQL injection in chat JSON, a chat
message of the wrong shape) at the same time, prints
what each got, drains the gateway with SIGTERM and prints its counters.
Exit status 0 means every client got exactly the answer it should.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edgegate.gateway.client import connect  # noqa: E402
from edgegate.ws.frames import OP_BINARY, OP_CONT, OP_TEXT, build_frame  # noqa: E402


def _wait_port(host, port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit("process %s exited early" % proc.args)
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listening on %s:%d" % (host, port))


def _port_free(host, port):
    with socket.socket() as s:
        # As the servers do: connections of a previous run in TIME-WAIT do not hold the port.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


async def good_client(url, i, max_frame):
    c = await connect(url)
    checks = []
    msgs = ["hello from client %d" % i, "ünïcödé ✓ %d" % i, ""]
    for m in msgs:
        c.send_text(m)
        checks.append(await c.recv() == m)
    blob = bytes((i + k) & 0xFF for k in range(1024))
    c.send_binary(blob)
    checks.append(await c.recv() == blob)
    big = b"\xab" * max_frame
    c.send_binary(big)
    checks.append(await c.recv() == big)
    c.send_frame(OP_TEXT, b"frag", False)
    c.send_frame(OP_CONT, b"mented", False)
    c.send_frame(OP_CONT, b" message", True)
    checks.append(await c.recv() == "fragmented message")
    c.ping(b"p%d" % i)
    checks.append(await c.recv() == ("pong", b"p%d" % i))
    code = await c.close(1000)
    return all(checks) and code == 1000, "%d/%d echoes exact, close %d" % (sum(checks), len(checks), code)


async def chat_client(url, i):
    """A well-behaved client of the /chat route: JSON its message policy accepts comes back as sent."""
    c = await connect(url)
    checks = []
    room = "r%d" % i
    for m in ({"type": "join", "room": room}, {"type": "say", "room": room, "text": "héllo, it's me %d" % i},
              {"type": "leave", "room": room}):
        text = json.dumps(m)
        c.send_text(text)
        checks.append(await c.recv() == text)
    code = await c.close(1000)
    return all(checks) and code == 1000, "%d/%d chat echoes exact, close %d" % (sum(checks), len(checks), code)


async def raw(host, port, data, read=4096):
    r, w = await asyncio.open_connection(host, port)
    w.write(data)
    await w.drain()
    try:
        out = await asyncio.wait_for(r.read(read), 5)
    finally:
        w.close()
    return out


def _upgrade(path="/echo", extra=""):
    return ("GET %s HTTP/1.1\r\nHost: box\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
            % (path, extra)).encode()


async def hostile_ws(host, port, frame, path="/echo"):
    """Upgrade, send one bad frame, return the close code the gateway sent."""
    r, w = await asyncio.open_connection(host, port)
    w.write(_upgrade(path))
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101"), head
    w.write(frame)
    data = await asyncio.wait_for(r.read(256), 5)
    w.close()
    if len(data) >= 4 and data[0] == 0x88:
        return int.from_bytes(data[2:4], "big")
    return None


async def burst(host, port, n_clients, max_frame):
    url = "ws://%s:%d/echo" % (host, port)
    key = b"\x01\x02\x03\x04"
    hostile = {
        "oversized frame (max_frame_bytes + 1)": (hostile_ws(host, port, build_frame(OP_BINARY, b"x" * (max_frame + 1), True, key)), 1009),
        "invalid UTF-8 text": (hostile_ws(host, port, build_frame(OP_TEXT, b"\xce\xba\xe1\xbd\xb9\xed\xa0\x80", True, key)), 1007),
        "unmasked client frame": (hostile_ws(host, port, build_frame(OP_TEXT, b"hi", True)), 1002),
        "20 KB header": (raw(host, port, _upgrade(extra="X-Junk: %s\r\n" % ("a" * 20000))), 431),
        "unknown path": (raw(host, port, _upgrade(path="/nowhere")), 404),
        "plain HTTP GET": (raw(host, port, b"GET / HTTP/1.1\r\nHost: box\r\n\r\n"), 426),
        "script injection in chat JSON": (hostile_ws(host, port, build_frame(
            OP_TEXT, b'{"type":"say","text":"\\u003cscript>steal()</script>"}', True, key), "/chat"), 1008),
        "SQL injection in chat JSON": (hostile_ws(host, port, build_frame(
            OP_TEXT, b'{"type":"say","room":"x\' OR \'1\'=\'1"}', True, key), "/chat"), 1008),
        "chat message of the wrong shape": (hostile_ws(host, port, build_frame(
            OP_TEXT, b'{"type":"say","admin":true}', True, key), "/chat"), 1008),
    }
    chat = "ws://%s:%d/chat" % (host, port)
    goods = [good_client(url, i, max_frame) if i % 4 else chat_client(chat, i) for i in range(n_clients)]
    results = await asyncio.gather(*goods, *(c for c, _ in hostile.values()), return_exceptions=True)
    ok = True
    print("\n%-40s %-8s %s" % ("client", "result", "detail"))
    for i, res in enumerate(results[:n_clients]):
        good = not isinstance(res, BaseException) and res[0]
        ok &= good
        print("%-40s %-8s %s" % ("well-behaved #%d" % i, "ok" if good else "WRONG",
                                  res[1] if not isinstance(res, BaseException) else repr(res)))
    for (name, (_, want)), res in zip(hostile.items(), results[n_clients:]):
        if isinstance(res, bytes):
            got = int(res.split(b" ", 2)[1]) if res.startswith(b"HTTP/1.1 ") else None
            what = "HTTP %s" % got
        elif isinstance(res, BaseException):
            got, what = None, repr(res)
        else:
            got, what = res, "close %s" % res
        good = got == want
        ok &= good
        print("%-40s %-8s %s (expected %d)" % (name, "refused" if good else "WRONG", what, want))
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim", description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="sim")
    ap.add_argument("--config", default=os.path.join(ROOT, "sim", "config.json"))
    ap.add_argument("--clients", type=int, default=20)
    args = ap.parse_args(argv)
    with open(args.config) as f:
        cfg = json.load(f)
    ln = cfg["listen"][0]
    host, port = ln["host"], ln["port"]
    be = cfg["routes"][0]["backend"]["url"]
    be_host, be_port = be[5:].split("/")[0].rsplit(":", 1)
    board_file = os.path.join(ROOT, "boards", args.board + ".json")
    with open(board_file) as f:
        max_frame = cfg.get("limits", {}).get("max_frame_bytes") or json.load(f)["limits"]["max_frame_bytes"]
    for h, p in ((host, port), (be_host, int(be_port))):
        if not _port_free(h, p):
            raise SystemExit("sim: %s:%d is in use; stop what holds it or edit %s" % (h, p, args.config))
    py = sys.executable
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    print("sim: board %s, config %s" % (args.board, os.path.relpath(args.config, ROOT)))
    echo = subprocess.Popen([py, "-m", "edgegate", "echo", "--listen", "%s:%s" % (be_host, be_port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    gw = subprocess.Popen([py, "-m", "edgegate", "run", "--board", args.board, "--config", args.config],
                          cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_port(be_host, int(be_port), echo)
        _wait_port(host, port, gw)
        print("sim: echo backend on %s:%s, gateway on ws://%s:%d/echo" % (be_host, be_port, host, port))
        t0 = time.monotonic()
        ok = asyncio.run(burst(host, port, args.clients, max_frame))
        print("\nsim: burst of %d well-behaved + 9 hostile clients took %.2fs"
              % (args.clients, time.monotonic() - t0))
        gw.send_signal(signal.SIGTERM)
        _, err = gw.communicate(timeout=15)
        stopped = [json.loads(line) for line in err.splitlines() if '"stopped"' in line]
        if stopped:
            print("sim: gateway drained on SIGTERM, exit %d; counters %s"
                  % (gw.returncode, json.dumps(stopped[-1]["counters"], sort_keys=True)))
        errors = [line for line in err.splitlines() if '"error"' in line]
        for line in errors:
            print("sim: gateway error:", line)
        ok = ok and gw.returncode == 0 and not errors
        print("sim: %s" % ("all clients got the right answer" if ok else "SOMETHING WAS WRONG"))
        return 0 if ok else 1
    finally:
        for p in (gw, echo):
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
