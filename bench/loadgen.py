"""The load generator: picows + uvloop client processes driven over pipes by the bench.

Each worker (``python -m bench.loadgen``) reads one JSON command per line on
stdin and answers one JSON line on stdout:

- ``connect``: open ``conns`` WebSocket connections to ``url``; with
  ``client`` {``token``, ``cafile``}: send ``Authorization: Bearer <token>``
  and/or speak wss, verifying the server against ``cafile``.
- ``throughput``: closed loop; every connection keeps ``depth`` messages of
  ``size`` bytes (binary, or JSON text) in flight, sending one more for each
  echo. Echoes are counted in the window [t_start, t_end] (CLOCK_MONOTONIC,
  shared by every process), after a warm-up from the moment the command
  arrives; then sending stops, in-flight echoes drain and the connections close.
- ``latency``: open loop; messages leave on a fixed schedule (``rate`` per
  second per worker, round-robin over the connections) whatever the echoes do,
  each stamped with its scheduled and actual send time; latency is measured
  from the scheduled time (no coordinated omission) and from the actual one.
- ``open_idle`` / ``close_idle``: hold ``n`` idle connections (memory runs),
  spread over source addresses 127.0.0.x when asked.

``LoadGen`` is the parent side: it starts the workers, sends them commands,
samples CPU time of the workers and of the processes under test in the
measurement window, and flags runs where a worker used more than 85% of a core.
"""

import json
import os
import select
import signal
import struct
import subprocess
import sys
import time

from . import procfs

LOADGEN_CPU_FLAG = 0.85


