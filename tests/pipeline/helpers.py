"""Shared by the pipeline tests: pipelines from config documents, verdicts as tuples, fake clocks."""

from edgegate.config.model import ConfigError, parse
from edgegate.pipeline import Facts, compile_pipelines
from edgegate.policy.errors import MessageRefused
from edgegate.rt import ticks_add

BOARD = {"name": "t", "mem_budget_bytes": 64 << 20}
T0 = 70000
WALL = 1764806400.25  # 2025-12-04T00:00:00.250Z
FACTS = Facts("jwt:alice", "/chat", "chat.v1", "box-7", "192.0.2.10")


def at(ms):
    return ticks_add(T0, ms)


def doc(policies, route=None):
    r = {"path": "/chat", "backend": {"url": "ws://127.0.0.1:9/"}, "subprotocols": ["v1", "v2"]}
    r.update(route or {})
    return {"listen": [{"port": 1, "plaintext": True}], "routes": [r], "message_policies": policies}


def config(policies, route=None):
    return parse(doc(policies, route), BOARD)


def pipeline(steps, on_violation=None, name="p"):
    """The pipeline of one steps-form policy, compiled the way the gateway compiles it."""
    pol = {"steps": steps}
    if on_violation is not None:
        pol["on_violation"] = on_violation
    return compile_pipelines(config({name: pol}), "box-7")[name]


def chain(steps, on_violation=None, facts=FACTS, key="jwt:alice"):
    return pipeline(steps, on_violation).session(T0, key, facts)


def error(policies, route=None):
    """The config error's text, or None when the document parses."""
    try:
        config(policies, route)
    except ConfigError as e:
        return str(e)
    return None


def run(ch, payload, text=True, now=T0, wall=WALL):
    """One whole one-frame message through ``ch`` as the relay runs it:
    ("pass", None) | ("replace", bytes) | (code, rule, drop)."""
    try:
        n = len(payload)
        ch.charge(n, now)
        ch.start(text, n)
        if not (ch.reads_text if text else ch.reads_binary):
            return ("pass", None)
        out = ch.judge(text, memoryview(bytearray(payload)), now, wall)
    except MessageRefused as r:
        return (r.code, r.rule, r.drop)
    return ("pass", None) if out is None else ("replace", bytes(out))


def refusal(ch, payload, text=True, now=T0):
    """The MessageRefused of a message ``ch`` refuses (or None)."""
    try:
        n = len(payload)
        ch.charge(n, now)
        ch.start(text, n)
        ch.judge(text, payload, now, WALL)
    except MessageRefused as r:
        return r
    return None


def rewritten(ch, payload, text=True):
    """The replacement as parsed JSON (key order is the runtime's), or the verdict when there is none."""
    from edgegate.rt import json_loads

    v = run(ch, payload, text)
    return json_loads(v[1].decode()) if v[0] == "replace" else v
