"""What every step is: a class that compiles its config once, and the phases it acts in.

A step class has ``NAME`` (its ``"step"`` in the config), ``KEYS`` (its other
config keys), ``SCHEMA`` (their JSON Schema, for ``edgegate schema``) and
``REQUIRED``, and a ``compile(conf, where, ctx)`` classmethod that validates
``conf`` (raising ``ConfigError(where(key), message)``) and returns the step.
A compiled step is shared by every session of its pipeline; it acts through
the methods it has:

- ``start(text, n)``: the first frame of a message (``n`` bytes so far);
- ``grow(n)``: a fragmented message reached ``n`` bytes;
- ``session(now_ms, key)``: its per-session state, an object with
  ``charge(n, now_ms)`` (the rate step: the only one with state);
- ``judge(m)``: the whole message (a ``pipeline.chain.Message``): None to
  pass it on, or the replacement payload (``m.replace``); raises
  ``MessageRefused`` to refuse or drop it.

``ARRIVAL`` steps (type, size, rate) act as the message arrives, so they come
before every content step in a pipeline. ``reads_text`` / ``reads_binary``
say which messages ``judge`` must see whole. ``noop`` steps (a type step that
takes both types, a flat policy's rate without a rate) are left out of the
chain. ``fresh()`` gives the step a pipeline owns: the same object, except for
steps with shared mutable state (the rate step's per-principal table).
"""

from edgegate.config.model import ConfigError

CLOSE_OR_DROP = ("close", "drop")


class Where:
    """Config paths of a step's keys: ``where("paths") -> "message_policies.p.steps[3].paths"``.

    ``names`` maps keys that sit elsewhere (a flat policy's ``signatures`` is
    the signatures step's ``sets``); ``where()`` is the step itself.
    """

    __slots__ = ("base", "names")

    def __init__(self, base, names=None):
        self.base = base
        self.names = names

    def __call__(self, key=None):
        if key is None:
            return self.base
        if self.names is not None and key in self.names:
            return self.names[key]
        return self.base + "." + key


class Ctx:
    """What a step compiles against: the box's limits, the policy's defaults, the steps before it."""

    __slots__ = ("max_message_bytes", "table_entries", "drop", "flat", "max_bytes")

    def __init__(self, max_message_bytes, table_entries=4096, drop=False, flat=False):
        self.max_message_bytes = max_message_bytes
        self.table_entries = table_entries
        self.drop = drop  # the policy's on_violation is drop
        self.flat = flat  # compiling today's flat form (a rate without a rate is allowed there)
        self.max_bytes = None  # the largest message a size step earlier in the pipeline lets through


class Step:
    NAME = None
    KEYS = ()
    REQUIRED = ()
    SCHEMA = {}
    ARRIVAL = False
    reads_text = False
    reads_binary = False
    noop = False

    def fresh(self):
        return self

    def __repr__(self):
        return "<%s step>" % self.NAME


# -- validation helpers: every message names the field ---------------------------------------------

def integer(v, path, lo, hi):
    if type(v) is not int or v < lo or v > hi:
        raise ConfigError(path, "must be an integer from %d to %d" % (lo, hi))
    return v


def boolean(v, path):
    if type(v) is not bool:
        raise ConfigError(path, "must be true or false")
    return v


def choice(v, path, options):
    if v not in options:
        raise ConfigError(path, "must be one of %s" % ", ".join(options))
    return v


def text(v, path, max_bytes):
    if not isinstance(v, str) or not v or len(v.encode()) > max_bytes:
        raise ConfigError(path, "must be a non-empty string of at most %d bytes" % max_bytes)
    return v


def listed(v, path, max_items):
    if type(v) is not list or len(v) > max_items:
        raise ConfigError(path, "must be a list of at most %d entries" % max_items)
    return v


def drop_of(conf, where, ctx):
    """A content step's ``on_violation`` (close or drop), the policy's when unset."""
    v = conf.get("on_violation")
    if v is None:
        return ctx.drop
    return choice(v, where("on_violation"), CLOSE_OR_DROP) == "drop"


# The JSON Schema of the keys every content step takes.
ON_VIOLATION_SCHEMA = {"enum": list(CLOSE_OR_DROP)}
