"""``signatures``: injection signature ``sets`` and a ``deny`` list of literal strings, searched in the
folded text (``policy.signatures``: lowercase, whitespace and comments collapsed, %XX decoded) and,
when the text has JSON escapes, in its decoded form too. Binary messages only with ``scan_binary``.
Refused: 1008 signature, detail ``set: pattern`` (the configured pattern, never the message)."""

from edgegate.config.model import ConfigError
from edgegate.policy.errors import MessageRefused
from edgegate.policy.signatures import SETS, Scanner, json_unescaped

from . import ON_VIOLATION_SCHEMA, Step, boolean, drop_of

SIGNATURE_SETS = ("sqli", "xss", "cmd", "path", "nosql", "proto")
MAX_DENY = 64
MAX_PATTERN = 128


class SignaturesStep(Step):
    NAME = "signatures"
    KEYS = ("sets", "deny", "scan_binary", "on_violation")
    SCHEMA = {"sets": {"type": "array", "items": {"enum": list(SIGNATURE_SETS)}},
              "deny": {"type": "array", "maxItems": MAX_DENY,
                       "items": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN, "pattern": "\\S"}},
              "scan_binary": {"type": "boolean", "default": False},
              "on_violation": ON_VIOLATION_SCHEMA}
    reads_text = True

    def __init__(self, sets=(), deny=(), scan_binary=False, drop=False):
        self.sets = tuple(sets)
        self.deny = tuple(deny)
        self.scanner = Scanner(sets, deny) if (sets or deny) else None
        self.noop = self.scanner is None
        self.reads_binary = scan_binary and not self.noop
        self.drop = drop

    @classmethod
    def compile(cls, conf, where, ctx):
        sets = conf.get("sets", [])
        if type(sets) is not list or any(s not in SETS for s in sets):
            raise ConfigError(where("sets"), "must be a list of %s" % ", ".join(SIGNATURE_SETS))
        deny = conf.get("deny", [])
        if type(deny) is not list or len(deny) > MAX_DENY:
            raise ConfigError(where("deny"), "must be a list of at most %d strings" % MAX_DENY)
        for i, d in enumerate(deny):
            if not isinstance(d, str) or not d.strip() or len(d.encode()) > MAX_PATTERN:
                raise ConfigError("%s[%d]" % (where("deny"), i), "must be a non-blank string of at most %d bytes"
                                  % MAX_PATTERN)
        scan_binary = boolean(conf.get("scan_binary", False), where("scan_binary"))
        if scan_binary and not (sets or deny):
            raise ConfigError(where("scan_binary"), "set, but there are no signatures or deny patterns to scan for")
        if not (sets or deny) and not ctx.flat:
            raise ConfigError(where(), "a signatures step needs sets or deny")
        return cls(sets, deny, scan_binary, drop_of(conf, where, ctx))

    def judge(self, m):
        sc = self.scanner
        raw = m.raw
        hit = sc.find(raw)
        if hit is None and b"\\" in raw:
            hit = sc.find(json_unescaped(raw))
        if hit is not None:
            raise MessageRefused(1008, "signature", "%s: %s" % hit, self.drop)
        return None
