"""Where edgegate's relay path spends its time: cProfile over the in-process gateway.

Uses the same in-process setup as bench/alloc.py (the real Gateway, a client
and an echo that do almost nothing per frame) and profiles a window of echoed
messages after a warm-up. Rows are functions by their own time (tottime), in
microseconds per relayed frame (two per echoed message); the client and echo
rows are listed too so they can be told apart. cProfile inflates small Python
functions, so read the ranking, not the absolute numbers.
"""

import asyncio
import cProfile
import os
import pstats

from . import alloc


async def _profile(size, text, depth, warm, msgs):
    h = alloc.Harness(size, text)
    h.finished = asyncio.get_running_loop().create_future()
    c, gw, closers = await alloc._setup(h, depth, True)
    prof = cProfile.Profile()
    h.milestones = [(warm, prof.enable), (warm + msgs, prof.disable)]
    h.stop_at = warm + msgs
    c.start()
    await asyncio.wait_for(h.finished, alloc.FINISH_S)
    for f in closers:
        f()
    await asyncio.sleep(0.05)
    return prof


def _short(fn):
    for mark in (os.sep + "edgegate" + os.sep, os.sep + "bench" + os.sep):
        if mark in fn:
            return fn[fn.rindex(mark) + 1:]
    return os.path.basename(fn)


def run(size=64, text=False, depth=8, warm=3000, msgs=20000, top=15, loop="uvloop"):
    """Top functions by own time per relayed frame; returns a list of rows."""
    if loop == "uvloop":
        import uvloop
        prof = uvloop.run(_profile(size, text, depth, warm, msgs))
    else:
        prof = asyncio.run(_profile(size, text, depth, warm, msgs))
    st = pstats.Stats(prof)
    frames = 2 * msgs
    total = sum(v[2] for v in st.stats.values())
    rows = []
    for (fn, line, name), (cc, nc, tt, ct, callers) in st.stats.items():
        rows.append({"function": "%s:%d(%s)" % (_short(fn), line, name) if line else name,
                     "calls_per_frame": nc / frames, "own_us_per_frame": tt * 1e6 / frames,
                     "own_pct": 100.0 * tt / total if total else 0.0})
    rows.sort(key=lambda r: -r["own_us_per_frame"])
    return {"size": size, "text": text, "depth": depth, "loop": loop,
            "total_us_per_frame": total * 1e6 / frames, "top": rows[:top]}


if __name__ == "__main__":
    import json
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    print(json.dumps(run(size), indent=1))
