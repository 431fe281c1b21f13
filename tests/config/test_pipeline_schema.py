"""``edgegate schema`` and model.parse agree on pipelines: the steps form, every step, both directions (CPython)."""

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extra (pip install -e .[test])")

from edgegate.cli import load_board  # noqa: E402
from edgegate.config.model import ConfigError, parse  # noqa: E402
from edgegate.config.schema import schema  # noqa: E402

L = [{"host": "127.0.0.1", "port": 8080, "plaintext": True}]
R = {"path": "/chat", "backend": {"url": "ws://127.0.0.1:9000/"}, "subprotocols": ["v2"]}


def with_policy(policy, **route):
    return {"listen": L, "routes": [dict(R, **route)], "message_policies": {"p": policy}}


def steps(*s, **kw):
    return with_policy(dict({"steps": list(s)}, **kw))


EVERY_STEP = steps({"step": "type", "types": ["text"]}, {"step": "size", "max_bytes": 4096},
                   {"step": "rate", "messages_per_s": 5, "bytes_per_s": 65536, "on_exceed": "drop", "per": "principal"},
                   {"step": "json", "max_depth": 8, "on_violation": "close"},
                   {"step": "shape", "shape": {"type": "object", "required": ["type"]}},
                   {"step": "signatures", "sets": ["xss"], "deny": ["x"], "scan_binary": True},
                   {"step": "redact", "paths": ["$.card", "$.items[*].token"], "mask": "***",
                    "patterns": ["card", "email", "jwt", "bearer", {"regex": "EMP-[0-9]{6}", "name": "employee"}]},
                   {"step": "enrich", "member": "_gw", "fields": ["principal", "ts"], "on_other": "refuse",
                    "description": "stamp"},
                   on_violation="drop", description="every step")

AGREED = [
    ("every step", EVERY_STEP, True),
    ("no steps", steps(), True),
    ("both directions and sub-protocols", with_policy({"steps": []}, messages="p", messages_by_subprotocol={"v2": "p"},
                                                      messages_to_client="p",
                                                      messages_to_client_by_subprotocol={"v2": "p"}), True),
    ("the flat form", with_policy({"types": ["text"], "max_bytes": 10, "json": True}), True),
    ("flat keys beside steps", with_policy({"steps": [], "max_bytes": 10}), False),
    ("an unknown step", steps({"step": "compress"}), False),
    ("a step without its name", steps({"max_bytes": 3}), False),
    ("a key of another step", steps({"step": "size", "max_bytes": 3, "types": ["text"]}), False),
    ("a size step without max_bytes", steps({"step": "size"}), False),
    ("a shape step without its shape", steps({"step": "shape"}), False),
    ("an unknown redaction pattern", steps({"step": "redact", "patterns": ["iban"]}), False),
    ("a regex entry with flags", steps({"step": "redact", "patterns": [{"regex": "x", "flags": "i"}]}), False),
    ("a path without $", steps({"step": "redact", "paths": ["card"]}), False),
    ("an unknown enrich field", steps({"step": "enrich", "fields": ["password"]}), False),
    ("on_other drop", steps({"step": "enrich", "on_other": "drop"}), False),
    ("steps not a list", with_policy({"steps": {}}), False),
    ("messages_to_client not a string", with_policy({"steps": []}, messages_to_client=5), False),
]

# Rules only the model states: the schema is looser there, never stricter.
SCHEMA_LOOSER = [
    ("a size step after a content step", steps({"step": "json"}, {"step": "size", "max_bytes": 5})),
    ("a rate step with no rate", steps({"step": "rate"})),
    ("a signatures step with nothing to find", steps({"step": "signatures"})),
    ("a redact step with nothing to redact", steps({"step": "redact"})),
    ("an unbounded regex", steps({"step": "redact", "patterns": [{"regex": "a+"}]})),
    ("a path that does not parse", steps({"step": "redact", "paths": ["$..a"]})),
    ("a field listed twice", steps({"step": "enrich", "fields": ["ts", "ts"]})),
    ("messages_to_client naming no policy", with_policy({"steps": []}, messages_to_client="q")),
    ("a by-sub-protocol the route does not offer",
     with_policy({"steps": []}, messages_to_client_by_subprotocol={"v9": "p"})),
]


@pytest.fixture(scope="module")
def validator():
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def parses(doc):
    try:
        parse(doc, load_board("sim"))
        return True
    except ConfigError:
        return False


@pytest.mark.parametrize("name, doc, accepted", AGREED, ids=[a[0] for a in AGREED])
def test_schema_and_model_agree_on_pipelines(validator, name, doc, accepted):
    assert parses(doc) is accepted
    assert validator.is_valid(doc) is accepted


@pytest.mark.parametrize("name, doc", SCHEMA_LOOSER, ids=[a[0] for a in SCHEMA_LOOSER])
def test_schema_is_looser_where_only_the_model_can_check_pipelines(validator, name, doc):
    assert validator.is_valid(doc)
    assert not parses(doc)


def test_every_registered_step_is_in_the_schema():
    from edgegate.pipeline.registry import STEPS

    s = schema()
    policy = s["properties"]["message_policies"]["additionalProperties"]["oneOf"][0]
    names = [o["properties"]["step"]["const"] for o in policy["properties"]["steps"]["items"]["oneOf"]]
    assert names == list(STEPS)
