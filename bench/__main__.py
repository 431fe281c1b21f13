"""``python -m bench``: run every measurement, print the tables, write the results.

    python -m bench                     # full: every scenario, 5 rounds (about 20 min)
    python -m bench --quick             # under a minute: 64 B and 4 KiB binary, depth 8, 3 rounds
    python -m bench --only edgegate,nginx
    python -m bench --skip memory,callgrind

Order: memory (each peer fresh), throughput rounds, latency rounds, then the
in-process measurements (allocations, profile) and callgrind. Writes
bench/results/latest.json (every raw number) and bench/LATEST.md (the tables).
Every process started here is killed on the way out, Ctrl-C and errors included.
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import time

from . import loadgen, memory, peers, procfs, report

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
PARTS = ["memory", "throughput", "latency", "alloc", "chain", "profile", "callgrind"]


def _percentile(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def _versions():
    v = {}

    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception:
            return "missing"

    v["nginx"] = out(["nginx", "-v"]).split("/")[-1]
    v["HAProxy"] = out(["haproxy", "-v"]).split()[2] if shutil.which("haproxy") else "missing"
    for mod in ("websockets", "picows", "uvloop"):
        try:
            from importlib.metadata import version

            v[mod] = version(mod)
        except Exception:
            v[mod] = "missing"
    return v


def revision():
    """The commit edgegate/ is at, and whether edgegate/ has uncommitted changes."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=peers.ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "edgegate", "boards"], cwd=peers.ROOT,
                           capture_output=True, text=True).stdout.strip()
    return rev.stdout.strip() + (" + uncommitted edgegate/ changes" if dirty else "")


def machine():
    try:
        import uvloop  # noqa: F401

        uv = True
    except ImportError:
        uv = False
    return {"nproc": os.cpu_count(), "cpu": procfs.cpu_model(), "kernel": platform.release(),
            "python": platform.python_version(), "versions": _versions(), "uvloop": uv,
            "edgegate_rev": revision()}


def settings(args):
    """Every knob of the run, from --quick or full."""
    q = args.quick
    s = {
        "rounds": args.rounds or (3 if q else 5),
        "sizes": ([int(x) for x in args.sizes.split(",")] if args.sizes
                  else [64, 4096] if q else [64, 1024, 4096, 65536]),
        "kinds": args.kinds.split(",") if args.kinds else (["bin"] if q else ["bin", "json"]),
        "depths": [8] if q else [1, 8],
        "procs": args.procs,
        "conns": 2 if q else 4,
        "warmup": 0.15 if q else 0.4,
        "duration": 0.35 if q else 1.0,
        "lat_size": 1024,
        "lat_rate": args.rate,
        "lat_warmup": 0.2 if q else 0.5,
        "lat_duration": 0.8 if q else 3.0,
        "lat_rounds": 1 if q else (args.rounds or 5),
        "mem_counts": [300] if q else [1000, 5000],
        "tracemalloc_conns": 300 if q else 1000,
        "alloc": [(64, False, 1, 5000, 1000, 20000)] if q else
                 [(64, False, 1, 20000, 2000, 1000000), (64, False, 8, 20000, 2000, 0),
                  (4096, False, 1, 10000, 1000, 0), (4096, True, 1, 10000, 1000, 0)],
        "profile_sizes": [64] if q else [64, 4096],
        "callgrind": args.callgrind or not q,
    }
    return s


def run_throughput(s, names, started, echo, lg, res, log):
    scenarios = []
    for size in s["sizes"]:
        for kind in s["kinds"]:
            for depth in s["depths"]:
                scenarios.append({"key": "%s-%d-d%d" % (kind, size, depth), "size": size, "kind": kind,
                                  "depth": depth, "runs": []})
    res["scenarios"] = scenarios
    for rnd in range(s["rounds"]):
        for sc in scenarios:
            order = list(names)
            random.shuffle(order)
            row = {}
            for name in order:
                p = started[name]
                try:
                    if p.p is not None and p.p.poll() is not None:
                        raise RuntimeError("%s exited (%s): %s" % (name, p.p.returncode, p.log_tail(3)))
                    r = lg.throughput(p.url, sc["size"], sc["kind"], sc["depth"], s["conns"], s["warmup"],
                                      s["duration"], p.pids, echo.pids, client=p.client)
                    if r["messages"] == 0:
                        raise RuntimeError("no echo came back")
                    r["order"] = order.index(name)
                    row[name] = r
                except Exception as e:
                    msg = "throughput %s %s round %d: %s" % (name, sc["key"], rnd + 1, e)
                    res["errors"].append(msg)
                    log("  " + msg)
                    row[name] = {"error": str(e)}
            sc["runs"].append(row)
            log("  round %d %-14s %s" % (rnd + 1, sc["key"], "  ".join(
                "%s=%s%s" % (n, report.fmt_rate(row[n].get("msgs_per_s")), "!" if row[n].get("loadgen_flag") else "")
                for n in names)))


