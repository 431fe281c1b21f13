"""``size``: ``max_bytes`` per message, checked at its first frame and as a fragmented one grows. Refused: 1009."""

from edgegate.policy.errors import MessageRefused

from . import Step, integer


class SizeStep(Step):
    NAME = "size"
    KEYS = ("max_bytes",)
    REQUIRED = ("max_bytes",)
    SCHEMA = {"max_bytes": {"type": "integer", "minimum": 1}}
    ARRIVAL = True

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes

    @classmethod
    def compile(cls, conf, where, ctx):
        n = integer(conf["max_bytes"], where("max_bytes"), 1, ctx.max_message_bytes)
        if ctx.max_bytes is None or n < ctx.max_bytes:
            ctx.max_bytes = n
        return cls(n)

    def start(self, text, n):
        if n > self.max_bytes:
            raise MessageRefused(1009, "size", "%d bytes, over %d" % (n, self.max_bytes))

    def grow(self, n):
        if n > self.max_bytes:
            raise MessageRefused(1009, "size", "%d bytes, over %d" % (n, self.max_bytes))
