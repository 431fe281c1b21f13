"""Property tests of the message chain (CPython only: pytest + hypothesis).

Whatever a client sends, ``MessageGate.check`` returns None or raises
``MessageRefused`` with a close code a server may send: never anything else
(which the session would turn into a 1011). And a signature hidden behind
JSON escapes, case, whitespace runs or %-encoding is found as if plain.
"""

import json
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgegate.config.shape import compile_shape
from edgegate.policy.errors import MessageRefused
from edgegate.policy.messages import MessagePolicy
from edgegate.policy.signatures import SETS

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = {1003, 1008, 1009, 1013}
SHAPE = {"type": "object", "required": ["type"], "additionalProperties": False, "maxProperties": 8,
         "properties": {"type": {"enum": ["a", "b", 1, None]}, "n": {"type": "integer", "minimum": 0, "maximum": 9},
                        "x": {"type": ["number", "null"]}, "s": {"type": "string", "maxLength": 8},
                        "l": {"type": "array", "maxItems": 3, "items": {"type": "object", "properties": {
                            "k": {"type": "boolean"}}}}}}


def policies():
    return [
        MessagePolicy("all", max_bytes=4096, messages_per_s=1000, bytes_per_s=1 << 20, json=True, max_depth=6,
                      shape=compile_shape(SHAPE), signatures=tuple(SETS), deny=("secret",), scan_binary=True),
        MessagePolicy("scan", signatures=tuple(SETS), deny=("x y",), scan_binary=True),
        MessagePolicy("text", binary=False, max_bytes=64),
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 1 << 70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=20)


def verdict(gate, text, payload):
    try:
        gate.check(text, memoryview(bytearray(payload)), 0)
    except MessageRefused as r:
        assert r.code in CODES, r
        assert isinstance(r.detail, str) and r.rule
        return r.code, r.rule
    return None


@SETTINGS
@given(payload=st.binary(max_size=600), text=st.booleans())
def test_any_bytes_get_a_verdict_and_nothing_else(payload, text):
    if text:
        payload = payload.decode("utf-8", "replace").encode()  # the ws core hands on valid UTF-8 only
    for p in policies():
        verdict(p.gate(0), text, payload)


@SETTINGS
@given(value=json_values)
def test_any_json_document_gets_a_verdict_and_nothing_else(value):
    doc = json.dumps(value).encode()
    for p in policies():
        verdict(p.gate(0), True, doc)


@SETTINGS
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_with_escapes_and_odd_numbers_gets_a_verdict(text):
    for doc in ('{"type":"a","s":%s}' % json.dumps(text), '{"type":"a","x":1e400}', '{"type":"a","n":NaN}',
                '{"type":"a","s":"\\ud800%s"}' % text.replace("\\", "").replace('"', "")):
        for p in policies():
            verdict(p.gate(0), True, doc.encode())


@SETTINGS
@given(name=st.sampled_from(sorted(SETS)), data=st.data())
def test_a_signature_is_found_however_it_is_dressed(name, data):
    pattern = data.draw(st.sampled_from([p for p in SETS[name] if p.strip() and p != "\x00"]))
    dressed = data.draw(st.sampled_from(["upper", "spaces", "json-escape", "percent", "plain"]))
    s = pattern
    if dressed == "upper":
        s = pattern.upper()
    elif dressed == "spaces":
        s = pattern.replace(" ", " \t  ")
    elif dressed == "percent":
        s = urllib.parse.quote(pattern, safe="")
    body = json.dumps({"m": "lead " + s + " tail"}, ensure_ascii=dressed == "json-escape")
    if dressed == "json-escape":
        body = body.replace("<", "\\u003c").replace("$", "\\u0024").replace("'", "\\u0027")
    got = verdict(MessagePolicy("p", signatures=(name,)).gate(0), True, body.encode())
    assert got == (1008, "signature"), (pattern, dressed, body)
