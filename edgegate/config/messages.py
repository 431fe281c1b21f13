"""The message part of the config: named message policies, and which route, sub-protocol and direction uses which.

``message_policies``: {NAME: a policy}, in one of two forms:

- steps: ``{"steps": [{"step": NAME, ...}, ...], "on_violation": close | drop,
  "description": ...}``: an ordered list of steps, each compiled by its class
  in the registry (``pipeline.registry``: type, size, rate, json, shape,
  signatures, redact, enrich);
- flat (the form before pipelines, still read): ``types`` [text, binary],
  ``max_bytes``, ``rate`` {``messages_per_s``, ``messages_burst``,
  ``bytes_per_s``, ``bytes_burst``, ``on_exceed``: close | drop, ``per``:
  connection | principal}, ``json``, ``max_depth``, ``shape``,
  ``signatures`` [sqli, xss, cmd, path, nosql, proto], ``deny``,
  ``scan_binary``, ``on_violation``. It compiles to the steps type, size,
  rate, json, shape, signatures (those it sets), with errors naming the flat
  fields; ``flat_to_steps`` writes it in the steps form (``edgegate check --fix``).

Routes: ``messages`` and ``messages_by_subprotocol`` {PROTOCOL: NAME} (what a
client sends to the backend), ``messages_to_client`` and
``messages_to_client_by_subprotocol`` (what the backend sends to the client).
A name that does not exist, a sub-protocol the route does not offer, or a
``max_bytes`` over ``limits.max_message_bytes`` is an error naming the field.
"""

from edgegate.pipeline.registry import compile_steps
from edgegate.pipeline.steps import CLOSE_OR_DROP, Ctx, Where, choice
from edgegate.pipeline.steps.json import JsonStep
from edgegate.pipeline.steps.rate import RateStep
from edgegate.pipeline.steps.shape import ShapeStep
from edgegate.pipeline.steps.signatures import MAX_DENY, MAX_PATTERN, SIGNATURE_SETS, SignaturesStep  # noqa: F401
from edgegate.pipeline.steps.size import SizeStep
from edgegate.pipeline.steps.types import TypeStep

from .model import ConfigError, _expect_dict
from .policy import _bool

_KEYS = ("types", "max_bytes", "rate", "json", "max_depth", "shape", "signatures", "deny", "scan_binary",
         "on_violation", "description")
_RATE_KEYS = ("messages_per_s", "messages_burst", "bytes_per_s", "bytes_burst", "on_exceed", "per")
STEP_FORM_KEYS = ("steps", "on_violation", "description")
ROUTE_KEYS = ("messages", "messages_by_subprotocol", "messages_to_client", "messages_to_client_by_subprotocol")


class MessageSettings:
    """One validated message policy.

    ``steps``: its compiled steps (shared by every pipeline built from this
    config; ``Step.fresh`` gives a pipeline its own mutable tables). ``flat``:
    written in the flat form; then ``kwargs`` are today's settings for
    ``policy.messages.MessagePolicy(name, **kwargs)`` (None for the steps form).
    """

    def __init__(self, name, steps, on_violation, flat=False, kwargs=None):
        self.name = name
        self.steps = steps
        self.on_violation = on_violation
        self.flat = flat
        self.kwargs = kwargs


def _flat_parts(v, path):
    """[(step class, step config, Where)] equivalent to the flat policy ``v`` (keys checked)."""
    _expect_dict(v, path, _KEYS)
    parts = [(TypeStep, {"step": "type", "types": v.get("types", ["text", "binary"])}, Where(path))]
    if "max_bytes" in v:
        parts.append((SizeStep, {"step": "size", "max_bytes": v["max_bytes"]}, Where(path)))
    if "rate" in v:
        r = v["rate"]
        _expect_dict(r, path + ".rate", _RATE_KEYS)
        parts.append((RateStep, dict(r, step="rate"), Where(path + ".rate")))
    js = _bool(v.get("json", False), path + ".json")
    if js or "max_depth" in v:
        c = {"step": "json"}
        if "max_depth" in v:
            c["max_depth"] = v["max_depth"]
        parts.append((JsonStep, c, Where(path)))
    if "shape" in v:
        parts.append((ShapeStep, {"step": "shape", "shape": v["shape"]}, Where(path)))
    if "signatures" in v or "deny" in v or "scan_binary" in v:
        c = {"step": "signatures"}
        for k, to in (("signatures", "sets"), ("deny", "deny"), ("scan_binary", "scan_binary")):
            if k in v:
                c[to] = v[k]
        parts.append((SignaturesStep, c, Where(path, {"sets": path + ".signatures"})))
    return parts


def _kwargs(v, steps):
    """Today's ``MessagePolicy`` settings of a valid flat policy ``v`` (its compiled ``steps`` beside)."""
    types = v.get("types", ["text", "binary"])
    kw = {"text": "text" in types, "binary": "binary" in types}
    if "max_bytes" in v:
        kw["max_bytes"] = v["max_bytes"]
    r = v.get("rate", {})
    for k in _RATE_KEYS[:4]:
        if k in r:
            kw[k] = r[k]
    kw["on_rate"] = r.get("on_exceed", "close")
    kw["rate_per"] = r.get("per", "connection")
    kw["json"] = v.get("json", False)
    if "max_depth" in v:
        kw["max_depth"] = v["max_depth"]
    for s in steps:
        if s.NAME == "shape":
            kw["shape"] = s.shape
    kw["signatures"] = tuple(v.get("signatures", ()))
    kw["deny"] = tuple(v.get("deny", ()))
    kw["scan_binary"] = v.get("scan_binary", False)
    kw["on_violation"] = v.get("on_violation", "close")
    return kw


