"""The per-route message chain (portable, no I/O): what a client may send to the backend.

A ``MessagePolicy`` is compiled from the config once; each session gets a
``MessageGate`` (its own rate buckets, a few machine words). ``gate.check(text,
payload, now_ms)`` runs the rules cheapest first and returns None (forward the
message unchanged) or raises ``MessageRefused`` (code, rule, detail, drop):

1. type: ``types`` lists text and/or binary (1003 unsupported data);
2. size: ``max_bytes`` (1009 too big);
3. rate: token buckets for messages and bytes, per connection or (``rate_per``
   principal) shared by every connection of a principal (1008, or the message
   is dropped when ``on_rate`` is drop);
4. content, only when the policy looks at content: a text message must parse
   as JSON when ``json`` is set, nest no deeper than ``max_depth`` and fit
   ``shape``; injection ``signatures`` and the ``deny`` list are searched in
   the folded text, and, when the text had JSON escapes, in its decoded form
   too (1008, or drop when ``on_violation`` is drop). Binary messages are
   searched only with ``scan_binary``.

``MessageRefused.detail`` names the rule and where (``$.items[3]: not a
number``, ``xss: <script``), never message content beyond a configured
pattern. The caller writes the audit record and applies the verdict.
Costs (CPython 3.11, 2-core EPYC, ``python -m bench.chain``, every rule and
all six signature sets on): type, size and rate about 0.4 us per message;
a 64 B JSON message about 4 us, 4 KiB about 14 us, 4 KiB of prose (spaces,
dots, apostrophes: more pattern groups to search) about 50 us.
"""

from edgegate.rt import json_loads_strict, ticks_diff

from .buckets import LruTable
from .errors import MessageRefused
from .signatures import Scanner, json_unescaped

_US = 1000000  # bucket tokens are micro-units, so rates stay integers


class MessagePolicy:
    """A compiled message policy (from ``message_policies.NAME`` in the config)."""

    def __init__(self, name, text=True, binary=True, max_bytes=None, messages_per_s=None, messages_burst=None,
                 bytes_per_s=None, bytes_burst=None, on_rate="close", json=False, max_depth=None, shape=None,
                 signatures=(), deny=(), scan_binary=False, on_violation="close", rate_per="connection",
                 table_entries=4096):
        self.name = name
        self.text = text
        self.binary = binary
        self.max_bytes = max_bytes
        self.msg_rate = messages_per_s
        self.msg_burst = (messages_burst or messages_per_s) if messages_per_s else None
        self.byte_rate = bytes_per_s
        self.byte_burst = (bytes_burst or bytes_per_s) if bytes_per_s else None
        self.drop_on_rate = on_rate == "drop"
        # rate_per principal: every connection of a principal (of an address, on an open
        # route) draws on one pair of buckets, in a table of at most table_entries keys
        # that evicts the least recently used (a new key starts with a full burst).
        shared = rate_per == "principal" and (messages_per_s or bytes_per_s)
        self.shared = LruTable(table_entries) if shared else None
        self.rate_scope = " per principal" if self.shared is not None else ""
        self.json = json
        self.max_depth = max_depth
        self.shape = shape  # a compiled shape (``config.shape.Shape``) or None
        self.scanner = Scanner(signatures, deny) if (signatures or deny) else None
        self.signatures = tuple(signatures)
        self.deny_count = len(deny)
        self.scan_binary = scan_binary
        self.drop_on_violation = on_violation == "drop"
        self.parses = json or self.shape is not None or max_depth is not None
        # The content is read (text always; binary only with scan_binary).
        self.inspects = self.parses or self.scanner is not None

    def fresh_state(self, now_ms):
        """[message micro-tokens, byte micro-tokens, last ms]: full buckets."""
        return [(self.msg_burst or 0) * _US, (self.byte_burst or 0) * _US, now_ms]

    def shared_state(self, key, now_ms):
        """The buckets of ``key`` in the shared table (created full; least recently used evicted)."""
        st = self.shared.use(key)
        return st if st is not None else self.shared.add(key, self.fresh_state(now_ms))

    def needs_binary_content(self):
        """True when binary payloads must be unmasked for the chain (else they stay masked in the ring)."""
        return self.scanner is not None and self.scan_binary

    def gate(self, now_ms, key=None):
        """A session's gate; ``key`` (its principal, else its address) names its shared buckets."""
        return MessageGate(self, now_ms, key)


