"""The published JSON Schema (draft 2020-12) of the config document (``edgegate schema``).

``model.parse`` is what enforces the rules (with messages naming the path);
this schema states the same shape for editors and other tools, and the tests
check that both accept and refuse the same documents.
"""

from .limits import LIMIT_DEFAULTS, TIMEOUT_DEFAULTS
from .model import CONSOLE_DEFAULTS


def _ints(names, lo, hi):
    return {n: {"type": "integer", "minimum": lo, "maximum": hi} for n in names}


def schema():
    limits = _ints(tuple(LIMIT_DEFAULTS) + ("max_conns", "ring_pool_rings"), 1, 1 << 40)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://edgegate.example/schema/config.json",
        "title": "edgegate box configuration",
        "type": "object",
        "additionalProperties": False,
        "required": ["listen"],
        "properties": {
            "listen": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["port", "plaintext"],
                    "properties": {
                        "host": {"type": "string", "minLength": 1, "default": "127.0.0.1"},
                        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                        "plaintext": {"const": True,
                                      "description": "ws:// only where written; TLS listeners arrive with TLS"},
                    },
                },
            },
            "routes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["path", "backend"],
                    "properties": {
                        "path": {"type": "string", "pattern": "^/"},
                        "match": {"enum": ["prefix", "exact"], "default": "prefix"},
                        "backend": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["url"],
                            "properties": {"url": {"type": "string", "pattern": "^ws://[^/?#\\s]+(/[^\\s]*)?$"}},
                        },
                    },
                },
            },
            "limits": {"type": "object", "additionalProperties": False, "properties": limits},
            "timeouts": {"type": "object", "additionalProperties": False,
                         "properties": _ints(tuple(TIMEOUT_DEFAULTS), 1, 86400000)},
            "console": {
                "type": "object",
                "additionalProperties": False,
                "properties": dict(
                    _ints(tuple(CONSOLE_DEFAULTS), 1, 86400000),
                    password_hash={"type": "string", "pattern": "^pbkdf2-sha256\\$[0-9]+\\$[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+$"},
                ),
            },
        },
    }
