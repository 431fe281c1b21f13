"""``json``: a text message must be one strict JSON document (RFC 8259: duplicate member names and
NaN/Infinity refused on CPython; see ``rt.json_loads_strict``), nested no deeper than ``max_depth``.
Refused: 1008 json (or dropped with ``on_violation: drop``). Binary messages pass."""

from edgegate.policy.errors import MessageRefused

from . import ON_VIOLATION_SCHEMA, Step, drop_of, integer


def depth_over(value, limit):
    """True if ``value`` nests deeper than ``limit`` (a scalar is depth 0)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        t = type(v)
        if t is dict:
            v = v.values()
        elif t is not list:
            continue
        if d + 1 > limit:
            return True
        for x in v:
            if type(x) is dict or type(x) is list:
                stack.append((x, d + 1))
    return False


class JsonStep(Step):
    NAME = "json"
    KEYS = ("max_depth", "on_violation")
    SCHEMA = {"max_depth": {"type": "integer", "minimum": 1, "maximum": 256}, "on_violation": ON_VIOLATION_SCHEMA}
    reads_text = True

    def __init__(self, max_depth=None, drop=False):
        self.max_depth = max_depth
        self.drop = drop

    @classmethod
    def compile(cls, conf, where, ctx):
        d = conf.get("max_depth")
        if d is not None:
            d = integer(d, where("max_depth"), 1, 256)
        return cls(d, drop_of(conf, where, ctx))

    def judge(self, m):
        value = m.value(self.drop)
        d = self.max_depth
        if d is not None:
            raw = m.raw
            # Brackets are a cheap upper bound of the depth (strings may hold some): walk only past it.
            if raw.count(b"[") + raw.count(b"{") > d and depth_over(value, d):
                raise MessageRefused(1008, "json", "nested deeper than %d" % d, self.drop)
        return None