def _depth_over(value, limit):
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


class MessageGate:
    """One connection's view of a policy: its rate buckets, or its key into the shared ones."""

    __slots__ = ("policy", "state", "key")

    def __init__(self, policy, now_ms, key=None):
        self.policy = policy
        self.key = key  # the principal (or address) whose buckets it shares, with rate per principal
        self.state = policy.fresh_state(now_ms) if policy.shared is None else None

    def _take(self, n, now_ms):
        """Spend one message and ``n`` bytes, or refuse and spend nothing."""
        p = self.policy
        st = self.state if p.shared is None else p.shared_state(self.key, now_ms)
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
            raise MessageRefused(1008, "rate", "over %d messages/s%s" % (p.msg_rate, p.rate_scope),
                                 p.drop_on_rate)
        if p.byte_rate and b < n * _US:
            raise MessageRefused(1008, "rate", "over %d bytes/s%s" % (p.byte_rate, p.rate_scope),
                                 p.drop_on_rate)
        if p.msg_rate:
            st[0] = m - _US
        if p.byte_rate:
            st[1] = b - n * _US

    def start(self, text, n):
        """The first frame of a message (``n`` bytes so far): its type and size."""
        p = self.policy
        if text:
            if not p.text:
                raise MessageRefused(1003, "type", "text messages are not accepted here")
        elif not p.binary:
            raise MessageRefused(1003, "type", "binary messages are not accepted here")
        self.grow(n)

    def grow(self, n):
        """A message has reached ``n`` bytes: refused as soon as it is too big."""
        p = self.policy
        if p.max_bytes is not None and n > p.max_bytes:
            raise MessageRefused(1009, "size", "%d bytes, over %d" % (n, p.max_bytes))

    def charge(self, n, now_ms):
        """The rate rule alone: one message of ``n`` bytes (a token refresh pays it too)."""
        p = self.policy
        if p.msg_rate or p.byte_rate:
            self._take(n, now_ms)

    def admit(self, text, payload, now_ms):
        """Type, size and rate of one whole message: the rules that do not read it."""
        self.start(text, len(payload))
        self.charge(len(payload), now_ms)

    def check(self, text, payload, now_ms):
        """Judge one whole message (``payload``: bytes-like, unmasked). None: forward it."""
        self.admit(text, payload, now_ms)
        self.inspect(text, payload)

    def inspect(self, text, payload):
        """The content rules: JSON, depth, shape, signatures, deny-list."""
        p = self.policy
        if not p.inspects or not (text or p.scan_binary):
            return
        drop = p.drop_on_violation
        raw = bytes(payload)
        if text and p.parses:
            try:
                value = json_loads_strict(raw.decode())
            except (ValueError, RuntimeError, MemoryError):
                # RuntimeError: nesting past the parser's recursion limit.
                raise MessageRefused(1008, "json", "not a JSON document", drop) from None
            if p.max_depth is not None and raw.count(b"[") + raw.count(b"{") > p.max_depth \
                    and _depth_over(value, p.max_depth):
                raise MessageRefused(1008, "json", "nested deeper than %d" % p.max_depth, drop)
            if p.shape is not None:
                err = p.shape.check(value)
                if err is not None:
                    raise MessageRefused(1008, "shape", err, drop)
        sc = p.scanner
        if sc is not None:
            hit = sc.find(raw)
            if hit is None and b"\\" in raw:
                hit = sc.find(json_unescaped(raw))
            if hit is not None:
                raise MessageRefused(1008, "signature", "%s: %s" % hit, drop)


def compile_policies(cfg):
    """{name: MessagePolicy} for every ``message_policies`` entry of a parsed config.

    Tables of per-principal buckets are as big as the admission tables
    (``limits.admission_table_entries``); a commit starts them afresh for new
    sessions (live ones keep the policy they started with).
    """
    n = cfg.limits["admission_table_entries"]
    return {name: MessagePolicy(name, table_entries=n, **s.kwargs) for name, s in cfg.message_policies.items()}
