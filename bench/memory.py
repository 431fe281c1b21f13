"""Memory per idle connection pair, per peer, and what dominates it in edgegate.

For each peer (started fresh, memory config): open and close a few connections
(one-time allocations), read Rss/Pss of the peer's processes (smaps_rollup,
summed: nginx master + worker), hold N idle client connections through it
(each one also holds a backend connection: a pair), read again, close them,
read again. Bytes per pair = (held - before) / N; "after close" is what the
peer kept of it. For edgegate the documented worst case ``conn_bytes()`` of
the board and limits used is printed beside it (PASS when measured <= formula).

``python -m bench.memory inproc`` runs edgegate's Gateway in-process under
tracemalloc, so the per-connection bytes can be split by file:line.
"""

import json
import os
import subprocess
import sys
import time

from . import peers, procfs

SRC_ADDRS = ["127.0.0.%d" % i for i in range(2, 18)]


def edgegate_config(port=1, backend_port=2):
    """The parsed Config edgegate runs with in every bench run."""
    from edgegate.cli import load_board
    from edgegate.config import parse

    return parse(peers.edgegate_doc(port, backend_port), load_board(peers.EDGEGATE_BOARD))


def edgegate_formula():
    """The documented per-pair formula for the board and limits the bench runs edgegate with."""
    from edgegate.config.limits import conn_bytes

    lim = edgegate_config().limits
    return {"board": peers.EDGEGATE_BOARD, "conn_bytes": conn_bytes(lim),
            "conn_overhead_bytes": lim.get("conn_overhead_bytes"),
            "limits": dict(lim)}


def _settle(pids, quiet=0.2, timeout=5.0):
    """Wait until the pids' RSS stops moving (or timeout); return the last reading."""
    last = procfs.rollup_sum(pids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet)
        cur = procfs.rollup_sum(pids)
        if abs(cur["rss"] - last["rss"]) < 64 * 1024:
            return cur
        last = cur
    return last


def measure(name, lg, echo, workdir, counts, log=print):
    """Per-pair bytes for peer ``name`` at each count in ``counts``."""
    direct = name == "direct"
    p = None if direct else peers.start(name, workdir, echo.port)
    try:
        url = echo.url + "/" if direct else p.url
        pids = (lambda: echo.pids) if direct else (lambda: p.pids)
        lg.open_idle(url, 100, SRC_ADDRS)
        lg.close_idle()
        out = {"counts": {}}
        first = None
        for n in counts:
            before = _settle(pids())
            if first is None:
                first = before
            t0 = time.monotonic()
            opened, errs = lg.open_idle(url, n, SRC_ADDRS, parallel=128)
            open_s = time.monotonic() - t0
            held = _settle(pids())
            closed = lg.close_idle()
            after = _settle(pids())
            row = {
                "opened": opened,
                "errors": errs[:3],
                "open_s": round(open_s, 2),
                "rss_before": before["rss"],
                "rss_held": held["rss"],
                "rss_after_close": after["rss"],
                "pss_held": held["pss"],
                "rss_per_pair": (held["rss"] - before["rss"]) / opened if opened else None,
                "pss_per_pair": (held["pss"] - before["pss"]) / opened if opened else None,
                "rss_kept_after_close": after["rss"] - first["rss"],
                "closed": closed,
            }
            out["counts"][str(n)] = row
            log("  memory %-16s n=%-5d opened=%-5d rss/pair=%8.0f pss/pair=%8.0f kept-after-close=%+9d B  (%s)"
                % (name, n, opened, row["rss_per_pair"] or 0, row["pss_per_pair"] or 0,
                   row["rss_kept_after_close"], ", ".join(errs[:1]) or "ok"))
        out["rss_start"] = first["rss"]
        out["processes"] = len(pids())
        return out
    finally:
        if p is not None:
            p.stop()


def tracemalloc_split(lg, echo, n, top=12, log=print):
    """Run the Gateway in-process under tracemalloc; return per-connection bytes by file:line."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.memory", "inproc", "--echo-port", str(echo.port)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=peers.ROOT,
                            start_new_session=True)
    peers._LIVE.append(proc)
    proc._bench_log = open(os.devnull, "w")
    try:
        line = proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError("in-process gateway did not start: %r" % line)
        port = int(line.split()[1])
        url = "ws://127.0.0.1:%d/" % port
        lg.open_idle(url, 50, SRC_ADDRS)
        lg.close_idle()
        time.sleep(0.3)
        proc.stdin.write("base\n")
        proc.stdin.flush()
        proc.stdout.readline()
        opened, errs = lg.open_idle(url, n, SRC_ADDRS, parallel=128)
        time.sleep(0.5)
        proc.stdin.write("snap %d %d\n" % (opened, top))
        proc.stdin.flush()
        res = json.loads(proc.stdout.readline())
        lg.close_idle()
        res["opened"] = opened
        return res
    finally:
        peers.kill(proc)


def _inproc(echo_port):  # pragma: no cover - runs in its own process
    import asyncio
    import tracemalloc

    import uvloop

    from edgegate.gateway.log import Log
    from edgegate.gateway.server import Gateway

    port = peers.free_port()
    cfg = edgegate_config(port, echo_port)

    async def main():
        gw = Gateway(cfg, Log("error"))
        tracemalloc.start(1)
        await gw.start()
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        print("READY %d" % port, flush=True)
        base = None
        while True:
            line = (await reader.readline()).decode().split()
            if not line or line[0] == "exit":
                return
            if line[0] == "base":
                base = tracemalloc.take_snapshot()
                print("ok", flush=True)
            elif line[0] == "snap":
                n, top = int(line[1]), int(line[2])
                snap = tracemalloc.take_snapshot()
                flt = [tracemalloc.Filter(False, tracemalloc.__file__)]
                stats = snap.filter_traces(flt).compare_to(base.filter_traces(flt), "lineno")
                total = sum(s.size_diff for s in stats)
                rows = []
                for s in stats[:top]:
                    fr = s.traceback[0]
                    fn = fr.filename
                    for root in (peers.ROOT + os.sep, os.path.dirname(os.__file__) + os.sep):
                        if fn.startswith(root):
                            fn = fn[len(root):]
                    rows.append({"where": "%s:%d" % (fn, fr.lineno), "bytes_per_conn": s.size_diff / n,
                                 "blocks_per_conn": s.count_diff / n})
                print(json.dumps({"traced_bytes_per_conn": total / n, "top": rows,
                                  "sessions": len(gw.sessions)}), flush=True)

    uvloop.run(main())


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "inproc":
        _inproc(int(sys.argv[sys.argv.index("--echo-port") + 1]))
