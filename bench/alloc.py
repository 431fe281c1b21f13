"""Allocations per relayed frame in edgegate's Gateway, and memory growth over many frames.

Everything runs in one process on one event loop (uvloop, as ``edgegate run``
uses when installed; ``--loop asyncio`` for the stdlib loop): the real
``edgegate.gateway.server.Gateway`` built from ``edgegate.config.parse`` with the
board the bench uses, plus a bench-made client and echo that allocate almost
nothing per frame (prebuilt frames, fixed receive buffers, byte counting only).

- Counting: ``bench/alloccount.c`` (built here with gcc) wraps CPython's RAW,
  MEM and OBJ allocators and counts every malloc/calloc/realloc. The same
  client/echo pair is run once through the gateway and once straight to each
  other; (with - without) / relayed frames is the gateway's cost per frame
  (each echoed message is two relayed frames: one each way).
- Attribution: tracemalloc is started, then the counter is installed with
  free() disabled for a short window, so every block allocated in the window,
  transient or not, keeps its trace; traces are grouped by the innermost frame
  in edgegate/ (file:line). Blocks with no edgegate frame are the event loop's
  or the harness's.
- Growth: after a warm-up, ``frames`` more frames relayed with nothing traced;
  net allocated blocks (``sys.getallocatedblocks``) and RSS are compared.

Run alone: ``python -m bench.alloc [--size 64] [--depth 1] [--frames 1000000]``.
"""

import argparse
import asyncio
import base64
import gc
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(HERE, "results", "build")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
MASK = b"\x12\x34\x56\x78"
FINISH_S = 180  # a gateway that stops relaying fails the run instead of hanging it


