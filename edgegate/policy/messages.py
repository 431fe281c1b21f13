"""Today's message-policy interface, kept over the pipeline (``edgegate.pipeline``) for its callers.

``MessagePolicy(name, **settings)`` takes the flat settings of
``config.messages.MessageSettings.kwargs`` (types, max_bytes, rate, json,
max_depth, shape, signatures, deny, scan_binary, on_violation) and builds the
equivalent pipeline: the steps type, size, rate, json, shape, signatures, in
that order. ``policy.gate(now_ms, key)`` is one session's ``MessageGate``:
``charge``, ``start``, ``grow`` are the chain's own; ``inspect(text,
payload)`` judges the content (it returns a rewriting step's replacement, which
a flat policy never has); ``check`` is all of them on one whole message. The
rules, their costs and their refusals are the steps' (``pipeline/steps``).
"""

from edgegate.pipeline.chain import Pipeline
from edgegate.pipeline.steps.json import JsonStep
from edgegate.pipeline.steps.rate import RateStep
from edgegate.pipeline.steps.shape import ShapeStep
from edgegate.pipeline.steps.signatures import SignaturesStep
from edgegate.pipeline.steps.size import SizeStep
from edgegate.pipeline.steps.types import TypeStep


def flat_steps(text=True, binary=True, max_bytes=None, messages_per_s=None, messages_burst=None,
               bytes_per_s=None, bytes_burst=None, on_rate="close", json=False, max_depth=None, shape=None,
               signatures=(), deny=(), scan_binary=False, on_violation="close", rate_per="connection",
               table_entries=4096):
    """The compiled steps of a flat policy's (already valid) settings."""
    drop = on_violation == "drop"
    steps = [TypeStep(text, binary)]
    if max_bytes is not None:
        steps.append(SizeStep(max_bytes))
    steps.append(RateStep(messages_per_s, messages_burst, bytes_per_s, bytes_burst, on_rate, rate_per,
                          table_entries))
    if json or max_depth is not None:
        steps.append(JsonStep(max_depth, drop))
    if shape is not None:
        steps.append(ShapeStep(shape, drop))
    steps.append(SignaturesStep(signatures, deny, scan_binary, drop))
    return steps


class MessagePolicy:
    """A compiled message policy: a pipeline, with the attributes today's callers read."""

    def __init__(self, name, pipeline=None, **settings):
        self.name = name
        if pipeline is None:
            pipeline = Pipeline(name, flat_steps(**settings))
        self.pipeline = pipeline
        rate = pipeline.rates[0] if pipeline.rates else None
        self.msg_burst = rate.msg_burst if rate else None
        self.byte_burst = rate.byte_burst if rate else None
        self.shared = rate.shared if rate else None  # the per-principal table, when there is one
        self.inspects = pipeline.reads_text or pipeline.reads_binary

    def needs_binary_content(self):
        """True when binary payloads must be unmasked for the chain (else they stay masked in the ring)."""
        return self.pipeline.reads_binary

    def gate(self, now_ms, key=None):
        """A session's gate; ``key`` (its principal, else its address) names its shared buckets."""
        return MessageGate(self, now_ms, key)


class MessageGate:
    """One connection's chain of a policy, under today's names."""

    __slots__ = ("policy", "chain", "charge", "start", "grow")

    def __init__(self, policy, now_ms, key=None):
        self.policy = policy
        chain = self.chain = policy.pipeline.session(now_ms, key, None)
        self.charge = chain.charge  # the rate rule alone (a token refresh pays it too)
        self.start = chain.start  # type and size of a message's first frame
        self.grow = chain.grow  # size, as a fragmented message grows

    @property
    def state(self):
        """The buckets of a per-connection rate: [message micro-tokens, byte micro-tokens, last ms]."""
        rates = self.chain.rates
        return rates[0].state if rates else None

    def admit(self, text, payload, now_ms):
        """Type, size and rate of one whole message: the rules that do not read it."""
        self.start(text, len(payload))
        self.charge(len(payload), now_ms)

    def inspect(self, text, payload, now_ms=0, wall_s=0):
        """The content rules; None, or a rewriting step's replacement payload."""
        return self.chain.judge(text, payload, now_ms, wall_s)

    def check(self, text, payload, now_ms):
        """Judge one whole message (``payload``: bytes-like, unmasked). None: forward it."""
        n = len(payload)
        self.start(text, n)
        self.charge(n, now_ms)
        return self.chain.judge(text, payload, now_ms, 0)


def compile_policies(cfg):
    """{name: MessagePolicy} for every ``message_policies`` entry of a parsed config (both forms)."""
    mmb = cfg.limits["max_message_bytes"]
    return {name: MessagePolicy(name, Pipeline(name, [s.fresh() for s in st.steps], mmb))
            for name, st in cfg.message_policies.items()}
