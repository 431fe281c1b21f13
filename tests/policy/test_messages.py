"""edgegate.policy.messages: the per-connection message chain's verdicts, in rule order.

Clocks are fake tick values built with ``ticks_add``.
"""

from edgegate.config.shape import compile_shape
from edgegate.policy.errors import MessageRefused
from edgegate.policy.messages import MessagePolicy
from edgegate.rt import ticks_add
from tests.portable import TestCase

T0 = 70000


def at(ms):
    return ticks_add(T0, ms)


def verdict(gate, payload, text=True, now=T0):
    """None when the message passes, else (code, rule, drop)."""
    try:
        gate.check(text, payload, now)
    except MessageRefused as r:
        return (r.code, r.rule, r.drop)
    return None


SHAPE = {"type": "object", "required": ["type"], "additionalProperties": False,
         "properties": {"type": {"enum": ["chat", "ping"]}, "text": {"type": "string", "maxLength": 20},
                        "n": {"type": "integer", "minimum": 0}}}


class TypeAndSizeTests(TestCase):
    def test_a_policy_with_no_rules_passes_everything(self):
        g = MessagePolicy("p").gate(T0)
        self.assertIsNone(verdict(g, b"<script>"))
        self.assertIsNone(verdict(g, b"\x00\x01", text=False))

    def test_binary_on_a_text_only_route_is_1003(self):
        g = MessagePolicy("p", binary=False).gate(T0)
        self.assertEqual(verdict(g, b"x", text=False), (1003, "type", False))
        self.assertIsNone(verdict(g, b"x"))

    def test_text_on_a_binary_only_route_is_1003(self):
        g = MessagePolicy("p", text=False).gate(T0)
        self.assertEqual(verdict(g, b"x"), (1003, "type", False))

    def test_a_message_over_max_bytes_is_1009(self):
        g = MessagePolicy("p", max_bytes=4).gate(T0)
        self.assertIsNone(verdict(g, b"1234"))
        self.assertEqual(verdict(g, b"12345"), (1009, "size", False))

    def test_memoryview_payloads_are_judged_like_bytes(self):
        g = MessagePolicy("p", json=True, signatures=("xss",)).gate(T0)
        self.assertIsNone(verdict(g, memoryview(bytearray(b'{"a":1}'))))
        self.assertEqual(verdict(g, memoryview(bytearray(b'{"a":"<script>"}'))), (1008, "signature", False))


