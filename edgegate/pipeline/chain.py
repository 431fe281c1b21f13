"""A compiled pipeline, and the chain each session gets of it for one direction.

``Pipeline(name, steps)`` composes its steps once: the ``start`` and ``grow``
checks of the arrival steps become one function each (the step's own bound
method when there is one), the content steps become the tuples ``judge``
runs for text and for binary messages. ``Pipeline.session`` makes a
``Chain``: a few references and, for each rate step, its buckets. A chain
whose steps read nothing costs what its type, size and rate checks cost: no
copy, no content access, ``judge`` returns at its first line.

``Chain.judge`` runs the content steps in order on one ``Message``, which
each chain keeps for its messages (one at a time): the payload's bytes
(copied once from the view: every content step reads them) and its parsed
JSON (parsed once, when a step first needs it). A step that rewrites calls
``Message.replace``: the replacement is what the following steps see, and it
is refused with 1009 when it is over ``limits.max_message_bytes``. The view
itself (it may point into a receive ring) is never kept.
"""

import json as _json

from edgegate.policy.errors import MessageRefused
from edgegate.rt import json_loads_strict

try:  # CPython's json: one encoder, compact, UTF-8 as it is, and no NaN or Infinity (they are not JSON)
    _encode = _json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
    _CHECK_FINITE = False
except AttributeError:  # pragma: no cover - MicroPython's: compact with separators, UTF-8 already, inf as inf

    def _encode(value):
        return _json.dumps(value, separators=(",", ":"))

    _CHECK_FINITE = True


def _finite(value):
    """Raise ValueError if ``value`` holds a float that is not finite (1e400 parses to inf)."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is float:
            if v - v != 0:
                raise ValueError("not finite")
        elif t is dict:
            stack.extend(v.values())
        elif t is list:
            stack.extend(v)


def dumps(value):
    """``value`` as compact JSON bytes; ValueError for a number JSON cannot write (inf, nan)."""
    if _CHECK_FINITE:
        _finite(value)
    return _encode(value).encode()


UNPARSED = object()  # Message.value before a step asked for it
NOT_JSON = object()  # ... once the payload turned out not to be a JSON document


class Facts:
    """What a session's steps may know of it (``enrich`` writes them into messages)."""

    __slots__ = ("principal", "route", "subprotocol", "box", "peer")

    def __init__(self, principal=None, route=None, subprotocol=None, box=None, peer=None):
        self.principal = principal  # str, or None on an open route
        self.route = route  # the route's path
        self.subprotocol = subprotocol  # the negotiated sub-protocol, or None
        self.box = box  # the box's id
        self.peer = peer  # the client's address


class Message:
    """One whole message as the content steps see it: ``text``, ``raw`` (its bytes), ``facts``,
    ``now_ms``, ``wall_s``; ``value``/``json`` parse it once."""

    __slots__ = ("text", "raw", "facts", "now_ms", "wall_s", "limit", "value_")

    def __init__(self, facts, limit):
        self.facts = facts
        self.limit = limit  # the largest payload a rewriting step may produce
        self.raw = self.value_ = None

    def json(self):
        """The payload parsed as strict JSON (once), or ``NOT_JSON``."""
        v = self.value_
        if v is UNPARSED:
            try:
                v = json_loads_strict(self.raw.decode())
            except (ValueError, RuntimeError, MemoryError):
                # ValueError covers UnicodeError; RuntimeError: nesting past the parser's recursion limit.
                v = NOT_JSON
            self.value_ = v
        return v

    def value(self, drop):
        """The parsed JSON; refused (1008 json, or dropped) when the payload is not a JSON document."""
        v = self.value_
        if v is UNPARSED:
            try:
                v = json_loads_strict(self.raw.decode())
            except (ValueError, RuntimeError, MemoryError):
                v = NOT_JSON
            self.value_ = v
        if v is NOT_JSON:
            raise MessageRefused(1008, "json", "not a JSON document", drop)
        return v

    def replace(self, data, value, by, drop):
        """Make ``data`` the payload (``value``: its parsed JSON, or UNPARSED); return it.

        Refused with 1009 when over the limit: a rewrite must not make a
        message bigger than the box takes.
        """
        if len(data) > self.limit:
            raise MessageRefused(1009, "size", "%d bytes after %s, over %d" % (len(data), by, self.limit), drop)
        self.raw = data
        self.value_ = value
        return data

    def dump(self, value, by, drop):
        """Write ``value`` (the rewritten JSON) back as the payload: ``replace`` with its bytes."""
        try:
            data = dumps(value)
        except ValueError:
            raise MessageRefused(1008, "json", "a number out of range cannot be written back", drop) from None
        return self.replace(data, value, by, drop)


