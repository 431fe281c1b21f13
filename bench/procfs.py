"""Readings from /proc: CPU time (utime+stime) and memory (smaps_rollup) of a set of processes.

CPU comes from /proc/<pid>/stat fields 14 and 15 (whole process, every thread,
in clock ticks of 1/SC_CLK_TCK s). Memory comes from /proc/<pid>/smaps_rollup
(Rss and Pss, kB), summed over the processes of one peer (nginx: master and
worker).
"""

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of ``pid`` in seconds (0.0 if it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return 0.0
    fields = s[s.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_many(pids):
    """{pid: cpu seconds} for each pid."""
    return {p: cpu_seconds(p) for p in pids}


def rollup(pid):
    """{'rss': bytes, 'pss': bytes} from smaps_rollup (zeros if the process is gone)."""
    out = {"rss": 0, "pss": 0}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    out["rss"] = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def rollup_sum(pids):
    """smaps_rollup Rss and Pss summed over ``pids``."""
    tot = {"rss": 0, "pss": 0}
    for p in pids:
        r = rollup(p)
        tot["rss"] += r["rss"]
        tot["pss"] += r["pss"]
    return tot


def children(pid):
    """Direct children of ``pid`` (from /proc/<pid>/task/*/children)."""
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def cpu_model():
    """The CPU model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"
