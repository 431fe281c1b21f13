"""``edgegate schema`` is valid JSON Schema and agrees with model.parse on example documents (CPython only).

The schema states the document's shape for editors; model.parse enforces it.
Where the two can differ by design (rules between fields, the memory budget,
what a password hash decodes to), the second table pins the schema as the
looser of the two, so it never refuses a document the gateway would run.
"""

import json
import subprocess

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extra (pip install -e .[test])")

from edgegate.cli import load_board  # noqa: E402
from edgegate.config.model import ConfigError, parse  # noqa: E402
from edgegate.config.secrets import hash_password  # noqa: E402
from tests import procs  # noqa: E402

HASH = hash_password("correct horse", b"0123456789abcdef", 1000)
_H = HASH.split("$")  # prefix, iterations, salt, digest
L = [{"host": "127.0.0.1", "port": 8080, "plaintext": True}]
R = {"path": "/echo", "backend": {"url": "ws://127.0.0.1:9000/"}}


def with_(**kw):
    d = {"listen": L, "routes": [R]}
    d.update(kw)
    return d


# (name, document, accepted by both)
AGREED = [
    ("minimal", {"listen": [{"port": 8080, "plaintext": True}]}, True),
    ("full", with_(limits={"max_conns": 10, "max_frame_bytes": 4096}, timeouts={"idle_ms": 1000, "close_ms": 50},
                   console={"password_hash": HASH, "max_failures": 3, "lockout_ms": 1000, "idle_logout_ms": 5000}),
     True),
    ("exact route to an IPv6 backend path",
     with_(routes=[{"path": "/x", "match": "exact", "backend": {"url": "ws://[::1]:9000/in?q=1"}}]), True),
    ("port 0 and no routes", {"listen": [{"port": 0, "plaintext": True}], "routes": []}, True),
    ("two listeners", {"listen": L + [{"host": "::1", "port": 8081, "plaintext": True}]}, True),
    ("not an object", [L], False),
    ("no listen", {"routes": [R]}, False),
    ("empty listen", with_(listen=[]), False),
    ("port out of range", with_(listen=[{"port": 70000, "plaintext": True}]), False),
    ("port as a string", with_(listen=[{"port": "8080", "plaintext": True}]), False),
    ("listener without plaintext", with_(listen=[{"port": 8080}]), False),
    ("plaintext false", with_(listen=[{"port": 8080, "plaintext": False}]), False),
    ("empty host", with_(listen=[{"host": "", "port": 8080, "plaintext": True}]), False),
    ("unknown top-level key", with_(colour="red"), False),
    ("unknown listener key", with_(listen=[{"port": 8080, "plaintext": True, "backlog": 5}]), False),
    ("route path without /", with_(routes=[{"path": "echo", "backend": {"url": "ws://a/"}}]), False),
    ("route match regex", with_(routes=[{"path": "/", "match": "regex", "backend": {"url": "ws://a/"}}]), False),
    ("route without backend", with_(routes=[{"path": "/"}]), False),
    ("backend without url", with_(routes=[{"path": "/", "backend": {}}]), False),
    ("http backend", with_(routes=[{"path": "/", "backend": {"url": "http://a/"}}]), False),
    ("limit zero", with_(limits={"max_conns": 0}), False),
    ("limit true", with_(limits={"max_conns": True}), False),
    ("limit 1.5", with_(limits={"max_conns": 1.5}), False),
    ("unknown limit", with_(limits={"max_sessions": 5}), False),
    ("timeout over a day", with_(timeouts={"idle_ms": 86400001}), False),
    ("unknown timeout", with_(timeouts={"idle_s": 5}), False),
    ("clear-text password", with_(console={"password_hash": "hunter2"}), False),
    ("console max_failures 0", with_(console={"max_failures": 0}), False),
    ("message policy on a route", with_(
        routes=[dict(R, messages="chat", subprotocols=["v2"], messages_by_subprotocol={"v2": "strict"})],
        message_policies={"chat": {"types": ["text"], "max_bytes": 4096, "json": True, "max_depth": 8,
                                   "rate": {"messages_per_s": 10, "bytes_per_s": 65536, "on_exceed": "drop"},
                                   "shape": {"type": ["object"], "required": ["type"], "additionalProperties": False,
                                             "properties": {"type": {"enum": ["a", 1, None]},
                                                            "items": {"type": "array", "maxItems": 3,
                                                                      "items": {"type": "number", "minimum": 0}}}},
                                   "signatures": ["sqli", "xss", "cmd", "path", "nosql", "proto"],
                                   "deny": ["no"], "on_violation": "drop"},
                          "strict": {"types": ["binary"]}}), True),
    ("message policy type json", with_(message_policies={"p": {"types": ["json"]}}), False),
    ("message policy unknown signature set", with_(message_policies={"p": {"signatures": ["magic"]}}), False),
    ("message policy unknown key", with_(message_policies={"p": {"regex": "x"}}), False),
    ("shape with an unsupported keyword", with_(message_policies={"p": {"shape": {"pattern": "x"}}}), False),
    ("shape additionalProperties as a schema",
     with_(message_policies={"p": {"shape": {"additionalProperties": {"type": "string"}}}}), False),
    ("message rate on_exceed ignore", with_(message_policies={"p": {"rate": {"on_exceed": "ignore"}}}), False),
    ("blank deny pattern", with_(message_policies={"p": {"deny": ["  "]}}), False),
    ("origins: any, null and serialised ones",
     with_(routes=[dict(R, origins=["*", "null", "https://app.example", "http://[::1]:8080", "app://x"])]), True),
    ("origin with a trailing slash", with_(routes=[dict(R, origins=["https://app.example/"])]), False),
    ("origin in capitals", with_(routes=[dict(R, origins=["HTTPS://APP.EXAMPLE"])]), False),
    ("origin without a scheme", with_(routes=[dict(R, origins=["app.example"])]), False),
    ("origin with userinfo", with_(routes=[dict(R, origins=["https://u@app.example"])]), False),
    ("origin with a wildcard label", with_(routes=[dict(R, origins=["https://*.app.example"])]), False),
]