class RateTests(TestCase):
    def test_message_rate_allows_the_burst_then_refuses(self):
        g = MessagePolicy("p", messages_per_s=10, messages_burst=3).gate(T0)
        got = [verdict(g, b"x") for _ in range(4)]
        self.assertEqual(got, [None, None, None, (1008, "rate", False)])

    def test_message_rate_refills_over_time(self):
        g = MessagePolicy("p", messages_per_s=10, messages_burst=1).gate(T0)
        self.assertIsNone(verdict(g, b"x", now=T0))
        self.assertEqual(verdict(g, b"x", now=at(50)), (1008, "rate", False))
        self.assertIsNone(verdict(g, b"x", now=at(100)))

    def test_byte_rate_counts_message_sizes(self):
        g = MessagePolicy("p", bytes_per_s=1000, bytes_burst=100).gate(T0)
        self.assertIsNone(verdict(g, b"x" * 60))
        self.assertEqual(verdict(g, b"x" * 60), (1008, "rate", False))
        self.assertIsNone(verdict(g, b"x" * 40))
        self.assertIsNone(verdict(g, b"x" * 60, now=at(60)))

    def test_on_exceed_drop_marks_the_verdict_as_a_drop(self):
        g = MessagePolicy("p", messages_per_s=1, on_rate="drop").gate(T0)
        self.assertIsNone(verdict(g, b"x"))
        self.assertEqual(verdict(g, b"x"), (1008, "rate", True))

    def test_gates_of_one_policy_have_their_own_buckets(self):
        p = MessagePolicy("p", messages_per_s=1)
        a, b = p.gate(T0), p.gate(T0)
        self.assertIsNone(verdict(a, b"x"))
        self.assertEqual(verdict(a, b"x"), (1008, "rate", False))
        self.assertIsNone(verdict(b, b"x"))

    def test_a_refusal_by_bytes_spends_no_message_token(self):
        g = MessagePolicy("p", messages_per_s=1, messages_burst=2, bytes_per_s=10, bytes_burst=10).gate(T0)
        self.assertIsNone(verdict(g, b"x" * 8))
        self.assertEqual(verdict(g, b"x" * 8), (1008, "rate", False))  # bytes
        self.assertIsNone(verdict(g, b"x"))  # the second message token is still there

    def test_a_wrapped_tick_clock_refills_instead_of_starving(self):
        g = MessagePolicy("p", messages_per_s=1, messages_burst=1).gate(T0)
        self.assertIsNone(verdict(g, b"x"))
        # A "now" more than half the tick period after the last message reads as the past.
        self.assertIsNone(verdict(g, b"x", now=ticks_add(T0, -5)))

    def test_rate_per_principal_is_shared_by_its_connections(self):
        p = MessagePolicy("p", messages_per_s=1, messages_burst=2, rate_per="principal")
        a1, a2, b = p.gate(T0, "jwt:alice"), p.gate(T0, "jwt:alice"), p.gate(T0, "jwt:bob")
        self.assertIsNone(verdict(a1, b"x"))
        self.assertIsNone(verdict(a2, b"x"))
        r = verdict(a1, b"x")
        self.assertEqual(r, (1008, "rate", False))
        self.assertEqual(verdict(a2, b"x"), (1008, "rate", False))
        self.assertIsNone(verdict(b, b"x"))
        try:
            a2.check(True, b"x", T0)
        except MessageRefused as e:
            self.assertEqual(e.detail, "over 1 messages/s per principal")

    def test_the_shared_table_stays_at_its_size(self):
        p = MessagePolicy("p", bytes_per_s=100, rate_per="principal", table_entries=8)
        for i in range(100):
            self.assertIsNone(verdict(p.gate(T0, "k%d" % i), b"x" * 10))
        self.assertEqual(len(p.shared), 8)


