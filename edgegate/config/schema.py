"""The published JSON Schema (draft 2020-12) of the config document (``edgegate schema``).

``model.parse`` is what enforces the rules (with messages naming the path);
this schema states the same shape for editors and other tools, and the tests
check that both accept and refuse the same documents.
"""

from edgegate.pipeline.registry import COMMON_KEYS, MAX_STEPS, STEPS

from .limits import LIMIT_DEFAULTS, TIMEOUT_DEFAULTS
from .messages import MAX_DENY, MAX_PATTERN, SIGNATURE_SETS
from .model import CONSOLE_DEFAULTS
from .policy import ADMISSION_DEFAULTS, JWT_ALGS, METHODS

_NONEMPTY = {"type": "string", "minLength": 1}
_STRINGS = {"type": "array", "items": _NONEMPTY}
# A serialised origin (RFC 6454), "*" or "null"; the model also refuses a scheme's default port.
_ORIGIN = "^(\\*|null|[a-z][a-z0-9+.-]*://(\\[[0-9a-f:.]+\\]|[a-z0-9._~-]+)(:[1-9][0-9]{0,4})?)$"


def _ints(names, lo, hi):
    return {n: {"type": "integer", "minimum": lo, "maximum": hi} for n in names}


def _shape_schema():
    """The JSON Schema subset a message policy's ``shape`` may use (itself, recursively)."""
    types = {"enum": ["object", "array", "string", "number", "integer", "boolean", "null"]}
    count = {"type": "integer", "minimum": 0}
    return {"type": "object", "additionalProperties": False, "properties": {
        "type": {"oneOf": [types, {"type": "array", "minItems": 1, "items": types}]},
        "properties": {"type": "object", "additionalProperties": {"$ref": "#/$defs/shape"}},
        "required": {"type": "array", "items": {"type": "string"}},
        "additionalProperties": {"type": "boolean"},
        "items": {"$ref": "#/$defs/shape"},
        "maxProperties": count, "maxItems": count, "minItems": count, "maxLength": count, "minLength": count,
        "enum": {"type": "array", "minItems": 1, "items": {"type": ["string", "number", "boolean", "null"]}},
        "minimum": {"type": "number"}, "maximum": {"type": "number"},
        "description": {"type": "string"}, "title": {"type": "string"}}}


def _step_schema(name, cls):
    """One step's object: ``"step": NAME`` and the keys its class declares (``Step.SCHEMA``)."""
    props = {"step": {"const": name}, "description": {"type": "string"}}
    props.update(cls.SCHEMA)
    assert set(props) == set(COMMON_KEYS) | set(cls.KEYS), name
    return {"type": "object", "additionalProperties": False, "required": ["step"] + list(cls.REQUIRED),
            "properties": props}


def _message_policy_schema():
    """A policy: the steps form, or the flat form it had before pipelines (still read)."""
    steps = {"type": "object", "additionalProperties": False, "required": ["steps"], "properties": {
        "steps": {"type": "array", "maxItems": MAX_STEPS,
                  "items": {"oneOf": [_step_schema(n, c) for n, c in STEPS.items()]}},
        "on_violation": {"enum": ["close", "drop"], "default": "close"},
        "description": {"type": "string"}}}
    return {"oneOf": [steps, _flat_policy_schema()]}


def _flat_policy_schema():
    return {"type": "object", "additionalProperties": False, "properties": {
        "types": {"type": "array", "minItems": 1, "items": {"enum": ["text", "binary"]}},
        "max_bytes": {"type": "integer", "minimum": 1},
        "rate": {"type": "object", "additionalProperties": False, "properties": dict(
            _ints(("messages_per_s", "messages_burst", "bytes_per_s", "bytes_burst"), 1, 1 << 30),
            on_exceed={"enum": ["close", "drop"], "default": "close"},
            per={"enum": ["connection", "principal"], "default": "connection"})},
        "json": {"type": "boolean", "default": False},
        "max_depth": {"type": "integer", "minimum": 1, "maximum": 256},
        "shape": {"$ref": "#/$defs/shape"},
        "signatures": {"type": "array", "items": {"enum": list(SIGNATURE_SETS)}},
        "deny": {"type": "array", "maxItems": MAX_DENY,
                 "items": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN, "pattern": "\\S"}},
        "scan_binary": {"type": "boolean", "default": False},
        "on_violation": {"enum": ["close", "drop"], "default": "close"},
        "description": {"type": "string"}}}


