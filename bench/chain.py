"""The message chain's own cost per message, in process: time, allocations, and a naive step beside it.

``python -m bench.chain [--quick]`` prints JSON. It compiles the bench's
realistic chain (``CHAIN``, the same one the ``edgegate-chain`` peer runs:
text or binary, size cap, per-connection message and byte buckets, JSON
required with a depth limit and a shape, all six signature sets) and times
``MessageGate.check`` on the load generator's own payloads (random bytes, or
the JSON document of exactly the size), one payload over and over:

- ``us_per_msg``: the median over ``repeats`` runs of ``n`` checks each
  (``time.perf_counter_ns``); the gate's buckets are refilled between runs so
  the rate rule never refuses;
- ``allocs_per_msg``: CPython allocator calls per check (``bench/alloccount.c``);
- ``naive_us_per_msg``: what the issue calls a naive inspection step for the
  same JSON payload: ``json.loads`` plus one case-insensitive regex of the
  same patterns over the decoded text, median the same way.

Besides the load generator's ``bin`` and ``json`` payloads (the JSON one
holds no space, quote or dot in its data), ``chat`` is the same document
with English prose as its data: spaces, dots and apostrophes, the bytes that
make the scanner search more of its pattern groups (its worst clean case).

The issue's targets: <= 3 us per 64 B message, <= 40 us per 4 KiB message.
A malicious payload stops at its first hit and costs less than a clean one,
so clean payloads are the worst case measured here.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SIGNATURES = ["sqli", "xss", "cmd", "path", "nosql", "proto"]
CHAIN = {
    "description": "the bench's realistic chain: every rule on, limits the bench never reaches",
    "max_bytes": 65536,
    "rate": {"messages_per_s": 1000000, "bytes_per_s": 1 << 30},
    "json": True,
    "max_depth": 8,
    "shape": {"type": "object", "required": ["type", "seq"], "additionalProperties": False,
              "properties": {"type": {"type": "string", "maxLength": 32}, "seq": {"type": "integer", "minimum": 0},
                             "ok": {"type": "boolean"}, "data": {"type": "string", "maxLength": 65536}}},
    "signatures": SIGNATURES,
}
SIZES = [64, 1024, 4096, 65536]
TARGET_US = {64: 3.0, 4096: 40.0}


def gate():
    from edgegate.config.messages import message_policies
    from edgegate.policy.messages import MessagePolicy

    s = message_policies({"message_policies": {"bench": CHAIN}}, 1 << 20)["bench"]
    return MessagePolicy("bench", **s.kwargs).gate(0)


def _refill(g):
    p = g.policy
    g.state[0] = p.msg_burst * 1000000
    g.state[1] = p.byte_burst * 1000000


def time_check(g, text, data, n, repeats):
    per = []
    check = g.check
    for _ in range(repeats):
        _refill(g)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            check(text, data, 0)
        per.append((time.perf_counter_ns() - t0) / n / 1000)
    return statistics.median(per)


def allocs_check(g, text, data, n):
    from .alloc import build_counter

    counter = build_counter()
    _refill(g)
    check = g.check
    check(text, data, 0)
    counter.install(0)
    for _ in range(n):
        check(text, data, 0)
    counts = counter.counts()
    counter.uninstall()
    return sum(counts) / n


def naive(n, data, repeats):
    from edgegate.policy.signatures import SETS

    pats = [p for name in SIGNATURES for p in SETS[name]]
    rx = re.compile("|".join(re.escape(p) for p in pats), re.I)

    def step():
        doc = json.loads(data)
        return doc, rx.search(data.decode())

    per = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            step()
        per.append((time.perf_counter_ns() - t0) / n / 1000)
    return statistics.median(per)


_WORDS = ("the sensor on the north gate reported a reading of 21.5 degrees; it's within range, "
          "so we'll keep the schedule. don't forget the meeting at 10.30 with the ops team. ")


def chat_payload(size):
    """The bench's JSON document of exactly ``size`` bytes with prose as its data."""
    head = '{"type":"say","seq":123456,"ok":true,"data":"'
    tail = '"}'
    n = size - len(head) - len(tail)
    return (head + (_WORDS * (n // len(_WORDS) + 1))[:n] + tail).encode("ascii")


def run(quick=False):
    from .loadgen import payload

    g = gate()
    sizes = [64, 4096] if quick else SIZES
    repeats = 5 if quick else 9
    out = {"chain": CHAIN, "python": sys.version.split()[0], "rows": []}
    for size in sizes:
        n = max(50, min(20000, 2000000 // size)) // (4 if quick else 1)
        for kind in ("bin", "json", "chat"):
            data = chat_payload(size) if kind == "chat" else payload(size, kind)
            # The gateway hands the chain a memoryview into its receive ring.
            view = memoryview(bytearray(data))
            text = kind != "bin"
            row = {"size": size, "kind": kind, "n": n,
                   "us_per_msg": time_check(g, text, view, n, repeats),
                   "allocs_per_msg": allocs_check(g, text, view, min(n, 2000))}
            if text:
                row["naive_us_per_msg"] = naive(n, data, repeats)
            if size in TARGET_US:
                row["target_us"] = TARGET_US[size]
                row["meets_target"] = row["us_per_msg"] <= TARGET_US[size]
            out["rows"].append(row)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.quick), indent=1))


if __name__ == "__main__":
    main()