# Documents the schema accepts and model.parse refuses: rules JSON Schema cannot state.
SCHEMA_LOOSER = [
    ("max_frame_bytes over max_message_bytes", with_(limits={"max_frame_bytes": 70000, "max_message_bytes": 65536})),
    ("over the memory budget", with_(limits={"max_conns": 10 ** 6, "ring_pool_rings": 10 ** 6})),
    ("hash with 999 iterations", with_(console={"password_hash": "$".join([_H[0], "999", _H[2], _H[3]])})),
    ("hash with a short salt", with_(console={"password_hash": "$".join([_H[0], _H[1], "QUFB", _H[3]])})),
    ("backend port not a number", with_(routes=[{"path": "/", "backend": {"url": "ws://a:x/"}}])),
    ("limit 10.0 (JSON Schema counts it an integer)", with_(limits={"max_conns": 10.0})),
    ("route names a missing message policy", with_(routes=[dict(R, messages="nope")])),
    ("message max_bytes over max_message_bytes", with_(message_policies={"p": {"max_bytes": 1 << 30}})),
    ("message burst without its rate", with_(message_policies={"p": {"rate": {"messages_burst": 5}}})),
    ("scan_binary with nothing to scan for", with_(message_policies={"p": {"scan_binary": True}})),
    ("byte burst below the largest message", with_(message_policies={"p": {"rate": {"bytes_per_s": 100}}})),
    ("origin with its scheme's default port", with_(routes=[dict(R, origins=["https://app.example:443"])])),
    ("origin with port 99999", with_(routes=[dict(R, origins=["https://app.example:99999"])])),
    ("two listeners on one address", with_(listen=L + [{"host": "0.0.0.0", "port": 8080, "plaintext": True}])),
]

# Documents model.parse accepts and the schema refuses: a disagreement to fix in the model.
KNOWN_GAPS = [
    ("backend host with a space", with_(routes=[{"path": "/", "backend": {"url": "ws://a b/"}}])),
    ("backend host with a query and no path", with_(routes=[{"path": "/", "backend": {"url": "ws://a?x=1"}}])),
]


@pytest.fixture(scope="module")
def schema():
    r = subprocess.run([procs.PY, "-m", "edgegate", "schema"], cwd=procs.ROOT, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def validator(schema):
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def board():
    return load_board("sim")


def parses(doc, board):
    try:
        parse(doc, board)
        return True
    except ConfigError:
        return False


def test_schema_is_valid_draft_2020_12(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_names_every_limit_and_timeout_the_model_knows(schema):
    from edgegate.config.limits import LIMIT_DEFAULTS, TIMEOUT_DEFAULTS

    props = schema["properties"]
    assert set(props["limits"]["properties"]) == set(LIMIT_DEFAULTS) | {"max_conns", "ring_pool_rings",
                                                                                  "assembly_pool_bytes"}
    assert set(props["timeouts"]["properties"]) == set(TIMEOUT_DEFAULTS)


@pytest.mark.parametrize("name, doc, accepted", AGREED, ids=[a[0] for a in AGREED])
def test_schema_and_model_accept_and_refuse_the_same_document(validator, board, name, doc, accepted):
    assert parses(doc, board) is accepted
    assert validator.is_valid(doc) is accepted


@pytest.mark.parametrize("name, doc", SCHEMA_LOOSER, ids=[a[0] for a in SCHEMA_LOOSER])
def test_schema_is_looser_where_only_the_model_can_check(validator, board, name, doc):
    assert validator.is_valid(doc)
    assert not parses(doc, board)


@pytest.mark.parametrize("name, doc", KNOWN_GAPS, ids=[a[0] for a in KNOWN_GAPS])
def test_model_refuses_backend_urls_the_schema_refuses(validator, board, name, doc):
    assert not validator.is_valid(doc)
    assert not parses(doc, board)


def test_the_sim_example_config_is_valid_under_both(validator, board):
    import os

    with open(os.path.join(procs.ROOT, "sim", "config.json")) as f:
        doc = json.load(f)
    assert parses(doc, board)
    assert validator.is_valid(doc)