def run_latency(s, names, started, echo, lg, res, log):
    rounds = []
    for rnd in range(s["lat_rounds"]):
        order = list(names)
        random.shuffle(order)
        row = {}
        for name in order:
            p = started[name]
            try:
                r = lg.latency(p.url, s["lat_size"], s["lat_rate"], s["conns"], s["lat_warmup"],
                               s["lat_duration"], p.pids, echo.pids, client=p.client)
                xs, ys = r.pop("lat_sched_us"), r.pop("lat_actual_us")
                r.update({"n": len(xs), "p50": _percentile(xs, 0.5), "p99": _percentile(xs, 0.99),
                          "p999": _percentile(xs, 0.999), "actual_p50": _percentile(ys, 0.5),
                          "actual_p99": _percentile(ys, 0.99), "actual_p999": _percentile(ys, 0.999)})
                if not xs:
                    raise RuntimeError("no latency sample")
                row[name] = r
            except Exception as e:
                msg = "latency %s round %d: %s" % (name, rnd + 1, e)
                res["errors"].append(msg)
                log("  " + msg)
        rounds.append(row)
        log("  latency round %d  %s" % (rnd + 1, "  ".join(
            "%s=%.0f/%.0f" % (n, row[n]["p50"], row[n]["p99"]) for n in names if n in row)))
    summary = {}
    for name in names:
        per = [r[name] for r in rounds if name in r]
        if not per:
            continue
        sm = {q: report.median([x[q] for x in per]) for q in ("p50", "p99", "p999", "actual_p50", "actual_p99")}
        sm["lost"] = sum(x["lost"] for x in per)
        for q in ("p50", "p99", "p999"):
            adds = [r[name][q] - r["direct"][q] for r in rounds if name in r and "direct" in r]
            sm["add_" + q] = report.median(adds) if "direct" in names else None
        summary[name] = sm
    res["latency"] = {"size": s["lat_size"], "rate": s["lat_rate"], "rounds": rounds, "summary": summary}


def run_memory(s, names, wd, echo, lg, res, log):
    out = {"counts": s["mem_counts"], "peers": {}}
    for name in names:
        try:
            out["peers"][name] = memory.measure(name, lg, echo, wd, s["mem_counts"], log=log)
        except Exception as e:
            res["errors"].append("memory %s: %s" % (name, e))
            log("  memory %s: %s" % (name, e))
            out["peers"][name] = {"error": str(e)}
    if any(n.startswith("edgegate") for n in names):
        f = memory.edgegate_formula()
        out["edgegate_formula"] = {k: v for k, v in f.items() if k != "limits"}
        checks = []
        for name in names:
            r = out["peers"].get(name, {})
            if not name.startswith("edgegate") or "counts" not in r:
                continue
            for n, c in r["counts"].items():
                got = c.get("rss_per_pair")
                if got is None:
                    continue
                if c.get("opened", 0) < int(n):
                    checks.append("%s @%s: not checked, only %d of %s connections opened (%s)"
                                  % (name, n, c.get("opened", 0), n, "; ".join(c.get("errors", []))[:120]))
                    continue
                checks.append("%s @%s: measured %.0f B RSS/pair <= conn_bytes() %d: %s; idle target <= 8 KiB "
                              "(8192): %s" % (name, n, got, f["conn_bytes"], "PASS" if got <= f["conn_bytes"] else "FAIL",
                                              "PASS" if got <= 8192 else "FAIL"))
        out["edgegate_checks"] = checks
        for c in checks:
            log("  " + c)
        try:
            out["tracemalloc"] = memory.tracemalloc_split(lg, echo, s["tracemalloc_conns"], log=log)
        except Exception as e:
            res["errors"].append("tracemalloc split: %s" % e)
    res["memory"] = out