def _one(name, v, path, max_message_bytes, table_entries):
    if type(v) is not dict:
        raise ConfigError(path, "must be an object: {\"steps\": [...]} (or the flat form)")
    on = choice(v.get("on_violation", "close"), path + ".on_violation", CLOSE_OR_DROP)
    if "description" in v and not isinstance(v["description"], str):
        raise ConfigError(path + ".description", "must be a string")
    if "steps" in v:
        for k in v:
            if k not in STEP_FORM_KEYS:
                raise ConfigError(path + "." + k, "not beside steps: %s" % (
                    "a policy with steps takes only steps, on_violation and description" if k not in _KEYS
                    else "in the steps form it belongs to a step"))
        ctx = Ctx(max_message_bytes, table_entries, on == "drop")
        return MessageSettings(name, compile_steps(v["steps"], path + ".steps", ctx), on)
    parts = _flat_parts(v, path)
    ctx = Ctx(max_message_bytes, table_entries, on == "drop", flat=True)
    steps = [cls.compile(conf, where, ctx) for cls, conf, where in parts]
    return MessageSettings(name, steps, on, True, _kwargs(v, steps))


def message_policies(doc, max_message_bytes, table_entries=4096):
    """{name: MessageSettings} from ``message_policies``."""
    mp = doc.get("message_policies", {})
    if type(mp) is not dict:
        raise ConfigError("message_policies", "must be an object of named policies")
    out = {}
    for name, v in mp.items():
        if not name or len(name) > 64:
            raise ConfigError("message_policies", "a policy name must be 1 to 64 characters")
        out[name] = _one(name, v, "message_policies." + name, max_message_bytes, table_entries)
    return out


def route_messages(v, path, policies, subprotocols, key="messages"):
    """(policy name or None, {sub-protocol: name}) of route ``v`` for ``key`` (``messages``, what the
    client sends; ``messages_to_client``, what the backend sends); references checked."""
    name = v.get(key)
    if name is not None and (not isinstance(name, str) or name not in policies):
        raise ConfigError(path + "." + key, "no message policy named %r" % (name,))
    bk = key + "_by_subprotocol"
    by = v.get(bk, {})
    if type(by) is not dict:
        raise ConfigError(path + "." + bk, "must be an object {sub-protocol: policy name}")
    for proto, pname in by.items():
        p = path + "." + bk + "." + proto
        if not subprotocols or proto not in subprotocols:
            raise ConfigError(p, "the route does not offer this sub-protocol (routes[].subprotocols)")
        if not isinstance(pname, str) or pname not in policies:
            raise ConfigError(p, "no message policy named %r" % (pname,))
    return name, dict(by)


# -- the flat form, rewritten as steps (edgegate check --fix) ---------------------------------------

def flat_to_steps(v):
    """The steps form of the flat policy ``v`` (assumed valid), and notes on what changed.

    The same steps the flat form compiles to, in the same order; a type step
    only where ``types`` was written, a rate step only where a rate is set
    (``on_exceed``/``per`` alone did nothing).
    """
    steps = []
    notes = []
    if "types" in v:
        steps.append({"step": "type", "types": list(v["types"])})
    if "max_bytes" in v:
        steps.append({"step": "size", "max_bytes": v["max_bytes"]})
    r = v.get("rate")
    if r is not None:
        if any(k in r for k in _RATE_KEYS[:4]):
            steps.append(dict([("step", "rate")] + list(r.items())))
        else:
            notes.append("rate without messages_per_s or bytes_per_s did nothing: left out")
    if v.get("json") or "max_depth" in v:
        c = {"step": "json"}
        if "max_depth" in v:
            c["max_depth"] = v["max_depth"]
        steps.append(c)
    if "shape" in v:
        steps.append({"step": "shape", "shape": v["shape"]})
    if v.get("signatures") or v.get("deny"):
        c = {"step": "signatures"}
        if v.get("signatures"):
            c["sets"] = list(v["signatures"])
        if v.get("deny"):
            c["deny"] = list(v["deny"])
        if v.get("scan_binary"):
            c["scan_binary"] = True
        steps.append(c)
    out = {}
    if "description" in v:
        out["description"] = v["description"]
    out["steps"] = steps
    if "on_violation" in v:
        out["on_violation"] = v["on_violation"]
    return out, notes


def fix_document(doc):
    """(the document with every flat policy in the steps form, [what changed]); ``doc`` is not modified."""
    mp = doc.get("message_policies") if type(doc) is dict else None
    if type(mp) is not dict:
        return doc, []
    changes = []
    new = {}
    for name, v in mp.items():
        if type(v) is dict and "steps" not in v:
            new[name], notes = flat_to_steps(v)
            changes.append("message_policies.%s: flat form -> steps [%s]%s" % (
                name, ", ".join(s["step"] for s in new[name]["steps"]) or "none: it passes every message",
                "".join("; " + n for n in notes)))
        else:
            new[name] = v
    if not changes:
        return doc, []
    out = dict(doc)
    out["message_policies"] = new
    return out, changes
