"""The message part of the config: named message policies and which route and sub-protocol uses which.

``message_policies``: {NAME: {``types`` [text, binary], ``max_bytes``,
``rate`` {``messages_per_s``, ``messages_burst``, ``bytes_per_s``,
``bytes_burst``, ``on_exceed``: close | drop, ``per``: connection |
principal (every connection of a principal, or of an address on an open
route, shares the buckets)}, ``json`` (text must be a JSON
document), ``max_depth``, ``shape`` (a JSON Schema subset, see ``shape``),
``signatures`` [sqli, xss, cmd, path, nosql, proto], ``deny`` [literal
strings, case-insensitive], ``scan_binary``, ``on_violation``: close | drop}}.
``routes[i].messages`` names the policy of the route; ``routes[i].
messages_by_subprotocol`` {PROTOCOL: NAME} picks another one when that
sub-protocol was negotiated. A name that does not exist, a sub-protocol the
route does not offer, or a ``max_bytes`` over ``limits.max_message_bytes`` is
an error naming the field. The result is a dict of plain settings
(``MessageSettings.kwargs``) that ``policy.messages.MessagePolicy`` takes.
"""

from .model import ConfigError, _expect_dict, _int
from .policy import _bool
from .shape import compile_shape

SIGNATURE_SETS = ("sqli", "xss", "cmd", "path", "nosql", "proto")
_KEYS = ("types", "max_bytes", "rate", "json", "max_depth", "shape", "signatures", "deny", "scan_binary",
         "on_violation", "description")
_RATE_KEYS = ("messages_per_s", "messages_burst", "bytes_per_s", "bytes_burst", "on_exceed", "per")
MAX_DENY = 64
MAX_PATTERN = 128


class MessageSettings:
    """One validated message policy: ``kwargs`` for ``MessagePolicy(name, **kwargs)``."""

    def __init__(self, name, kwargs):
        self.name = name
        self.kwargs = kwargs


def _choice(v, path, options):
    if v not in options:
        raise ConfigError(path, "must be one of %s" % ", ".join(options))
    return v


def _one(name, v, path, max_message_bytes):
    _expect_dict(v, path, _KEYS)
    kw = {}
    types = v.get("types", ["text", "binary"])
    if not isinstance(types, list) or not types or any(t not in ("text", "binary") for t in types):
        raise ConfigError(path + ".types", "must be a non-empty list of text, binary")
    kw["text"] = "text" in types
    kw["binary"] = "binary" in types
    if "max_bytes" in v:
        kw["max_bytes"] = _int(v["max_bytes"], path + ".max_bytes", 1, max_message_bytes)
    r = v.get("rate", {})
    _expect_dict(r, path + ".rate", _RATE_KEYS)
    for k in _RATE_KEYS[:4]:
        if k in r:
            kw[k] = _int(r[k], path + ".rate." + k, 1, 1 << 30)
    for rate, burst in (("messages_per_s", "messages_burst"), ("bytes_per_s", "bytes_burst")):
        if burst in kw and rate not in kw:
            raise ConfigError(path + ".rate." + burst, "set, but %s is not" % rate)
    if "bytes_per_s" in kw:
        burst = kw.get("bytes_burst", kw["bytes_per_s"])
        biggest = kw.get("max_bytes", max_message_bytes)
        if burst < biggest:
            raise ConfigError(path + ".rate." + ("bytes_burst" if "bytes_burst" in kw else "bytes_per_s"),
                              "a burst of %d bytes is below the largest message (%d, %s): it could never pass"
                              % (burst, biggest, "max_bytes" if "max_bytes" in kw else "limits.max_message_bytes"))
    kw["on_rate"] = _choice(r.get("on_exceed", "close"), path + ".rate.on_exceed", ("close", "drop"))
    kw["rate_per"] = _choice(r.get("per", "connection"), path + ".rate.per", ("connection", "principal"))
    kw["json"] = _bool(v.get("json", False), path + ".json")
    if "max_depth" in v:
        kw["max_depth"] = _int(v["max_depth"], path + ".max_depth", 1, 256)
    if "shape" in v:
        try:
            kw["shape"] = compile_shape(v["shape"], path + ".shape")
        except ValueError as e:
            raise ConfigError(e.args[0], e.args[1]) from None
    sigs = v.get("signatures", [])
    if not isinstance(sigs, list) or any(s not in SIGNATURE_SETS for s in sigs):
        raise ConfigError(path + ".signatures", "must be a list of %s" % ", ".join(SIGNATURE_SETS))
    kw["signatures"] = tuple(sigs)
    deny = v.get("deny", [])
    if not isinstance(deny, list) or len(deny) > MAX_DENY:
        raise ConfigError(path + ".deny", "must be a list of at most %d strings" % MAX_DENY)
    for i, d in enumerate(deny):
        if not isinstance(d, str) or not d.strip() or len(d.encode()) > MAX_PATTERN:
            raise ConfigError("%s.deny[%d]" % (path, i), "must be a non-blank string of at most %d bytes"
                              % MAX_PATTERN)
    kw["deny"] = tuple(deny)
    kw["scan_binary"] = _bool(v.get("scan_binary", False), path + ".scan_binary")
    if kw["scan_binary"] and not (sigs or deny):
        raise ConfigError(path + ".scan_binary", "set, but there are no signatures or deny patterns to scan for")
    kw["on_violation"] = _choice(v.get("on_violation", "close"), path + ".on_violation", ("close", "drop"))
    return MessageSettings(name, kw)


def message_policies(doc, max_message_bytes):
    """{name: MessageSettings} from ``message_policies``."""
    mp = doc.get("message_policies", {})
    if type(mp) is not dict:
        raise ConfigError("message_policies", "must be an object of named policies")
    out = {}
    for name, v in mp.items():
        if not name or len(name) > 64:
            raise ConfigError("message_policies", "a policy name must be 1 to 64 characters")
        out[name] = _one(name, v, "message_policies." + name, max_message_bytes)
    return out


def route_messages(v, path, policies, subprotocols):
    """(default policy name or None, {sub-protocol: name}) of route ``v``; references checked."""
    name = v.get("messages")
    if name is not None and name not in policies:
        raise ConfigError(path + ".messages", "no message policy named %r" % name)
    by = v.get("messages_by_subprotocol", {})
    if type(by) is not dict:
        raise ConfigError(path + ".messages_by_subprotocol", "must be an object {sub-protocol: policy name}")
    for proto, pname in by.items():
        p = path + ".messages_by_subprotocol." + proto
        if not subprotocols or proto not in subprotocols:
            raise ConfigError(p, "the route does not offer this sub-protocol (routes[].subprotocols)")
        if pname not in policies:
            raise ConfigError(p, "no message policy named %r" % (pname,))
    return name, dict(by)
