"""The step registry: step name -> step class. Adding a step is its module plus one line here.

``compile_steps(confs, path, ctx)`` compiles a policy's ``steps`` list: each
entry an object with ``"step": NAME`` and that step's keys (checked against
the class's ``KEYS``), errors naming the entry (``message_policies.chat.
steps[3].paths[1]``). Steps that act as a message arrives (type, size, rate)
must come before every content step.
"""

from edgegate.config.model import ConfigError

from .steps import Where
from .steps.enrich import EnrichStep
from .steps.json import JsonStep
from .steps.rate import RateStep
from .steps.redact import RedactStep
from .steps.shape import ShapeStep
from .steps.signatures import SignaturesStep
from .steps.size import SizeStep
from .steps.types import TypeStep

STEPS = {
    "type": TypeStep,
    "size": SizeStep,
    "rate": RateStep,
    "json": JsonStep,
    "shape": ShapeStep,
    "signatures": SignaturesStep,
    "redact": RedactStep,
    "enrich": EnrichStep,
}
MAX_STEPS = 32
COMMON_KEYS = ("step", "description")


def compile_steps(confs, path, ctx):
    """[compiled step] of the list ``confs`` at config path ``path`` (``...steps``)."""
    if type(confs) is not list or len(confs) > MAX_STEPS:
        raise ConfigError(path, "must be a list of at most %d steps" % MAX_STEPS)
    out = []
    content = None  # the path of the first content step
    for i, conf in enumerate(confs):
        p = "%s[%d]" % (path, i)
        if type(conf) is not dict:
            raise ConfigError(p, "must be an object {\"step\": NAME, ...}")
        name = conf.get("step")
        cls = STEPS.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ConfigError(p + ".step", "must be one of %s" % ", ".join(STEPS))
        for k in conf:
            if k not in COMMON_KEYS and k not in cls.KEYS:
                raise ConfigError(p + "." + k, "unknown key for a %s step" % name)
        for k in cls.REQUIRED:
            if k not in conf:
                raise ConfigError(p + "." + k, "missing")
        if "description" in conf and not isinstance(conf["description"], str):
            raise ConfigError(p + ".description", "must be a string")
        if cls.ARRIVAL and content is not None:
            raise ConfigError(p, "a %s step acts as a message arrives, before any content step: put it before %s"
                              % (name, content))
        if not cls.ARRIVAL and content is None:
            content = p
        out.append(cls.compile(conf, Where(p), ctx))
    return out