def _inproc(module, argv, timeout=900):
    """Run an in-process measurement in a fresh interpreter; return the JSON it prints.

    A fresh process imports edgegate/ as it is now (this one imported parts of
    it at start, and the tree may have moved since), and keeps the allocator
    hooks and tracemalloc away from the bench itself.
    """
    r = subprocess.run([sys.executable, "-m", module] + [str(a) for a in argv], cwd=peers.ROOT,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["exit status %d" % r.returncode])[-1]
        raise RuntimeError(tail)
    return json.loads(r.stdout)


def _twice(fn):
    """Run an in-process measurement; once more after a pause if it fails.

    The in-process parts import edgegate/ when they start; a tree caught in
    the middle of someone's edit fails once and is usually whole again soon.
    """
    try:
        return fn()
    except Exception:
        time.sleep(5)
        return fn()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a subset that finishes in under a minute")
    ap.add_argument("--only", help="comma-separated peers (always adds direct): " + ",".join(peers.ALL))
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: " + ",".join(PARTS))
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--kinds", default="", help="throughput payload kinds, e.g. bin,json (default: bin in --quick)")
    ap.add_argument("--sizes", default="", help="throughput payload sizes in bytes, e.g. 64,4096")
    ap.add_argument("--procs", type=int, default=2, help="load generator processes")
    ap.add_argument("--rate", type=int, default=2000, help="offered msg/s for the latency runs")
    ap.add_argument("--callgrind", action="store_true", help="run callgrind in --quick too")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=os.path.join(RESULTS, "latest.json"))
    ap.add_argument("--md", default=os.path.join(HERE, "LATEST.md"), help="where the tables go ('' for nowhere)")
    args = ap.parse_args(argv)
    skip = set(x for x in args.skip.split(",") if x)
    bad = skip - set(PARTS)
    if bad:
        ap.error("unknown part(s) to skip: %s" % ", ".join(sorted(bad)))
    names = peers.QUICK if args.quick else peers.ALL
    if args.only:
        want = [x.strip() for x in args.only.split(",") if x.strip()]
        unknown = [x for x in want if x not in peers.ALL]
        if unknown:
            ap.error("unknown peer(s): %s" % ", ".join(unknown))
        names = [n for n in peers.ALL if n in want or n == "direct"]
    s = settings(args)
    random.seed(args.seed)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, _interrupt)
    atexit.register(peers.stop_all)
    t_begin = time.monotonic()

    def log(msg):
        print("[%6.1fs] %s" % (time.monotonic() - t_begin, msg), file=sys.stderr, flush=True)

    res = {"mode": "quick" if args.quick else "full", "started": datetime.datetime.now().isoformat(timespec="seconds"),
           "peers": names, "rounds": s["rounds"], "settings": {k: v for k, v in s.items()},
           "machine": machine(), "edgegate_board": peers.EDGEGATE_BOARD, "not_yet": peers.not_yet(),
           "revisions": {},
           "loadgen": {"procs": s["procs"], "conns_per_proc": s["conns"], "duration_s": s["duration"],
                       "warmup_s": s["warmup"], "cpu_flag_pct": 100 * loadgen.LOADGEN_CPU_FLAG},
           "errors": []}
    for tool in ("nginx", "haproxy"):
        if shutil.which(tool) is None and any(n.startswith(tool) for n in names):
            res["errors"].append("%s is not installed: its peers are left out (apt-get install -y %s)" % (tool, tool))
            names = [n for n in names if not n.startswith(tool)]
            res["peers"] = names
    wd = peers.workdir()
    lg = None
    echo = None
    started = {}
    interrupted = False
    try:
        log("machine: %(nproc)d CPU(s), %(cpu)s; edgegate %(edgegate_rev)s" % res["machine"])
        echo = peers.Echo(wd)
        lg = loadgen.LoadGen(s["procs"], cwd=peers.ROOT)
        if "memory" not in skip:
            res["revisions"]["memory"] = revision()
            log("memory: idle pairs %s per peer" % s["mem_counts"])
            run_memory(s, [n for n in names if n not in peers.THROUGHPUT_ONLY], wd, echo, lg, res, log)
        if "throughput" not in skip or "latency" not in skip:
            res["revisions"]["throughput, latency"] = revision()
            for n in names:
                try:
                    started[n] = peers.start(n, wd, echo.port)
                except Exception as e:
                    res["errors"].append("start %s: %s" % (n, e))
            live = [n for n in names if n in started]
            if "throughput" not in skip:
                log("throughput: %d rounds" % s["rounds"])
                run_throughput(s, live, started, echo, lg, res, log)
            if "latency" not in skip:
                log("latency: %d B at %d msg/s, %d round(s)" % (s["lat_size"], s["lat_rate"], s["lat_rounds"]))
                run_latency(s, [n for n in live if n not in peers.THROUGHPUT_ONLY], started, echo, lg, res, log)
            for p in started.values():
                p.stop()
            started = {}
        if "alloc" not in skip and any(n.startswith("edgegate") for n in names):
            res["alloc"] = []
            res["revisions"]["alloc, profile"] = revision()
            for size, text, depth, cnt, attr, growth in s["alloc"]:
                log("alloc: %d B %s depth %d" % (size, "text" if text else "binary", depth))
                try:
                    argv = ["--size", size, "--depth", depth, "--count", cnt, "--attr", attr, "--frames", growth]
                    a = _twice(lambda: _inproc("bench.alloc", argv + (["--text"] if text else [])))
                    res["alloc"].append(a)
                    log("  %.1f allocations per relayed frame" % a["allocs_per_relayed_frame"])
                except Exception as e:
                    res["errors"].append("alloc %d: %s: %s" % (size, type(e).__name__, e))
        if "chain" not in skip and any(n.startswith("edgegate") for n in names):
            log("chain: the message chain per message, in process")
            try:
                res["chain"] = _twice(lambda: _inproc("bench.chain", ["--quick"] if args.quick else []))
                for r in res["chain"]["rows"]:
                    log("  %5d B %-4s %.2f us/msg" % (r["size"], r["kind"], r["us_per_msg"]))
            except Exception as e:
                res["errors"].append("chain: %s: %s" % (type(e).__name__, e))
        if "profile" not in skip and any(n.startswith("edgegate") for n in names):
            res["profile"] = []
            for size in s["profile_sizes"]:
                log("profile: %d B" % size)
                try:
                    res["profile"].append(_twice(lambda: _inproc("bench.profile", [size])))
                except Exception as e:
                    res["errors"].append("profile %d: %s: %s" % (size, type(e).__name__, e))
        if "callgrind" not in skip:
            from . import callgrind

            if not s["callgrind"]:
                res["callgrind"] = {"skipped": "skipped in --quick (add --callgrind)"}
            elif not callgrind.available():
                res["callgrind"] = {"skipped": "valgrind is not installed"}
            else:
                res["revisions"]["callgrind"] = revision()
                log("callgrind: frame parser")
                try:
                    res["callgrind"] = callgrind.run(log=log)
                except Exception as e:
                    res["errors"].append("callgrind: %s" % e)
                log("callgrind: message chain")
                try:
                    res["callgrind_chain"] = callgrind.run(callgrind.CHAIN_PLAN, log=log, mode="chain")
                except Exception as e:
                    res["errors"].append("callgrind chain: %s" % e)
    except KeyboardInterrupt:
        interrupted = True
        res["errors"].append("interrupted")
        log("interrupted: stopping every process")
    finally:
        if lg is not None:
            lg.close()
        for p in started.values():
            p.stop()
        if echo is not None:
            echo.stop()
        peers.stop_all()
        shutil.rmtree(wd, ignore_errors=True)
    res["elapsed_s"] = time.monotonic() - t_begin
    res["revisions"]["end"] = revision()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    text = report.render(res)
    print(text)
    if args.md and not interrupted:
        with open(args.md, "w") as f:
            f.write(text + "\n")
    log("wrote %s%s" % (args.out, " and " + args.md if args.md and not interrupted else ""))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