def build_counter():
    """Compile bench/alloccount.c for this interpreter (cached); return the module."""
    src = os.path.join(HERE, "alloccount.c")
    so = os.path.join(BUILD, "_alloccount" + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(src):
        os.makedirs(BUILD, exist_ok=True)
        cmd = ["gcc", "-O2", "-shared", "-fPIC", "-I" + sysconfig.get_paths()["include"], src, "-o", so]
        subprocess.run(cmd, check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("_alloccount", so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ws_frame(payload, opcode=0x2, mask=None):
    """One whole frame (FIN set), masked with ``mask`` when given."""
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = bytes([0x80 | opcode, mbit | n])
    elif n < 65536:
        hdr = bytes([0x80 | opcode, mbit | 126]) + n.to_bytes(2, "big")
    else:
        hdr = bytes([0x80 | opcode, mbit | 127]) + n.to_bytes(8, "big")
    if mask:
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        hdr += mask
    return hdr + payload


class Harness:
    """The prebuilt frames and counters the client and echo share."""

    MAXK = 64

    def __init__(self, size, text=False):
        op = 0x1 if text else 0x2
        body = (b"abcdefghij" * (size // 10 + 1))[:size] if text else os.urandom(size)
        req = ws_frame(body, op, MASK)
        rep = ws_frame(body, op)
        self.req_len = len(req)
        self.rep_len = len(rep)
        # Prebuilt runs of k frames, k up to MAXK (fewer for big frames: <= 1 MiB a run).
        self.MAXK = max(1, min(64, (1 << 20) // len(req)))
        self.reqs = [b""] + [req * k for k in range(1, self.MAXK + 1)]
        self.reps = [b""] + [rep * k for k in range(1, self.MAXK + 1)]
        self.done = 0
        self.milestones = []  # [(count, callback)], ascending
        self.stop_at = 0
        self.finished = None


class Echo(asyncio.BufferedProtocol):
    def __init__(self, h):
        self.h = h
        self.buf = bytearray(1 << 20)
        self.mv = memoryview(self.buf)
        self.hs = bytearray()
        self.pend = 0
        self.t = None

    def connection_made(self, t):
        self.t = t

    def get_buffer(self, n):
        return self.mv

    def buffer_updated(self, n):
        if self.hs is not None:
            self.hs += self.mv[:n]
            i = self.hs.find(b"\r\n\r\n")
            if i < 0:
                return
            key = None
            for line in bytes(self.hs[:i]).split(b"\r\n"):
                if line.lower().startswith(b"sec-websocket-key:"):
                    key = line.split(b":", 1)[1].strip()
            acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
            self.t.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
            n = len(self.hs) - (i + 4)
            self.hs = None
        h = self.h
        self.pend += n
        k = self.pend // h.req_len
        if k:
            self.pend -= k * h.req_len
            while k > 0:
                j = k if k < h.MAXK else h.MAXK
                self.t.write(h.reps[j])
                k -= j


class Client(asyncio.BufferedProtocol):
    def __init__(self, h, depth, host, port):
        self.h = h
        self.depth = depth
        self.buf = bytearray(1 << 20)
        self.mv = memoryview(self.buf)
        self.hs = bytearray()
        self.pend = 0
        self.t = None
        self.ready = asyncio.get_running_loop().create_future()
        self.req = ("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                    % (host, port, KEY.decode())).encode()

    def connection_made(self, t):
        self.t = t
        t.write(self.req)

    def get_buffer(self, n):
        return self.mv

    def buffer_updated(self, n):
        if self.hs is not None:
            self.hs += self.mv[:n]
            i = self.hs.find(b"\r\n\r\n")
            if i < 0:
                return
            if not self.hs.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(RuntimeError("upgrade refused: %r" % bytes(self.hs[:60])))
                return
            n = len(self.hs) - (i + 4)
            self.hs = None
            self.ready.set_result(None)
        h = self.h
        self.pend += n
        k = self.pend // h.rep_len
        if not k:
            return
        self.pend -= k * h.rep_len
        h.done += k
        ms = h.milestones
        while ms and h.done >= ms[0][0]:
            ms.pop(0)[1]()
        if h.done >= h.stop_at:
            if not h.finished.done():
                h.finished.set_result(None)
            return
        while k > 0:
            j = k if k < h.MAXK else h.MAXK
            self.t.write(h.reqs[j])
            k -= j

    def start(self):
        self.t.write(self.h.reqs[self.depth])


async def _setup(h, depth, through_gateway):
    """Start the echo, the gateway (or not) and a connected client; return (client, gateway, closers)."""
    loop = asyncio.get_running_loop()
    echo_srv = await loop.create_server(lambda: Echo(h), "127.0.0.1", 0)
    echo_port = echo_srv.sockets[0].getsockname()[1]
    closers = [echo_srv.close]
    gw = None
    port = echo_port
    if through_gateway:
        from edgegate.gateway.log import Log
        from edgegate.gateway.server import Gateway

        sys.path.insert(0, ROOT)
        from bench import memory, peers

        port = peers.free_port()
        gw = Gateway(memory.edgegate_config(port, echo_port), Log("error"))
        await gw.start()
        closers.append(lambda: [s.close() for s in gw.servers])
    _, c = await loop.create_connection(lambda: Client(h, depth, "127.0.0.1", port), "127.0.0.1", port)
    await asyncio.wait_for(c.ready, 20)
    closers.insert(0, c.t.close)
    return c, gw, closers


async def _count(counter, size, text, depth, warm, frames, through_gateway):
    """Allocation calls per echoed message over ``frames`` messages after ``warm``."""
    h = Harness(size, text)
    h.finished = asyncio.get_running_loop().create_future()
    c, gw, closers = await _setup(h, depth, through_gateway)
    marks = {}

    def begin():
        counter.install(0)
        marks["t0"] = time.perf_counter()

    def end():
        marks["counts"] = counter.counts()
        counter.uninstall()
        marks["t1"] = time.perf_counter()

    h.milestones = [(warm, begin), (warm + frames, end)]
    h.stop_at = warm + frames
    c.start()
    await asyncio.wait_for(h.finished, FINISH_S)
    for f in closers:
        f()
    await asyncio.sleep(0.05)
    n = sum(marks["counts"])
    return {"allocs": n, "messages": frames, "per_message": n / frames,
            "by_domain": dict(zip(("raw", "mem", "obj"), marks["counts"])),
            "seconds": marks["t1"] - marks["t0"]}


def _harness_lines():
    import inspect

    out = []
    for cls in (Echo, Client):
        lines, first = inspect.getsourcelines(cls)
        out.append((first, first + len(lines)))
    return out


def _classify(tb, harness_lines):
    """(kind, where) for a tracemalloc traceback: the innermost edgegate/ or harness frame.

    A bench frame outside the client/echo protocols (the call that runs the
    loop) does not count: what is allocated under it alone is the loop's.
    """
    me = os.path.abspath(__file__)
    for fr in reversed(tb):
        fn = fr.filename
        if os.sep + "edgegate" + os.sep in fn and not fn.startswith(HERE):
            rel = fn[fn.rindex(os.sep + "edgegate" + os.sep) + 1:]
            return "edgegate", "%s:%d" % (rel, fr.lineno)
        if fn == me and any(a <= fr.lineno < b for a, b in harness_lines):
            return "harness", "%s:%d" % (os.path.relpath(fn, ROOT), fr.lineno)
    fr = tb[-1] if len(tb) else None
    if fr is None:
        return "loop", "?"
    fn = fr.filename
    stdlib = os.path.dirname(os.__file__) + os.sep
    if fn.startswith(stdlib):
        fn = fn[len(stdlib):]
    return "loop", "%s:%d" % (fn, fr.lineno)


async def _attribute(counter, size, text, depth, warm, frames, top):
    """Keep every block allocated over ``frames`` messages; group them by file:line."""
    import tracemalloc

    h = Harness(size, text)
    h.finished = asyncio.get_running_loop().create_future()
    c, gw, closers = await _setup(h, depth, True)
    marks = {}

    def begin():
        marks["base"] = tracemalloc.take_snapshot()
        counter.install(1)

    def end():
        counter.uninstall()
        marks["snap"] = tracemalloc.take_snapshot()

    tracemalloc.start(30)
    h.milestones = [(warm, begin), (warm + frames, end)]
    h.stop_at = warm + frames
    c.start()
    await asyncio.wait_for(h.finished, FINISH_S)
    tracemalloc.stop()
    for f in closers:
        f()
    await asyncio.sleep(0.05)
    # A trace is new when its (traceback, size) is not in the base snapshot
    # (compared as multisets: the same site may hold many blocks).
    new = {}
    old = {}
    for t in marks["base"].traces:
        k = (t.traceback, t.size)
        old[k] = old.get(k, 0) + 1
    kinds = {}
    sites = {}
    hl = _harness_lines()
    for t in marks["snap"].traces:
        k = (t.traceback, t.size)
        if old.get(k, 0) > 0:
            old[k] -= 1
            continue
        kind, where = _classify(t.traceback, hl)
        kinds[kind] = kinds.get(kind, 0) + 1
        key = (kind, where)
        n, b = sites.get(key, (0, 0))
        sites[key] = (n + 1, b + t.size)
        new[kind] = new.get(kind, 0) + t.size
    relayed = 2 * frames
    rows = sorted(sites.items(), key=lambda kv: -kv[1][0])[:top]
    return {
        "per_relayed_frame": {k: v / relayed for k, v in kinds.items()},
        "top": [{"kind": k, "where": w, "per_relayed_frame": n / relayed, "bytes_per_block": b / n}
                for (k, w), (n, b) in rows],
    }


async def _growth(size, text, depth, warm, frames):
    """Net allocated blocks and RSS after ``frames`` echoed messages through the gateway."""
    from . import procfs

    h = Harness(size, text)
    h.finished = asyncio.get_running_loop().create_future()
    c, gw, closers = await _setup(h, depth, True)
    marks = {}

    def mark(name):
        def f():
            gc.collect()
            marks[name] = (sys.getallocatedblocks(), procfs.rollup(os.getpid())["rss"], time.perf_counter())
        return f

    h.milestones = [(warm, mark("a")), (warm + frames // 2, mark("b")), (warm + frames, mark("c"))]
    h.stop_at = warm + frames
    c.start()
    await asyncio.wait_for(h.finished, FINISH_S)
    sessions = len(gw.sessions)
    for f in closers:
        f()
    await asyncio.sleep(0.05)
    a, b, c_ = marks["a"], marks["b"], marks["c"]
    return {"messages": frames, "relayed_frames": 2 * frames, "sessions": sessions,
            "blocks_growth": c_[0] - a[0], "blocks_growth_second_half": c_[0] - b[0],
            "rss_growth": c_[1] - a[1], "rss_growth_second_half": c_[1] - b[1],
            "msgs_per_s": frames / (c_[2] - a[2])}


def run(size=64, text=False, depth=1, count_msgs=20000, attr_msgs=2000, growth_msgs=500000,
        loop="uvloop", top=12):
    """Every measurement for one payload size; returns a dict (see module docstring)."""
    counter = build_counter()
    if loop == "uvloop":
        import uvloop
        runner = uvloop.run
    else:
        runner = asyncio.run
    warm = 3000
    with_gw = runner(_count(counter, size, text, depth, warm, count_msgs, True))
    without = runner(_count(counter, size, text, depth, warm, count_msgs, False))
    per_frame = (with_gw["per_message"] - without["per_message"]) / 2
    attr = runner(_attribute(counter, size, text, depth, warm, attr_msgs, top))
    growth = runner(_growth(size, text, depth, warm, growth_msgs)) if growth_msgs else None
    return {"size": size, "text": text, "depth": depth, "loop": loop,
            "allocs_per_relayed_frame": per_frame,
            "through_gateway": with_gw, "harness_only": without,
            "attribution": attr, "growth": growth}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.alloc")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--text", action="store_true")
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--attr", type=int, default=2000)
    ap.add_argument("--frames", type=int, default=1000000, help="relayed frames for the growth check")
    ap.add_argument("--loop", default="uvloop", choices=["uvloop", "asyncio"])
    args = ap.parse_args(argv)
    res = run(args.size, args.text, args.depth, args.count, args.attr, args.frames // 2, args.loop)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
