"""``enrich``: add what the gateway knows of the session to JSON object messages, under ``member``.

Keys: ``member`` (default ``"_edgegate"``), ``fields`` (any of principal,
route, subprotocol, box, peer, ts; default principal, route, box, ts),
``on_other`` pass | refuse (a message that is not a JSON object: forward it
as it is, or refuse it: 1008 enrich, or dropped with ``on_violation: drop``).
``ts`` is the wall-clock time the message was judged, ISO-8601 UTC with
milliseconds (``2026-11-25T00:48:03.123Z``); the others are the session's
facts (null where there is none: no principal on an open route).

A ``member`` the message already has is replaced (removed, then written
anew: last, where the runtime keeps member order): a client cannot forge what
the backend reads there, nor a backend what a client reads. Every enriched
message is written back (compact JSON), so it costs a parse and a
serialisation; a message over ``limits.max_message_bytes`` after it is
refused (1009). Binary messages pass untouched.
"""

from edgegate.config.model import ConfigError
from edgegate.policy.errors import MessageRefused

from ..chain import NOT_JSON
from . import ON_VIOLATION_SCHEMA, Step, choice, drop_of, text
from .redact import looks_structured

FIELDS = ("principal", "route", "subprotocol", "box", "peer", "ts")
DEFAULT_FIELDS = ("principal", "route", "box", "ts")


_last = [None, ""]  # the last second formatted, and its text up to the seconds


def iso_utc(wall_s):
    """``wall_s`` (Unix seconds) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``; integer arithmetic, no time module."""
    s, ms = divmod(int(wall_s * 1000), 1000)
    if s == _last[0]:
        return "%s.%03dZ" % (_last[1], ms)
    _last[1] = _second(s)
    _last[0] = s
    return "%s.%03dZ" % (_last[1], ms)


def _second(s):
    days, s = divmod(s, 86400)
    # Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian).
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (year, month, day, s // 3600, s // 60 % 60, s % 60)


class EnrichStep(Step):
    NAME = "enrich"
    KEYS = ("member", "fields", "on_other", "on_violation")
    SCHEMA = {"member": {"type": "string", "minLength": 1, "maxLength": 64, "default": "_edgegate"},
              "fields": {"type": "array", "minItems": 1, "items": {"enum": list(FIELDS)}},
              "on_other": {"enum": ["pass", "refuse"], "default": "pass"},
              "on_violation": ON_VIOLATION_SCHEMA}
    reads_text = True

    def __init__(self, member="_edgegate", fields=DEFAULT_FIELDS, refuse_other=False, drop=False):
        self.member = member
        self.fields = tuple(fields)
        self.refuse_other = refuse_other
        self.drop = drop

    @classmethod
    def compile(cls, conf, where, ctx):
        member = text(conf.get("member", "_edgegate"), where("member"), 64)
        fields = conf.get("fields", list(DEFAULT_FIELDS))
        if type(fields) is not list or not fields or any(f not in FIELDS for f in fields):
            raise ConfigError(where("fields"), "must be a non-empty list of %s" % ", ".join(FIELDS))
        for i, f in enumerate(fields):
            if f in fields[:i]:
                raise ConfigError("%s[%d]" % (where("fields"), i), "%s is listed twice" % f)
        other = choice(conf.get("on_other", "pass"), where("on_other"), ("pass", "refuse"))
        return cls(member, fields, other == "refuse", drop_of(conf, where, ctx))

    def judge(self, m):
        v = m.json()
        if type(v) is not dict:
            if v is NOT_JSON and looks_structured(m.raw, b"{"):
                # An object the strict parser refuses (duplicate names, NaN...) may carry a
                # forged stamp a reader's parser would take: never pass it unstamped.
                raise MessageRefused(1008, "enrich", "JSON that strict parsing refuses cannot be stamped", self.drop)
            if self.refuse_other:
                raise MessageRefused(1008, "enrich", "not a JSON object", self.drop)
            return None
        f = m.facts
        add = {}
        for name in self.fields:
            add[name] = iso_utc(m.wall_s) if name == "ts" else getattr(f, name)
        v.pop(self.member, None)  # a forged member goes: ours is the one the reader gets
        v[self.member] = add
        return m.dump(v, "enrich", self.drop)
