"""``shape``: a JSON message must fit a schema in a JSON Schema subset (``config.shape``: ``type``,
``properties``, ``required``, ``additionalProperties: false``, ``items``, ``enum``, ``minimum``...).
A text message that is not JSON is refused as the json step would refuse it. Refused: 1008 shape,
with the path and what is wrong (``$.items[3]: not number``), never a value."""

from edgegate.config.model import ConfigError
from edgegate.config.shape import compile_shape
from edgegate.policy.errors import MessageRefused

from ..chain import NOT_JSON, UNPARSED
from . import ON_VIOLATION_SCHEMA, Step, drop_of


class ShapeStep(Step):
    NAME = "shape"
    KEYS = ("shape", "on_violation")
    REQUIRED = ("shape",)
    SCHEMA = {"shape": {"$ref": "#/$defs/shape"}, "on_violation": ON_VIOLATION_SCHEMA}
    reads_text = True

    def __init__(self, shape, drop=False):
        self.shape = shape  # a compiled ``config.shape.Shape``
        self.drop = drop

    @classmethod
    def compile(cls, conf, where, ctx):
        if "shape" not in conf:
            raise ConfigError(where("shape"), "missing")
        try:
            shape = compile_shape(conf["shape"], where("shape"))
        except ValueError as e:
            raise ConfigError(e.args[0], e.args[1]) from None
        return cls(shape, drop_of(conf, where, ctx))

    def judge(self, m):
        v = m.value_
        if v is UNPARSED or v is NOT_JSON:  # no json step before this one
            v = m.value(self.drop)
        err = self.shape.check(v)
        if err is not None:
            raise MessageRefused(1008, "shape", err, self.drop)
        return None
