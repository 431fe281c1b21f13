"""Each of today's rules as a step of its own, in the steps form: the same verdicts as the flat form."""

from edgegate.policy.messages import MessagePolicy
from tests.pipeline.helpers import T0, at, chain, refusal, run
from tests.portable import TestCase

SHAPE = {"type": "object", "required": ["type"], "additionalProperties": False,
         "properties": {"type": {"enum": ["chat", "ping"]}, "n": {"type": "integer", "minimum": 0}}}


class TypeStepTests(TestCase):
    def test_a_text_only_type_step_refuses_binary_with_1003(self):
        ch = chain([{"step": "type", "types": ["text"]}])
        self.assertEqual(run(ch, b"\x00", text=False), (1003, "type", False))
        self.assertEqual(run(ch, b"hi"), ("pass", None))

    def test_a_binary_only_type_step_refuses_text_with_1003(self):
        r = refusal(chain([{"step": "type", "types": ["binary"]}]), b"hi")
        self.assertEqual((r.code, r.detail), (1003, "text messages are not accepted here"))


class SizeStepTests(TestCase):
    def test_a_size_step_refuses_a_message_over_max_bytes_with_1009(self):
        ch = chain([{"step": "size", "max_bytes": 4}])
        self.assertEqual(run(ch, b"1234"), ("pass", None))
        self.assertEqual(run(ch, b"12345"), (1009, "size", False))


class RateStepTests(TestCase):
    def test_a_rate_step_allows_its_burst_then_refuses(self):
        ch = chain([{"step": "rate", "messages_per_s": 10, "messages_burst": 3}])
        self.assertEqual([run(ch, b"x")[0] for _ in range(4)], ["pass", "pass", "pass", 1008])

    def test_a_rate_step_refills_with_time(self):
        ch = chain([{"step": "rate", "messages_per_s": 10, "messages_burst": 1}])
        self.assertEqual(run(ch, b"x"), ("pass", None))
        self.assertEqual(run(ch, b"x", now=at(50)), (1008, "rate", False))
        self.assertEqual(run(ch, b"x", now=at(100)), ("pass", None))

    def test_a_byte_rate_counts_sizes_and_drops_when_told(self):
        ch = chain([{"step": "size", "max_bytes": 100},
                    {"step": "rate", "bytes_per_s": 1000, "bytes_burst": 100, "on_exceed": "drop"}])
        self.assertEqual(run(ch, b"x" * 60), ("pass", None))
        self.assertEqual(run(ch, b"x" * 60), (1008, "rate", True))

    def test_per_principal_buckets_are_shared_by_the_sessions_of_a_key(self):
        from tests.pipeline.helpers import pipeline

        p = pipeline([{"step": "rate", "messages_per_s": 1, "messages_burst": 2, "per": "principal"}])
        a1, a2, b = p.session(T0, "jwt:a", None), p.session(T0, "jwt:a", None), p.session(T0, "jwt:b", None)
        self.assertEqual([run(a1, b"x")[0], run(a2, b"x")[0], run(a1, b"x")[0], run(b, b"x")[0]],
                         ["pass", "pass", 1008, "pass"])

    def test_a_new_compile_starts_the_shared_buckets_afresh(self):
        from tests.pipeline.helpers import pipeline

        steps = [{"step": "rate", "messages_per_s": 1, "messages_burst": 1, "per": "principal"}]
        p1 = pipeline(steps)
        self.assertEqual(run(p1.session(T0, "k", None), b"x")[0], "pass")
        self.assertEqual(run(p1.session(T0, "k", None), b"x")[0], 1008)
        p2 = pipeline(steps)
        self.assertEqual(run(p2.session(T0, "k", None), b"x")[0], "pass")


class JsonStepTests(TestCase):
    def test_a_json_step_refuses_text_that_is_not_json(self):
        ch = chain([{"step": "json"}])
        self.assertEqual(run(ch, b'{"a":[1]}'), ("pass", None))
        self.assertEqual(run(ch, b"{nope"), (1008, "json", False))
        self.assertEqual(run(ch, b"\xff\x00", text=False), ("pass", None))  # binary is not its business

    def test_a_json_step_refuses_nesting_past_max_depth(self):
        ch = chain([{"step": "json", "max_depth": 2}])
        self.assertEqual(run(ch, b'{"a":{"b":1},"s":"[[[["}'), ("pass", None))
        r = refusal(ch, b'{"a":{"b":[1]}}')
        self.assertEqual((r.rule, r.detail), ("json", "nested deeper than 2"))


class ShapeStepTests(TestCase):
    def test_a_shape_step_refuses_with_the_path_and_no_value(self):
        ch = chain([{"step": "shape", "shape": SHAPE}])
        self.assertEqual(run(ch, b'{"type":"chat","n":2}'), ("pass", None))
        r = refusal(ch, b'{"type":"chat","n":-5}')
        self.assertEqual((r.code, r.rule, r.detail), (1008, "shape", "$.n: below 0"))

    def test_a_shape_step_alone_refuses_text_that_is_not_json_as_the_json_step_would(self):
        r = refusal(chain([{"step": "shape", "shape": SHAPE}]), b"hello")
        self.assertEqual((r.rule, r.detail), ("json", "not a JSON document"))


class SignaturesStepTests(TestCase):
    def test_a_signatures_step_finds_sets_and_the_deny_list(self):
        ch = chain([{"step": "signatures", "sets": ["sqli", "xss"], "deny": ["project x"]}])
        self.assertEqual(run(ch, b"hello"), ("pass", None))
        self.assertEqual(refusal(ch, b"a <SCRIPT> b").detail, "xss: <script")
        self.assertEqual(refusal(ch, b'{"m":"Project   X"}').detail, "deny: project x")
        self.assertEqual(refusal(ch, b'{"m":"\\u003cscript"}').detail, "xss: <script")

    def test_binary_is_searched_only_with_scan_binary(self):
        self.assertEqual(run(chain([{"step": "signatures", "sets": ["xss"]}]), b"<script", text=False),
                         ("pass", None))
        ch = chain([{"step": "signatures", "sets": ["xss"], "scan_binary": True}])
        self.assertEqual(run(ch, b"<script", text=False), (1008, "signature", False))


class FlatFormTests(TestCase):
    def test_the_flat_form_and_its_steps_give_the_same_verdicts(self):
        flat = MessagePolicy("f", text=True, binary=False, max_bytes=64, messages_per_s=100, json=True,
                             max_depth=3, signatures=("xss",), deny=("nope",)).gate(T0, "k")
        steps = chain([{"step": "type", "types": ["text"]}, {"step": "size", "max_bytes": 64},
                       {"step": "rate", "messages_per_s": 100}, {"step": "json", "max_depth": 3},
                       {"step": "signatures", "sets": ["xss"], "deny": ["nope"]}])
        for text, msg in ((True, b'{"a":1}'), (False, b"x"), (True, b"x" * 65), (True, b"{"),
                          (True, b'[[[[1]]]]'), (True, b'"<script>"'), (True, b'"NOPE"')):
            with self.subTest(msg=msg):
                try:
                    flat.check(text, msg, T0)
                    want = ("pass", None)
                except Exception as e:  # noqa: BLE001 - the refusal is compared below
                    want = (e.code, e.rule, e.drop)
                self.assertEqual(run(steps, msg, text), want)