def payload(size, kind):
    """The message a scenario sends: random bytes, or a JSON text of exactly ``size`` bytes."""
    if kind == "bin":
        return os.urandom(size)
    head = '{"type":"tick","seq":123456,"ok":true,"data":"'
    tail = '"}'
    n = size - len(head) - len(tail)
    if n < 0:
        raise ValueError("json payloads need >= %d bytes" % (len(head) + len(tail)))
    return (head + ("abcdefghij" * (n // 10 + 1))[:n] + tail).encode("ascii")


# ---- worker side ---------------------------------------------------------------

def _worker():  # pragma: no cover - runs in the worker processes
    import asyncio
    import resource

    import uvloop
    from picows import WSCloseCode, WSListener, WSMsgType, ws_connect

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    CLOSE = WSMsgType.CLOSE
    TEXT = WSMsgType.TEXT
    BINARY = WSMsgType.BINARY
    mono = time.monotonic_ns
    unpack_from = struct.unpack_from
    pack_into = struct.pack_into

    class Run:
        """What every connection's callbacks share during one command."""

        def __init__(self):
            self.mode = "idle"
            self.count = 0
            self.bad = 0
            self.sent = 0
            self.sending = False
            self.mt = BINARY
            self.payload = b""
            self.size = 0
            self.t0 = 0
            self.t1 = 0
            self.lat_s = []
            self.lat_a = []
            self.drained = None
            self.disconnected = 0
            self.gone = None

    run = Run()

    class Client(WSListener):
        __slots__ = ("t",)

        def on_ws_connected(self, transport):
            self.t = transport

        def on_ws_frame(self, transport, frame):
            mt = frame.msg_type
            if mt is CLOSE:
                transport.disconnect()
                return
            if mt is not TEXT and mt is not BINARY:
                return
            r = run
            r.count += 1
            if r.mode == "lat":
                now = mono()
                s, a = unpack_from("<qq", frame.get_payload_as_memoryview())
                if r.t0 <= s < r.t1:
                    r.lat_s.append(now - s)
                    r.lat_a.append(now - a)
            elif frame.payload_size != r.size:
                r.bad += 1
            if r.sending:
                transport.send(r.mt, r.payload)
                r.sent += 1
            elif r.drained is not None and r.count >= r.sent and not r.drained.done():
                r.drained.set_result(None)

        def on_ws_disconnected(self, transport):
            run.disconnected += 1
            if run.gone is not None and not run.gone[0].done() and run.disconnected >= run.gone[1]:
                run.gone[0].set_result(None)

    conns = []
    idle = []

    def client_kw(client):
        kw = {}
        client = client or {}
        if client.get("token"):
            kw["extra_headers"] = {"Authorization": "Bearer " + client["token"]}
        if client.get("cafile"):
            import ssl

            kw["ssl_context"] = ssl.create_default_context(cafile=client["cafile"])
        return kw

    async def open_many(url, n, srcs, into, parallel=64, client=None):
        sem = asyncio.Semaphore(parallel)
        errors = []
        base = client_kw(client)

        async def one(i):
            kw = dict(base)
            if srcs:
                kw["local_addr"] = (srcs[i % len(srcs)], 0)
            async with sem:
                try:
                    t, c = await ws_connect(Client, url, enable_auto_ping=False, max_frame_size=1 << 24,
                                            websocket_handshake_timeout=60, **kw)
                    into.append(c)
                except Exception as e:  # counted and reported, never hidden
                    errors.append("%s: %s" % (type(e).__name__, e))

        await asyncio.gather(*(one(i) for i in range(n)))
        return errors

    async def close_many(cs, timeout=20.0):
        loop = asyncio.get_running_loop()
        run.disconnected = 0
        live = [c for c in cs if not c.t.is_disconnected]
        if not live:
            return 0
        run.gone = (loop.create_future(), len(live))
        for c in live:
            try:
                c.t.send_close(WSCloseCode.OK)
            except Exception:
                pass
            c.t.disconnect()
        try:
            await asyncio.wait_for(run.gone[0], timeout)
        except asyncio.TimeoutError:
            pass
        run.gone = None
        return len(live)

    async def sleep_until(t_ns):
        d = t_ns - mono()
        if d > 0:
            await asyncio.sleep(d / 1e9)

    async def throughput(cmd):
        r = run
        r.mode = "tp"
        r.count = r.bad = r.sent = 0
        r.mt = TEXT if cmd["kind"] == "json" else BINARY
        r.payload = payload(cmd["size"], cmd["kind"])
        r.size = cmd["size"]
        r.sending = True
        t0 = int(cmd["t_start"] * 1e9)
        t1 = int(cmd["t_end"] * 1e9)
        for c in conns:
            for _ in range(cmd["depth"]):
                c.t.send(r.mt, r.payload)
                r.sent += 1
        await sleep_until(t0)
        c0, m0 = r.count, mono()
        await sleep_until(t1)
        c1, m1 = r.count, mono()
        r.sending = False
        if r.count < r.sent:
            r.drained = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(r.drained, 10.0)
            except asyncio.TimeoutError:
                pass
            r.drained = None
        return {"count": c1 - c0, "elapsed": (m1 - m0) / 1e9, "bad": r.bad,
                "lost": r.sent - r.count, "late": m0 - t0 > 50_000_000}

    async def latency(cmd):
        r = run
        r.mode = "lat"
        r.count = r.sent = 0
        r.mt = BINARY
        r.sending = False
        r.size = cmd["size"]
        r.lat_s = []
        r.lat_a = []
        buf = bytearray(payload(cmd["size"], "bin"))
        t_go = int(cmd["t_go"] * 1e9)
        r.t0 = int(cmd["t_start"] * 1e9)
        r.t1 = int(cmd["t_end"] * 1e9)
        interval = 1e9 / cmd["rate"]
        sched = float(t_go)
        n = len(conns)
        i = 0
        await sleep_until(t_go)
        while sched < r.t1:
            now = mono()
            while sched <= now and sched < r.t1:
                pack_into("<qq", buf, 0, int(sched), now)
                conns[i % n].t.send(BINARY, buf)
                r.sent += 1
                i += 1
                sched += interval
            await asyncio.sleep(max(0.0, (sched - mono()) / 1e9))
        if r.count < r.sent:
            r.drained = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(r.drained, 10.0)
            except asyncio.TimeoutError:
                pass
            r.drained = None
        return {"lat_sched_ns": r.lat_s, "lat_actual_ns": r.lat_a, "sent": r.sent,
                "lost": r.sent - r.count}

    async def serve():
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        out = sys.stdout
        out.write("READY\n")
        out.flush()
        while True:
            line = await reader.readline()
            if not line:
                return
            cmd = json.loads(line)
            op = cmd["op"]
            try:
                if op == "connect":
                    conns.clear()
                    errs = await open_many(cmd["url"], cmd["conns"], cmd.get("src"), conns,
                                          client=cmd.get("client"))
                    res = {"conns": len(conns), "errors": errs[:5], "n_errors": len(errs)}
                elif op == "throughput":
                    res = await throughput(cmd)
                    await close_many(conns)
                    conns.clear()
                elif op == "latency":
                    res = await latency(cmd)
                    await close_many(conns)
                    conns.clear()
                elif op == "open_idle":
                    errs = await open_many(cmd["url"], cmd["n"], cmd.get("src"), idle, cmd.get("parallel", 64),
                                          client=cmd.get("client"))
                    res = {"open": len(idle), "errors": errs[:5], "n_errors": len(errs)}
                elif op == "close_idle":
                    res = {"closed": await close_many(idle)}
                    idle.clear()
                elif op == "exit":
                    out.write(json.dumps({"ok": True}) + "\n")
                    out.flush()
                    return
                else:
                    res = {"error": "unknown op %r" % op}
            except Exception as e:
                res = {"error": "%s: %s" % (type(e).__name__, e)}
            run.mode = "idle"
            out.write(json.dumps(res) + "\n")
            out.flush()

    uvloop.run(serve())


# ---- parent side ---------------------------------------------------------------

class WorkerDied(RuntimeError):
    pass


class LoadGen:
    """``nprocs`` worker processes; every command goes to all of them."""

    def __init__(self, nprocs, python=sys.executable, cwd=None):
        self.procs = []
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        for _ in range(nprocs):
            p = subprocess.Popen([python, "-m", "bench.loadgen"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, cwd=cwd, env=env, text=True,
                                 start_new_session=True)
            self.procs.append(p)
        for p in self.procs:
            line = self._readline(p, 30.0)
            if line.strip() != "READY":
                raise WorkerDied("load generator did not start: %r" % line)

    @property
    def pids(self):
        return [p.pid for p in self.procs]

    def _readline(self, p, timeout):
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if not r:
            raise WorkerDied("load generator %d silent for %.0fs" % (p.pid, timeout))
        line = p.stdout.readline()
        if not line:
            raise WorkerDied("load generator %d exited (%s)" % (p.pid, p.poll()))
        return line

    def send(self, cmds):
        """Send cmds[i] to worker i (or the same dict to all)."""
        if isinstance(cmds, dict):
            cmds = [cmds] * len(self.procs)
        for p, c in zip(self.procs, cmds):
            p.stdin.write(json.dumps(c) + "\n")
            p.stdin.flush()

    def collect(self, timeout=120.0):
        return [json.loads(self._readline(p, timeout)) for p in self.procs]

    def command(self, cmds, timeout=120.0):
        self.send(cmds)
        return self.collect(timeout)

    def connect(self, url, conns_per_worker, src=None, client=None):
        res = self.command({"op": "connect", "url": url, "conns": conns_per_worker, "src": src, "client": client})
        errs = sum(r.get("n_errors", 0) for r in res)
        if errs:
            raise RuntimeError("load generator could not connect to %s: %s" % (url, res[0].get("errors")))
        return sum(r["conns"] for r in res)

    def throughput(self, url, size, kind, depth, conns_per_worker, warm, dur, watch_pids, backend_pids=(),
                   client=None):
        """One closed-loop run; returns msgs/s and CPU of the watched pids and the workers."""
        self.connect(url, conns_per_worker, client=client)
        now = time.monotonic()
        t_start = now + warm
        t_end = t_start + dur
        self.send({"op": "throughput", "size": size, "kind": kind, "depth": depth,
                   "t_start": t_start, "t_end": t_end})
        cpu = self._sample(t_start, t_end, watch_pids, backend_pids)
        res = self.collect()
        for r in res:
            if "error" in r:
                raise RuntimeError("load generator: %s" % r["error"])
        count = sum(r["count"] for r in res)
        elapsed = max(r["elapsed"] for r in res) or dur
        out = {
            "msgs_per_s": count / elapsed,
            "messages": count,
            "elapsed_s": elapsed,
            "bad": sum(r["bad"] for r in res),
            "late": any(r["late"] for r in res),
        }
        out.update(cpu)
        out["peer_cpu_us_per_msg"] = (cpu["peer_cpu_s"] * 1e6 / count) if count else None
        return out

    def latency(self, url, size, rate, conns_per_worker, warm, dur, watch_pids, backend_pids=(), client=None):
        """One open-loop run at ``rate`` messages/s in total; returns latency samples (µs)."""
        self.connect(url, conns_per_worker, client=client)
        now = time.monotonic()
        t_go = now + 0.05
        t_start = t_go + warm
        t_end = t_start + dur
        self.send({"op": "latency", "size": size, "rate": rate / len(self.procs),
                   "t_go": t_go, "t_start": t_start, "t_end": t_end})
        cpu = self._sample(t_start, t_end, watch_pids, backend_pids)
        res = self.collect()
        for r in res:
            if "error" in r:
                raise RuntimeError("load generator: %s" % r["error"])
        lat_s = []
        lat_a = []
        for r in res:
            lat_s.extend(x / 1000.0 for x in r["lat_sched_ns"])
            lat_a.extend(x / 1000.0 for x in r["lat_actual_ns"])
        out = {"lat_sched_us": lat_s, "lat_actual_us": lat_a,
               "sent": sum(r["sent"] for r in res), "lost": sum(r["lost"] for r in res)}
        out.update(cpu)
        return out

    def _sample(self, t_start, t_end, watch_pids, backend_pids=()):
        time.sleep(max(0.0, t_start - time.monotonic()))
        w0 = procfs.cpu_many(self.pids)
        p0 = procfs.cpu_many(watch_pids)
        b0 = procfs.cpu_many(backend_pids)
        m0 = time.monotonic()
        time.sleep(max(0.0, t_end - time.monotonic()))
        w1 = procfs.cpu_many(self.pids)
        p1 = procfs.cpu_many(watch_pids)
        b1 = procfs.cpu_many(backend_pids)
        wall = time.monotonic() - m0
        lg = [(w1[p] - w0[p]) / wall for p in self.pids]
        return {
            "peer_cpu_s": sum(p1[p] - p0[p] for p in watch_pids),
            "peer_cpu_pct": 100.0 * sum(p1[p] - p0[p] for p in watch_pids) / wall,
            "loadgen_cpu_pct": [round(100.0 * x, 1) for x in lg],
            "loadgen_flag": max(lg) > LOADGEN_CPU_FLAG,
            "backend_cpu_pct": round(100.0 * sum(b1[p] - b0[p] for p in backend_pids) / wall, 1),
            "window_s": wall,
        }

    def open_idle(self, url, n, src=None, parallel=64):
        per = [n // len(self.procs) + (1 if i < n % len(self.procs) else 0) for i in range(len(self.procs))]
        res = self.command([{"op": "open_idle", "url": url, "n": k, "src": src, "parallel": parallel}
                            for k in per], timeout=300.0)
        return sum(r.get("open", 0) for r in res), [e for r in res for e in r.get("errors", [])]

    def close_idle(self):
        return sum(r.get("closed", 0) for r in self.command({"op": "close_idle"}, timeout=120.0))

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.stdin.write('{"op": "exit"}\n')
                    p.stdin.flush()
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + 3.0
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait()
        self.procs = []


if __name__ == "__main__":
    _worker()
