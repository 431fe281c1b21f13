"""Today's message policies behind the pipeline facade (client to backend only), until edgegate.pipeline lands."""

from edgegate.policy.messages import compile_policies


class Facts:
    __slots__ = ("principal", "route", "subprotocol", "box", "peer")

    def __init__(self, principal, route, subprotocol, box, peer):
        self.principal = principal
        self.route = route
        self.subprotocol = subprotocol
        self.box = box
        self.peer = peer


class _Chain:
    __slots__ = ("gate", "name", "reads_text", "reads_binary")

    def __init__(self, gate):
        self.gate = gate
        self.name = gate.policy.name
        self.reads_text = gate.policy.inspects
        self.reads_binary = gate.policy.needs_binary_content()

    def charge(self, n, now_ms):
        self.gate.charge(n, now_ms)

    def start(self, text, n):
        self.gate.start(text, n)

    def grow(self, n):
        self.gate.grow(n)

    def judge(self, text, payload, now_ms, wall_s):
        self.gate.inspect(text, payload)


class _Pipeline:
    def __init__(self, policy):
        self.name = policy.name
        self.policy = policy

    def session(self, now_ms, key, facts):
        return _Chain(self.policy.gate(now_ms, key))


def compile_legacy(cfg, box_id):
    return {name: _Pipeline(p) for name, p in compile_policies(cfg).items()}
