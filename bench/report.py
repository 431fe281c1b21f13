"""Turn the results dict of a bench run into the Markdown tables it prints and writes to LATEST.md.

Throughput cells are medians over rounds; ratio cells are medians of the
per-round ratios (each round runs every peer back to back in a shuffled
order, so a ratio compares runs minutes apart at most). A ``!`` marks a cell
where a load generator process used more than 85% of a core in some round
(the load generator may have been the limit); ``err`` a run that failed.
"""

import statistics

KIND = {"bin": "binary", "json": "JSON text"}


def size_label(n):
    return "%d KiB" % (n // 1024) if n >= 1024 and n % 1024 == 0 else "%d B" % n


def scenario_label(s):
    return "%s %s d%d" % (KIND[s["kind"]], size_label(s["size"]), s["depth"])


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_rate(x):
    if x is None:
        return "err"
    return "%.1fk" % (x / 1000.0) if x >= 1000 else "%.0f" % x


def fmt_ratio(x):
    return "n/a" if x is None else "%.2f" % x


def fmt_bytes(x):
    if x is None:
        return "n/a"
    if abs(x) >= 1e6:
        return "%.1f MB" % (x / 1e6)
    return "%.1f KB" % (x / 1000.0) if abs(x) >= 1000 else "%.0f B" % x


def where(w):
    """A file:line, with the event loop's frameless allocations named as such."""
    if w.startswith("asyncio/runners.py"):
        return w + " (event loop C code: no Python frame)"
    return w


def _table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def throughput_stats(res, peers):
    """{scenario key: {peer: {"rate", "flag", "cpu_us", "ratio_nginx", "ratio_ws", "ratio_direct"}}}."""
    out = {}
    for sc in res["scenarios"]:
        key = sc["key"]
        runs = sc["runs"]  # list over rounds of {peer: run dict}
        cell = {}
        for p in peers:
            rates = [r.get(p, {}).get("msgs_per_s") for r in runs]
            flags = [r.get(p, {}).get("loadgen_flag") for r in runs]
            cpu = [r.get(p, {}).get("peer_cpu_us_per_msg") for r in runs]
            lg = [max(r.get(p, {}).get("loadgen_cpu_pct") or [0]) for r in runs]

            def ratio(base):
                xs = []
                for r in runs:
                    a = r.get(p, {}).get("msgs_per_s")
                    b = r.get(base, {}).get("msgs_per_s")
                    if a and b:
                        xs.append(a / b)
                return median(xs)

            cell[p] = {"rate": median(rates), "flag": any(flags), "cpu_us": median(cpu) if p != "direct" else None,
                       "loadgen_pct": max(lg) if lg else None,
                       "ratio_nginx": ratio("nginx"), "ratio_ws": ratio("websockets"), "ratio_direct": ratio("direct"),
                       "ratio_edgegate": ratio("edgegate")}
        out[key] = cell
    return out


def render(res):
    peers = res["peers"]
    st = throughput_stats(res, peers) if res.get("scenarios") else {}
    labels = {sc["key"]: scenario_label(sc) for sc in res.get("scenarios", [])}
    m = res["machine"]
    lines = ["# edgegate bench: %s run" % res["mode"], ""]
    lines.append("- when: %s; took %.0f s; %d round(s), peers interleaved in a shuffled order each round"
                 % (res["started"], res["elapsed_s"], res["rounds"]))
    lines.append("- machine: %d CPU(s), %s; %s; Python %s" % (m["nproc"], m["cpu"], m["kernel"], m["python"]))
    lines.append("- peers: %s" % "; ".join("%s %s" % kv for kv in m["versions"].items()))
    lines.append("- edgegate: %s (board %s, no policy, plaintext, %s)" % (m["edgegate_rev"], res["edgegate_board"],
                                                                         "uvloop" if m.get("uvloop") else "asyncio"))
    variants = [p for p in ("edgegate-auth", "edgegate-chain", "edgegate-tls", "edgegate-tls-ssl") if p in peers]
    if variants:
        lines.append("- edgegate variants (throughput only): edgegate-auth = route requires an HS256 JWT, the load "
                     "generator sends `Authorization: Bearer` with a token minted at bench start; edgegate-chain = "
                     "edgegate-auth plus the realistic message chain of `bench/chain.py` on every client message "
                     "(size, per-connection message and byte rates, strict JSON, depth, shape, all six signature "
                     "sets; binary messages pass type, size and rate); edgegate-tls = "
                     "mbedtls listener (TLS 1.2), edgegate-tls-ssl = ssl listener (TLS 1.3), wss from the load "
                     "generator trusting the dev CA (`edgegate certs dev`); admission limits lifted as for edgegate")
    revs = res.get("revisions") or {}
    if len(set(revs.values())) > 1:
        lines.append("- edgegate/ moved during the run; each part ran: %s"
                     % "; ".join("%s at %s" % kv for kv in revs.items()))
    lines.append("- load: %d picows+uvloop processes x %d connections; throughput window %.2f s after %.2f s warm-up"
                 % (res["loadgen"]["procs"], res["loadgen"]["conns_per_proc"], res["loadgen"]["duration_s"],
                    res["loadgen"]["warmup_s"]))
    lines.append("")
    if st:
        lines.append("## Throughput: echoed messages/s (median over rounds)")
        lines.append("")
        lines.append(_table(["scenario"] + peers,
                            [[labels[k]] + ["%s%s" % (fmt_rate(st[k][p]["rate"]), "!" if st[k][p]["flag"] else "")
                                            for p in peers] for k in st]))
        lines.append("")
        lines.append("## edgegate ratios (median of per-round ratios; > 1 means edgegate is faster)")
        lines.append("")
        eg = [p for p in peers if p.startswith("edgegate")]
        head = ["scenario"]
        for p in eg:
            head += ["%s / nginx" % p, "%s / websockets" % p, "%s / direct" % p]
        rows = []
        for k in st:
            row = [labels[k]]
            for p in eg:
                row += [fmt_ratio(st[k][p]["ratio_nginx"]), fmt_ratio(st[k][p]["ratio_ws"]),
                        fmt_ratio(st[k][p]["ratio_direct"])]
            rows.append(row)
        lines.append(_table(head, rows))
        lines.append("")
        var = [p for p in peers if p.startswith("edgegate-") and p != "edgegate-asyncio"]
        if "edgegate" in peers and var:
            lines.append("## edgegate variants vs plain edgegate (median of per-round ratios of msgs/s; "
                         "< 1 means the variant is slower)")
            lines.append("")
            lines.append(_table(["scenario"] + ["%s / edgegate" % p for p in var],
                                [[labels[k]] + [fmt_ratio(st[k][p]["ratio_edgegate"]) for p in var] for k in st]))
            lines.append("")
        for base, name in (("ratio_nginx", "nginx"), ("ratio_ws", "the websockets relay")):
            lines.append("## Every peer vs %s (median of per-round ratios of msgs/s)" % name)
            lines.append("")
            lines.append(_table(["scenario"] + peers,
                                [[labels[k]] + [fmt_ratio(st[k][p][base]) for p in peers] for k in st]))
            lines.append("")
        lines.append("## Peer CPU per echoed message (µs of utime+stime, all the peer's processes; "
                     "one echoed message = two relayed frames)")
        lines.append("")
        rp = [p for p in peers if p != "direct"]
        lines.append(_table(["scenario"] + rp, [[labels[k]] + ["%.1f" % st[k][p]["cpu_us"]
                                                               if st[k][p]["cpu_us"] is not None else "err"
                                                               for p in rp] for k in st]))
        lines.append("")
        lines.append("## Load generator: highest CPU of one worker process in any round (% of a core; "
                     "! = above 85%)")
        lines.append("")
        lines.append(_table(["scenario"] + peers,
                            [[labels[k]] + ["%.0f%s" % (st[k][p]["loadgen_pct"] or 0, "!" if st[k][p]["flag"] else "")
                                            for p in peers] for k in st]))
        lines.append("")
    lat = res.get("latency")
    if lat:
        lines.append("## Latency: %s binary at %d msg/s offered, open loop (µs; median over %d round(s))"
                     % (size_label(lat["size"]), lat["rate"], len(lat["rounds"])))
        lines.append("")
        lines.append("From the scheduled send time (includes the load generator's ~1 ms timer "
                     "granularity, the same for every peer); `+` columns subtract direct's value of the same "
                     "round, then take the median.")
        lines.append("")
        rows = []
        for p in peers:
            s = lat["summary"].get(p)
            if not s:
                continue
            rows.append([p] + ["%.0f" % s[q] for q in ("p50", "p99", "p999")]
                        + ["%+.0f" % s["add_" + q] if s.get("add_" + q) is not None else "" for q in ("p50", "p99", "p999")]
                        + ["%.0f" % s["actual_p50"], "%.0f" % s["actual_p99"], str(s["lost"])])
        lines.append(_table(["peer", "p50", "p99", "p99.9", "+p50", "+p99", "+p99.9",
                             "p50 from actual send", "p99 from actual send", "lost"], rows))
        lines.append("")
    mem = res.get("memory")
    if mem:
        counts = mem["counts"]
        lines.append("## Memory per idle connection pair (client + backend connection), smaps_rollup deltas")
        lines.append("")
        head = ["peer"]
        for n in counts:
            head += ["RSS/pair @%d" % n, "PSS/pair @%d" % n]
        head += ["RSS kept after close", "processes"]
        rows = []
        for p in peers:
            r = mem["peers"].get(p)
            if r is None:
                continue
            if "error" in r:
                rows.append([p, "err: " + r["error"][:60]])
                continue
            row = [p + (" (echo backend itself)" if p == "direct" else "")]
            for n in counts:
                c = r["counts"].get(str(n), {})
                bad = c.get("opened", 0) < n
                row += [fmt_bytes(c.get("rss_per_pair")) + (" (%d opened)" % c.get("opened", 0) if bad else ""),
                        fmt_bytes(c.get("pss_per_pair"))]
            last = r["counts"].get(str(counts[-1]), {})
            row += [fmt_bytes(last.get("rss_kept_after_close")), str(r.get("processes", ""))]
            rows.append(row)
        lines.append(_table(head, rows))
        lines.append("")
        f = mem.get("edgegate_formula")
        if f:
            lines.append("edgegate formula (edgegate/config/limits.py `conn_bytes()`, board %s): %d bytes per pair "
                         "worst case; idle claim `conn_overhead_bytes` = %s"
                         % (f["board"], f["conn_bytes"], f["conn_overhead_bytes"]))
            for chk in mem.get("edgegate_checks", []):
                lines.append("- %s" % chk)
            lines.append("")
        tm = mem.get("tracemalloc")
        if tm:
            lines.append("What an idle edgegate pair holds (in-process Gateway under tracemalloc, %d pairs): "
                         "%.0f traced bytes per pair; top sites:" % (tm["opened"], tm["traced_bytes_per_conn"]))
            lines.append("")
            lines.append(_table(["file:line", "bytes/pair", "blocks/pair"],
                                [[where(r["where"]), "%.0f" % r["bytes_per_conn"], "%.1f" % r["blocks_per_conn"]]
                                 for r in tm["top"]]))
            lines.append("")
    al = res.get("alloc")
    if al:
        lines.append("## Allocations per relayed frame (in-process Gateway, CPython allocator calls)")
        lines.append("")
        rows = []
        for a in al:
            g = a.get("growth") or {}
            rows.append([size_label(a["size"]) + (" text" if a["text"] else " binary"), str(a["depth"]), a["loop"],
                         "%.1f" % a["allocs_per_relayed_frame"],
                         "%.1f" % a["attribution"]["per_relayed_frame"].get("edgegate", 0.0),
                         "PASS" if a["allocs_per_relayed_frame"] <= 5 else "FAIL",
                         ("%d frames: %+d blocks (%+d in the second half), %+d B RSS"
                          % (g["relayed_frames"], g["blocks_growth"], g["blocks_growth_second_half"], g["rss_growth"]))
                         if g else "not run"])
        lines.append(_table(["payload", "depth", "loop", "allocs/frame", "of which under edgegate/ frames",
                             "target <= 5", "growth after"], rows))
        lines.append("")
        a = al[0]
        lines.append("Top allocation sites, %s (per relayed frame):" % size_label(a["size"]))
        lines.append("")
        lines.append(_table(["kind", "file:line", "allocs/frame", "bytes/block"],
                            [[r["kind"], where(r["where"]), "%.2f" % r["per_relayed_frame"], "%.0f" % r["bytes_per_block"]]
                             for r in a["attribution"]["top"]]))
        lines.append("")
    ch = res.get("chain")
    if ch:
        lines.append("## The message chain per client message (in process, `python -m bench.chain`, median)")
        lines.append("")
        lines.append("MessageGate.check on the load generator's payloads; naive = `json.loads` + one case-insensitive "
                     "regex of the same patterns, for the same JSON.")
        lines.append("")
        rows = []
        for r in ch["rows"]:
            tgt = r.get("target_us")
            rows.append([size_label(r["size"]) + " " + {"json": "JSON", "chat": "JSON, prose data"}.get(r["kind"], "binary"),
                         "%.2f" % r["us_per_msg"], "%.1f" % r["allocs_per_msg"],
                         "%.1f" % r["naive_us_per_msg"] if "naive_us_per_msg" in r else "-",
                         ("<= %g: %s" % (tgt, "PASS" if r["meets_target"] else "FAIL")) if tgt else "-"])
        lines.append(_table(["message", "µs/msg", "allocs/msg", "naive µs/msg", "target"], rows))
        lines.append("")
    cg = res.get("callgrind")
    if cg:
        lines.append("## Frame parser instructions per frame (callgrind, Connection relay mode, masked binary)")
        lines.append("")
        if "skipped" in cg:
            lines.append(cg["skipped"])
        else:
            lines.append(_table(["payload", "instructions/frame", "per payload byte", "top self cost (longer run)"],
                                [[size_label(int(k)), "%.0f" % v["instructions_per_frame"],
                                  "%.1f" % (v["instructions_per_frame"] / int(k)),
                                  ", ".join("%s %.0f%%" % (t["function"], t["pct"]) for t in v["top_self"][:3])]
                                 for k, v in cg.items()]))
        lines.append("")
    cc = res.get("callgrind_chain")
    if cc:
        lines.append("## Message chain instructions per message (callgrind, bench.chain's chain, JSON payload)")
        lines.append("")
        lines.append(_table(["payload", "instructions/message", "per payload byte", "top self cost (longer run)"],
                            [[size_label(int(k)), "%.0f" % v["instructions_per_frame"],
                              "%.1f" % (v["instructions_per_frame"] / int(k)),
                              ", ".join("%s %.0f%%" % (t["function"], t["pct"]) for t in v["top_self"][:3])]
                             for k, v in cc.items()]))
        lines.append("")
    pr = res.get("profile")
    if pr:
        for p in pr:
            lines.append("## Relay path profile (cProfile, in-process, %s binary, depth %d): %.1f µs per relayed frame "
                         "under the profiler" % (size_label(p["size"]), p["depth"], p["total_us_per_frame"]))
            lines.append("")
            lines.append(_table(["function", "own µs/frame", "own %", "calls/frame"],
                                [[r["function"], "%.2f" % r["own_us_per_frame"], "%.1f" % r["own_pct"],
                                  "%.2f" % r["calls_per_frame"]] for r in p["top"]]))
            lines.append("")
    lines.append("## Not measured yet")
    lines.append("")
    lines.append(_table(["variant", "result"], [[k, v] for k, v in res["not_yet"].items()]))
    lines.append("")
    if res.get("errors"):
        lines.append("## Errors")
        lines.append("")
        lines += ["- " + e for e in res["errors"][:30]]
        lines.append("")
    return "\n".join(lines)