def _pass_start(text, n):
    return None


def _pass_grow(n):
    return None


def _pass_charge(n, now_ms):
    return None


def _all_start(fns):
    if not fns:
        return _pass_start
    if len(fns) == 1:
        return fns[0]
    fns = tuple(fns)

    def start(text, n):
        for f in fns:
            f(text, n)

    return start


def _all_grow(fns):
    if not fns:
        return _pass_grow
    if len(fns) == 1:
        return fns[0]
    fns = tuple(fns)

    def grow(n):
        for f in fns:
            f(n)

    return grow


def _all_charge(fns):
    if not fns:
        return _pass_charge
    if len(fns) == 1:
        return fns[0]
    fns = tuple(fns)

    def charge(n, now_ms):
        for f in fns:
            f(n, now_ms)

    return charge


class Pipeline:
    """One named policy's steps, composed; ``session`` gives a session's chain for one direction."""

    def __init__(self, name, steps, max_message_bytes=1 << 20, box_id="edgegate"):
        self.name = name
        live = [s for s in steps if not s.noop]
        self.steps = tuple(live)
        self.max_message_bytes = max_message_bytes
        self.box_id = box_id
        self.start = _all_start([s.start for s in live if hasattr(s, "start")])
        self.grow = _all_grow([s.grow for s in live if hasattr(s, "grow")])
        self.rates = tuple(s for s in live if hasattr(s, "session"))
        judges = [s for s in live if hasattr(s, "judge")]
        self.text_steps = tuple(s for s in judges if s.reads_text) or None
        self.binary_steps = tuple(s for s in judges if s.reads_binary) or None
        self.reads_text = self.text_steps is not None
        self.reads_binary = self.binary_steps is not None

    def session(self, now_ms, key, facts):
        """A chain for one session and direction; ``key`` (its principal, else ``"addr:IP"``) names
        its shared rate buckets; ``facts`` (``Facts``) are what enriching steps write."""
        return Chain(self, now_ms, key, facts)

    def __repr__(self):
        return "Pipeline(%s: %s)" % (self.name, ", ".join(s.NAME for s in self.steps) or "nothing")


class Chain:
    """One session's one direction of a pipeline. See the module's docstring and ``edgegate.pipeline``."""

    __slots__ = ("name", "reads_text", "reads_binary", "start", "grow", "charge", "rates", "facts", "pipeline",
                 "_text", "_binary", "_msg")

    def __init__(self, pipeline, now_ms, key, facts):
        self.pipeline = pipeline
        self.name = pipeline.name
        self.reads_text = pipeline.reads_text
        self.reads_binary = pipeline.reads_binary
        self._text = pipeline.text_steps
        self._binary = pipeline.binary_steps
        self.start = pipeline.start
        self.grow = pipeline.grow
        rates = self.rates = tuple(s.session(now_ms, key) for s in pipeline.rates)
        self.charge = _all_charge([r.charge for r in rates])
        if facts is None:
            facts = Facts(box=pipeline.box_id)
        elif facts.box is None:
            facts.box = pipeline.box_id
        self.facts = facts
        self._msg = None

    def judge(self, text, payload, now_ms, wall_s):
        """The content steps, in order, on one whole message. None: pass it unchanged; bytes: the
        payload to send instead (rewritten). Raises ``MessageRefused``."""
        steps = self._text if text else self._binary
        if steps is None:
            return None
        m = self._msg
        if m is None:
            m = self._msg = Message(self.facts, self.pipeline.max_message_bytes)
        m.text = text
        m.raw = bytes(payload)  # every content step reads the bytes: one copy, never the ring itself
        m.value_ = UNPARSED
        m.now_ms = now_ms
        m.wall_s = wall_s
        out = None
        try:
            for s in steps:
                r = s.judge(m)
                if r is not None:
                    out = r
        finally:
            m.raw = m.value_ = None
        return out
