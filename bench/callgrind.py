"""Instructions per frame of edgegate's frame parser and per message of its message chain, by callgrind.

The measured program (``python -m bench.callgrind parse SIZE N``) builds one
chunk of whole masked frames (as many as fit in 16 KiB, at least one), then
feeds it N/K times to a server-side ``edgegate.ws.connection.Connection`` in
relay mode (``assemble=False``: validated fragments, payload unmasked in place)
and drains ``events()``. Each size runs twice, with N1 and N2 frames; the
difference of the two totals over N2 - N1 cancels start-up, imports and the
chunk's construction, leaving the per-frame cost of: copying the bytes into
the receive buffer, header parsing, unmasking, the Fragment event. callgrind
counts instructions, not time, so the number does not move with machine load.

``python -m bench.callgrind chain SIZE N`` runs ``bench.chain``'s realistic
chain (``MessageGate.check``) N times on the load generator's JSON payload of
SIZE bytes, a memoryview as the gateway hands it; differenced the same way.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (size, n1, n2): run lengths chosen to keep each valgrind run to a few seconds.
PLAN = [(64, 20000, 60000), (4096, 2000, 6000)]
QUICK_PLAN = [(64, 5000, 15000), (4096, 500, 1500)]


def available():
    return shutil.which("valgrind") is not None


def _total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in %s" % path)


def _top(path, n=8):
    """The n functions with the most self instructions (callgrind_annotate)."""
    if shutil.which("callgrind_annotate") is None:
        return []
    out = subprocess.run(["callgrind_annotate", "--threshold=99", path], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$", line)
        if m and "PROGRAM TOTALS" not in line:
            fn = m.group(3).split(" [")[0].strip()
            where, _, func = fn.rpartition(":")
            rows.append({"instructions": int(m.group(1).replace(",", "")), "pct": float(m.group(2)),
                         "function": "%s:%s" % (os.path.basename(where), func) if where else func})
    return rows[:n]


def count(size, n, tmp, mode="parse"):
    out = os.path.join(tmp, "cg.%s.%d.%d.out" % (mode, size, n))
    # One thread: numpy's OpenBLAS pool would add its threads' spinning to the count.
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
           sys.executable, "-m", "bench.callgrind", mode, str(size), str(n)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("callgrind run failed: %s" % r.stderr[-500:])
    m = re.search(r"(?:parsed|checked) (\d+)", r.stdout)
    if m is None:
        raise RuntimeError("parser run did not finish: %r" % r.stdout[-200:])
    return _total(out), int(m.group(1)), out


def run(plan=PLAN, log=print, mode="parse"):
    """Instructions per frame (parse) or per message (chain) for each (size, n1, n2) in ``plan``."""
    res = {}
    tmp = tempfile.mkdtemp(prefix="edgegate-cg-")
    try:
        for size, n1, n2 in plan:
            t1, f1, _ = count(size, n1, tmp, mode)
            t2, f2, path = count(size, n2, tmp, mode)
            per = (t2 - t1) / (f2 - f1)
            res[str(size)] = {"instructions_per_frame": per, "n1": f1, "n2": f2, "total_n1": t1,
                              "total_n2": t2, "top_self": _top(path)}
            unit = "frame" if mode == "parse" else "message"
            log("  callgrind %s %5d B: %.0f instructions/%s" % (mode, size, per, unit))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


CHAIN_PLAN = [(64, 5000, 15000), (4096, 500, 1500)]


def _chain(size, n):  # pragma: no cover - runs under valgrind
    from .chain import _refill, gate
    from .loadgen import payload

    g = gate()
    view = memoryview(bytearray(payload(size, "json")))
    done = 0
    for _ in range(n):
        _refill(g)
        g.check(True, view, 0)
        done += 1
    print("checked %d" % done)


def _parse(size, n):  # pragma: no cover - runs under valgrind
    from edgegate.ws.connection import Connection
    from edgegate.ws.events import Fragment

    from .alloc import MASK, ws_frame

    frame = ws_frame(os.urandom(size) if size else b"", 0x2, MASK)
    k = max(1, 16384 // len(frame))
    chunk = frame * k
    rx_bytes = max(65550, len(chunk) + 14)
    conn = Connection(False, rx_bytes, rx_bytes - 14, 1 << 20, assemble=False)
    seen = 0
    for _ in range(n // k):
        conn.receive_data(chunk)
        for ev in conn.events():
            if type(ev) is Fragment:
                seen += 1
    if conn.failure is not None:
        raise SystemExit("parser failed: %s" % conn.failure)
    if seen != n // k * k:
        raise SystemExit("parsed %d frames, expected %d" % (seen, n // k * k))
    print("parsed %d" % seen)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "parse":
        _parse(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "chain":
        _chain(int(sys.argv[2]), int(sys.argv[3]))
    else:
        import json

        print(json.dumps(run(), indent=1))
