"""``rate``: token buckets for messages and bytes, per connection or shared by a principal's connections.

Keys: ``messages_per_s``, ``messages_burst``, ``bytes_per_s``, ``bytes_burst``
(bursts default to the rate), ``on_exceed`` close | drop, ``per`` connection |
principal. With ``per: principal`` every connection of a principal (of an
address, on an open route: the session's ``key``) draws on one pair of
buckets, in a table of at most ``limits.admission_table_entries`` keys that
evicts the least recently used (a new key starts with a full burst); a policy
used in both directions shares them between the directions. Refused: 1008
(or the message is dropped with ``on_exceed: drop``); a refused message
spends no token. Tokens are integer micro-units, so rates stay integers.

A byte burst below the largest message the pipeline lets through (an earlier
size step's ``max_bytes``, else ``limits.max_message_bytes``) is a config
error: such a message could never pass.
"""

from edgegate.config.model import ConfigError
from edgegate.policy.buckets import LruTable
from edgegate.policy.errors import MessageRefused
from edgegate.rt import ticks_diff

from . import CLOSE_OR_DROP, Step, choice, integer

_US = 1000000  # bucket tokens are micro-units, so rates stay integers
_RATES = ("messages_per_s", "messages_burst", "bytes_per_s", "bytes_burst")


class RateStep(Step):
    NAME = "rate"
    KEYS = _RATES + ("on_exceed", "per")
    SCHEMA = dict([(k, {"type": "integer", "minimum": 1, "maximum": 1 << 30}) for k in _RATES],
                  on_exceed={"enum": list(CLOSE_OR_DROP), "default": "close"},
                  per={"enum": ["connection", "principal"], "default": "connection"})
    ARRIVAL = True

    def __init__(self, messages_per_s=None, messages_burst=None, bytes_per_s=None, bytes_burst=None,
                 on_rate="close", rate_per="connection", table_entries=4096):
        self.msg_rate = messages_per_s
        self.msg_burst = (messages_burst or messages_per_s) if messages_per_s else None
        self.byte_rate = bytes_per_s
        self.byte_burst = (bytes_burst or bytes_per_s) if bytes_per_s else None
        self.drop = on_rate == "drop"
        self.per_principal = rate_per == "principal"
        self.table_entries = table_entries
        self.noop = not (messages_per_s or bytes_per_s)
        shared = self.per_principal and not self.noop
        self.shared = LruTable(table_entries) if shared else None
        self.scope = " per principal" if shared else ""

    @classmethod
    def compile(cls, conf, where, ctx):
        kw = {}
        for k in _RATES:
            if k in conf:
                kw[k] = integer(conf[k], where(k), 1, 1 << 30)
        for rate, burst in (("messages_per_s", "messages_burst"), ("bytes_per_s", "bytes_burst")):
            if burst in kw and rate not in kw:
                raise ConfigError(where(burst), "set, but %s is not" % rate)
        if "bytes_per_s" in kw:
            burst = kw.get("bytes_burst", kw["bytes_per_s"])
            biggest = ctx.max_bytes or ctx.max_message_bytes
            if burst < biggest:
                raise ConfigError(where("bytes_burst" if "bytes_burst" in kw else "bytes_per_s"),
                                  "a burst of %d bytes is below the largest message (%d, %s): it could never pass"
                                  % (burst, biggest, "max_bytes" if ctx.max_bytes else "limits.max_message_bytes"))
        on = choice(conf.get("on_exceed", "close"), where("on_exceed"), CLOSE_OR_DROP)
        per = choice(conf.get("per", "connection"), where("per"), ("connection", "principal"))
        if not kw and not ctx.flat:
            raise ConfigError(where(), "a rate step needs messages_per_s or bytes_per_s")
        return cls(on_rate=on, rate_per=per, table_entries=ctx.table_entries, **kw)

    def fresh(self):
        """This step with a table of its own (a new config starts the shared buckets afresh)."""
        if self.shared is None:
            return self
        return RateStep(self.msg_rate, self.msg_burst, self.byte_rate, self.byte_burst,
                        "drop" if self.drop else "close", "principal", self.table_entries)

    def full(self, now_ms):
        """[message micro-tokens, byte micro-tokens, last ms]: full buckets."""
        return [(self.msg_burst or 0) * _US, (self.byte_burst or 0) * _US, now_ms]

    def session(self, now_ms, key):
        return RateSession(self, now_ms, key)


class RateSession:
    """One connection's buckets, or its key into the shared ones."""

    __slots__ = ("step", "state", "key")

    def __init__(self, step, now_ms, key):
        self.step = step
        self.key = key  # the principal (or address) whose buckets it shares, with per principal
        self.state = step.full(now_ms) if step.shared is None else None

    def charge(self, n, now_ms):
        """Spend one message and ``n`` bytes, or refuse and spend nothing."""
        p = self.step
        st = self.state
        if st is None:
            st = p.shared.use(self.key)
            if st is None:
                st = p.shared.add(self.key, p.full(now_ms))
        dt = ticks_diff(now_ms, st[2])
        st[2] = now_ms
        full = dt < 0  # only after the tick clock wrapped past half its period: long idle
        m = st[0]
        if p.msg_rate:
            cap = p.msg_burst * _US
            m = cap if full else min(cap, m + dt * p.msg_rate * (_US // 1000))
        b = st[1]
        if p.byte_rate:
            cap = p.byte_burst * _US
            b = cap if full else min(cap, b + dt * p.byte_rate * (_US // 1000))
        st[0] = m
        st[1] = b
        if p.msg_rate and m < _US:
            raise MessageRefused(1008, "rate", "over %d messages/s%s" % (p.msg_rate, p.scope), p.drop)
        if p.byte_rate and b < n * _US:
            raise MessageRefused(1008, "rate", "over %d bytes/s%s" % (p.byte_rate, p.scope), p.drop)
        if p.msg_rate:
            st[0] = m - _US
        if p.byte_rate:
            st[1] = b - n * _US