class ContentTests(TestCase):
    def test_json_required_refuses_what_does_not_parse(self):
        g = MessagePolicy("p", json=True).gate(T0)
        self.assertIsNone(verdict(g, b'{"a": [1, 2]}'))
        self.assertEqual(verdict(g, b"{not json"), (1008, "json", False))

    def test_json_nested_deeper_than_max_depth_is_refused(self):
        g = MessagePolicy("p", json=True, max_depth=3).gate(T0)
        self.assertIsNone(verdict(g, b'{"a":{"b":{"c":1}}}'))
        self.assertIsNone(verdict(g, b'{"a":"[[[[[[{{{{"}'))  # brackets inside a string are not depth
        self.assertEqual(verdict(g, b'{"a":{"b":{"c":[1]}}}'), (1008, "json", False))

    def test_a_very_deep_document_is_refused_not_crashed(self):
        g = MessagePolicy("p", json=True, max_depth=16).gate(T0)
        self.assertEqual(verdict(g, b"[" * 5000 + b"]" * 5000), (1008, "json", False))

    def test_shape_violations_are_refused_with_the_path(self):
        g = MessagePolicy("p", json=True, shape=compile_shape(SHAPE)).gate(T0)
        self.assertIsNone(verdict(g, b'{"type":"chat","text":"hi","n":3}'))
        cases = [
            (b'{"text":"hi"}', "$: missing type"),
            (b'{"type":"other"}', "$.type: not one of the allowed values"),
            (b'{"type":"chat","text":"%s"}' % (b"x" * 21), "$.text: longer than 20"),
            (b'{"type":"chat","n":-1}', "$.n: below 0"),
            (b'{"type":"chat","n":1.5}', "$.n: not integer"),
            (b'{"type":"chat","admin":true}', "$: unexpected member"),
            (b'[1]', "$: not object"),
        ]
        for doc, detail in cases:
            with self.subTest(doc=doc):
                try:
                    g.check(True, doc, T0)
                    self.fail("passed: %r" % doc)
                except MessageRefused as r:
                    self.assertEqual((r.code, r.rule, r.detail), (1008, "shape", detail))

    def test_signatures_are_found_in_text_messages(self):
        g = MessagePolicy("p", signatures=("sqli", "xss")).gate(T0)
        self.assertIsNone(verdict(g, b"hello"))
        self.assertEqual(verdict(g, b"' or '1'='1"), (1008, "signature", False))

    def test_signatures_hidden_by_json_escapes_are_found(self):
        g = MessagePolicy("p", json=True, signatures=("xss", "nosql")).gate(T0)
        self.assertEqual(verdict(g, b'{"m":"\\u003cscript\\u003e"}'), (1008, "signature", False))
        self.assertEqual(verdict(g, b'{"u":{"\\u0024ne":1}}'), (1008, "signature", False))

    def test_signatures_hidden_by_json_escapes_are_found_without_json_required(self):
        g = MessagePolicy("p", signatures=("xss",)).gate(T0)
        self.assertEqual(verdict(g, b'{"m":"\\u003cscript\\u003e"}'), (1008, "signature", False))

    def test_json_escapes_of_every_kind_are_decoded_without_json_required(self):
        g = MessagePolicy("p", signatures=("sqli", "xss")).gate(T0)
        for doc in (b'{"q":"1 UNION\\tSELECT pw FROM users"}', b'{"h":"<\\/script>"}',
                    b'{"h":"\\u003cscript src=//x>","z":"\\ud800"}',
                    b"[" * 1000 + b'"\\u003cscript"' + b"]" * 1000):
            with self.subTest(doc=doc[:40]):
                self.assertEqual(verdict(g, doc), (1008, "signature", False))

    def test_odd_json_is_refused_not_crashed(self):
        g = MessagePolicy("p", json=True, signatures=("xss",), shape=compile_shape(
            {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}})).gate(T0)
        for doc in (b'{"a":"\\ud800"}', b'{"\\udfff":1}', b'{"n":1e400}', b'{"n":-1e400}'):
            with self.subTest(doc=doc):
                r = verdict(g, doc)
                self.assertTrue(r is None or r[0] == 1008, r)
        self.assertEqual(verdict(g, b'{"n":1e400}'), (1008, "shape", False))

    def test_duplicate_members_and_non_json_constants_are_refused_on_cpython(self):
        from edgegate.rt import IS_MICROPYTHON

        if IS_MICROPYTHON:
            return  # its parser keeps the last duplicate (documented in rt.json_loads_strict)
        g = MessagePolicy("p", json=True).gate(T0)
        for doc in (b'{"t":"admin","t":"say"}', b'{"n":NaN}', b'[Infinity]', b'{"a":{"b":1,"b":2}}'):
            with self.subTest(doc=doc):
                self.assertEqual(verdict(g, doc), (1008, "json", False))

    def test_integral_floats_are_integers_and_match_integer_enums(self):
        g = MessagePolicy("p", json=True, shape=compile_shape(
            {"type": "object", "properties": {"n": {"type": "integer", "enum": [1, 2]}}})).gate(T0)
        self.assertIsNone(verdict(g, b'{"n":1.0}'))
        self.assertEqual(verdict(g, b'{"n":1.5}')[1], "shape")
        self.assertEqual(verdict(g, b'{"n":true}')[1], "shape")

    def test_binary_is_scanned_only_when_asked(self):
        p = MessagePolicy("p", signatures=("xss",))
        self.assertIsNone(verdict(p.gate(T0), b"<script>", text=False))
        q = MessagePolicy("q", signatures=("xss",), scan_binary=True)
        self.assertEqual(verdict(q.gate(T0), b"<script>", text=False), (1008, "signature", False))

    def test_on_violation_drop_marks_content_verdicts_as_drops(self):
        g = MessagePolicy("p", json=True, deny=("forbidden",), on_violation="drop").gate(T0)
        self.assertEqual(verdict(g, b'{"a":"FORBIDDEN"}'), (1008, "signature", True))
        self.assertEqual(verdict(g, b"nope"), (1008, "json", True))

    def test_the_detail_names_the_rule_not_the_message(self):
        g = MessagePolicy("p", signatures=("xss",)).gate(T0)
        try:
            g.check(True, b"secret-token-123 <script>", T0)
            self.fail("passed")
        except MessageRefused as r:
            self.assertEqual(r.detail, "xss: <script")
            self.assertTrue("secret" not in str(r))