def schema():
    limits = _ints(tuple(LIMIT_DEFAULTS) + ("max_conns", "ring_pool_rings", "assembly_pool_bytes"), 1, 1 << 40)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://edgegate.example/schema/config.json",
        "title": "edgegate box configuration",
        "type": "object",
        "additionalProperties": False,
        "required": ["listen"],
        "$defs": {"shape": _shape_schema()},
        "properties": {
            "listen": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["port"],
                    "oneOf": [{"required": ["plaintext"], "properties": {"plaintext": {"const": True}},
                               "not": {"required": ["tls"]}},
                              {"required": ["tls"], "not": {"properties": {"plaintext": {"const": True}},
                                                            "required": ["plaintext"]}}],
                    "properties": {
                        "host": {"type": "string", "minLength": 1, "default": "127.0.0.1"},
                        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                        "plaintext": {"type": "boolean", "description": "ws:// only where written true"},
                        "tls": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["cert", "key"],
                            "properties": {
                                "backend": {"enum": ["mbedtls", "ssl"], "default": "mbedtls"},
                                "cert": _NONEMPTY,
                                "key": _NONEMPTY,
                                "client_ca": _NONEMPTY,
                                "client_cert": {"enum": ["none", "optional", "required"], "default": "none"},
                                "handshake_ms": {"type": "integer", "minimum": 1, "maximum": 600000},
                                "sni": {"type": "array", "items": {
                                    "type": "object", "additionalProperties": False,
                                    "required": ["names", "cert", "key"],
                                    "properties": {"names": dict(_STRINGS, minItems=1), "cert": _NONEMPTY,
                                                   "key": _NONEMPTY}}},
                            },
                        },
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
                            "properties": {
                                "url": {"type": "string", "pattern": "^wss?://[^/?#\\s]+(/[^\\s]*)?$"},
                                "tls": {"type": "object", "additionalProperties": False, "required": ["ca"],
                                        "properties": {"ca": _NONEMPTY, "server_name": _NONEMPTY}},
                            },
                        },
                        "origins": {"type": "array", "items": {"type": "string", "pattern": _ORIGIN}},
                        "allow_missing_origin": {"type": "boolean", "default": True},
                        "subprotocols": _STRINGS,
                        "require_subprotocol": {"type": "boolean", "default": False},
                        "max_conns": {"type": "integer", "minimum": 1},
                        "messages": _NONEMPTY,
                        "messages_by_subprotocol": {"type": "object", "additionalProperties": _NONEMPTY},
                        "messages_to_client": _NONEMPTY,
                        "messages_to_client_by_subprotocol": {"type": "object", "additionalProperties": _NONEMPTY},
                        "auth": {"type": "object", "additionalProperties": False, "properties": {
                            "methods": {"type": "array", "items": {"enum": list(METHODS)}},
                            "query_param": _NONEMPTY,
                            "protocol_prefix": {"type": "string", "default": "bearer."},
                            "api_key_header": _NONEMPTY,
                            "refresh": {"type": "object", "additionalProperties": False, "properties": {
                                "field": _NONEMPTY, "value": _NONEMPTY, "token_field": _NONEMPTY}}}},
                    },
                },
            },
            "limits": {"type": "object", "additionalProperties": False, "properties": limits},
            "timeouts": {"type": "object", "additionalProperties": False,
                         "properties": _ints(tuple(TIMEOUT_DEFAULTS), 1, 86400000)},
            "auth": {"type": "object", "additionalProperties": False, "properties": {
                "jwt": {"type": "object", "additionalProperties": False, "properties": {
                    "keys": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False, "required": ["alg"],
                        "properties": {"kid": _NONEMPTY, "alg": {"enum": list(JWT_ALGS)},
                                       "secret_file": _NONEMPTY, "public_key_file": _NONEMPTY}}},
                    "jwks_file": _NONEMPTY, "issuer": _NONEMPTY, "audience": _NONEMPTY,
                    "leeway_s": {"type": "integer", "minimum": 0, "maximum": 3600},
                    "grace_s": {"type": "integer", "minimum": 0, "maximum": 3600}}},
                "api_keys": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["id", "sha256"],
                    "properties": {"id": _NONEMPTY, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}},
            }},
            "message_policies": {"type": "object", "propertyNames": {"minLength": 1, "maxLength": 64},
                                 "additionalProperties": _message_policy_schema()},
            "admission": {"type": "object", "additionalProperties": False,
                          "properties": _ints(tuple(ADMISSION_DEFAULTS), 1, 1 << 30)},
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
