"""Structured log: JSON lines to a sink, the last records kept in a fixed ring, counters.

Each record carries ``t`` (the monotonic millisecond clock the gateway's
deadlines use, for intervals) and ``ts`` (wall-clock UTC, ISO 8601 with
milliseconds, for lining records up with other logs).

Nothing secret is ever passed here: callers log ids, addresses, codes and
limits, never tokens, keys or payloads.
"""

import sys
import time

from edgegate.rt import json_dumps, ticks_ms

LEVELS = {"error": 40, "warn": 30, "info": 20, "debug": 10}


def utc_stamp(t=None):
    """``t`` (seconds since the epoch, default now) as ``2026-12-04T16:40:01.123Z``."""
    if t is None:
        t = time.time()
    s = int(t)
    y, mo, d, h, mi, sec = time.gmtime(s)[:6]
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, mo, d, h, mi, sec, int((t - s) * 1000))


class Log:
    """``keep`` recent records stay in memory (for the console); older ones are dropped."""

    def __init__(self, level="info", keep=256, sink=None):
        self.level = LEVELS[level]
        self.keep = keep
        self.recent = [None] * keep
        self.at = 0
        self.sink = sink if sink is not None else sys.stderr
        self.counters = {}

    def count(self, name, n=1):
        self.counters[name] = self.counters.get(name, 0) + n

    def emit(self, level, event, **fields):
        lv = LEVELS[level]
        if lv < self.level:
            return
        rec = {"t": ticks_ms(), "ts": utc_stamp(), "level": level, "event": event}
        rec.update(fields)
        self.recent[self.at % self.keep] = rec
        self.at += 1
        try:
            self.sink.write(json_dumps(rec) + "\n")
            self.sink.flush()
        except (OSError, ValueError):  # pragma: no cover - a closed sink must not kill the gateway
            pass

    def info(self, event, **fields):
        self.emit("info", event, **fields)

    def warn(self, event, **fields):
        self.emit("warn", event, **fields)

    def error(self, event, **fields):
        self.emit("error", event, **fields)

    def debug(self, event, **fields):
        self.emit("debug", event, **fields)

    def last(self, n):
        """The n most recent records, oldest first."""
        n = min(n, self.at, self.keep)
        return [self.recent[i % self.keep] for i in range(self.at - n, self.at)]
