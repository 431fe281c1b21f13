"""``type``: which kinds of message a route takes (``types``: text and/or binary). Refused: 1003."""

from edgegate.config.model import ConfigError
from edgegate.policy.errors import MessageRefused

from . import Step


class TypeStep(Step):
    NAME = "type"
    KEYS = ("types",)
    REQUIRED = ("types",)
    SCHEMA = {"types": {"type": "array", "minItems": 1, "items": {"enum": ["text", "binary"]}}}
    ARRIVAL = True

    def __init__(self, text=True, binary=True):
        self.text = text
        self.binary = binary
        self.noop = text and binary

    @classmethod
    def compile(cls, conf, where, ctx):
        types = conf.get("types", ["text", "binary"])
        if type(types) is not list or not types or any(t not in ("text", "binary") for t in types):
            raise ConfigError(where("types"), "must be a non-empty list of text, binary")
        return cls("text" in types, "binary" in types)

    def start(self, text, n):
        if text:
            if not self.text:
                raise MessageRefused(1003, "type", "text messages are not accepted here")
        elif not self.binary:
            raise MessageRefused(1003, "type", "binary messages are not accepted here")
