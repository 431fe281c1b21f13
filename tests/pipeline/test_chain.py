"""edgegate.pipeline: the facade the relay calls, step order, replacements, and what a chain costs."""

from edgegate.pipeline import Chain, Facts, Pipeline, compile_pipelines
from edgegate.pipeline.chain import UNPARSED, Message
from edgegate.pipeline.registry import STEPS
from edgegate.pipeline.steps.size import SizeStep
from edgegate.pipeline.steps.types import TypeStep
from edgegate.policy.errors import MessageRefused
from tests.pipeline.helpers import FACTS, T0, WALL, at, chain, config, pipeline, refusal, rewritten, run
from tests.portable import TestCase


class Upper:
    """A rewriting step for the tests: text upper-cased (and what it saw recorded)."""

    NAME = "upper"
    ARRIVAL = False
    reads_text = True
    reads_binary = False
    noop = False

    def __init__(self, seen):
        self.seen = seen

    def judge(self, m):
        self.seen.append(m.raw)
        return m.replace(m.raw.upper(), UNPARSED, "upper", False)


class Spy:
    NAME = "spy"
    ARRIVAL = False
    reads_text = True
    reads_binary = True
    noop = False

    def __init__(self, seen):
        self.seen = seen

    def judge(self, m):
        self.seen.append(m.raw)
        return None


class FacadeTests(TestCase):
    def test_compile_pipelines_gives_one_pipeline_per_policy_named_as_configured(self):
        cfg = config({"a": {"steps": [{"step": "size", "max_bytes": 10}]}, "b": {"types": ["text"]}})
        ps = compile_pipelines(cfg, "box-1")
        self.assertEqual(sorted(ps), ["a", "b"])
        self.assertIsInstance(ps["a"], Pipeline)
        self.assertEqual(ps["a"].name, "a")
        ch = ps["a"].session(T0, "k", Facts("p", "/x", None, "box-1", "10.0.0.1"))
        self.assertIsInstance(ch, Chain)
        self.assertEqual(ch.name, "a")

    def test_facts_have_the_five_slots_the_relay_fills_in_order(self):
        f = Facts("jwt:bob", "/r", "v2", "box", "2001:db8::1")
        self.assertEqual((f.principal, f.route, f.subprotocol, f.box, f.peer),
                         ("jwt:bob", "/r", "v2", "box", "2001:db8::1"))

    def test_a_chain_without_facts_gets_the_box_id_of_its_pipeline(self):
        ch = pipeline([{"step": "enrich", "fields": ["box"]}]).session(T0, "k", None)
        self.assertEqual(rewritten(ch, b'{"a":1}'), {"a": 1, "_edgegate": {"box": "box-7"}})

    def test_the_registry_names_every_step_of_the_issue(self):
        self.assertEqual(sorted(STEPS), sorted(["type", "size", "rate", "json", "shape", "signatures", "redact",
                                                "enrich"]))


class CostTests(TestCase):
    def test_a_chain_whose_steps_read_nothing_says_so_and_never_touches_the_payload(self):
        ch = chain([{"step": "type", "types": ["text"]}, {"step": "size", "max_bytes": 100},
                    {"step": "rate", "messages_per_s": 100}])
        self.assertFalse(ch.reads_text)
        self.assertFalse(ch.reads_binary)
        # judge returns before looking at what it was given: None is not a payload
        self.assertIsNone(ch.judge(True, None, T0, WALL))
        self.assertIsNone(ch.judge(False, None, T0, WALL))

    def test_binary_is_read_only_by_steps_that_read_binary(self):
        ch = chain([{"step": "json"}, {"step": "redact", "patterns": ["card"]}])
        self.assertTrue(ch.reads_text)
        self.assertFalse(ch.reads_binary)
        self.assertIsNone(ch.judge(False, None, T0, WALL))
        ch = chain([{"step": "signatures", "sets": ["xss"], "scan_binary": True}])
        self.assertTrue(ch.reads_binary)

    def test_steps_that_do_nothing_are_left_out_of_the_chain(self):
        p = pipeline([{"step": "type", "types": ["text", "binary"]}, {"step": "size", "max_bytes": 9}])
        self.assertEqual([s.NAME for s in p.steps], ["size"])

    def test_judge_keeps_no_reference_to_the_payload(self):
        ch = chain([{"step": "json"}])
        buf = bytearray(b'{"a":1}')
        self.assertIsNone(ch.judge(True, memoryview(buf), T0, WALL))
        m = ch._msg
        self.assertIsNone(m.raw)
        self.assertIsNone(m.value_)
        try:
            ch.judge(True, memoryview(b"{"), T0, WALL)
        except MessageRefused:
            pass
        self.assertIsNone(ch._msg.raw)  # nor after a refusal


class OrderTests(TestCase):
    def test_content_steps_run_in_their_order_and_see_the_replacement(self):
        seen = []
        p = Pipeline("p", [Upper(seen), Spy(seen)])
        ch = p.session(T0, "k", FACTS)
        self.assertEqual(ch.judge(True, memoryview(bytearray(b"abc")), T0, WALL), b"ABC")
        self.assertEqual(seen, [b"abc", b"ABC"])

    def test_a_redaction_before_signatures_is_what_the_signatures_search(self):
        steps = [{"step": "redact", "patterns": [{"regex": "<scr[i]pt"}], "mask": "tag"},
                 {"step": "signatures", "sets": ["xss"]}]
        self.assertEqual(run(chain(steps), b"x <script> y"), ("replace", b"x tag> y"))
        self.assertEqual(run(chain(list(reversed(steps))), b"x <script> y"), (1008, "signature", False))

    def test_enrich_after_redact_stamps_the_redacted_document(self):
        ch = chain([{"step": "redact", "paths": ["$.pin"]}, {"step": "enrich", "fields": ["route"]}])
        self.assertEqual(rewritten(ch, b'{"pin":"1234"}'), {"pin": "[redacted]", "_edgegate": {"route": "/chat"}})

    def test_a_json_step_after_a_rewrite_judges_the_rewritten_document(self):
        ch = chain([{"step": "enrich", "member": "m"}, {"step": "json", "max_depth": 1}])
        # the enrich member adds a level: the depth step sees it
        self.assertEqual(run(ch, b'{"a":1}'), (1008, "json", False))

    def test_the_first_refusal_stops_the_chain(self):
        seen = []
        p = Pipeline("p", [TypeStep(True, False), SizeStep(3), Spy(seen)])
        ch = p.session(T0, "k", FACTS)
        with self.assertRaises(MessageRefused) as cm:
            ch.start(False, 1)
        self.assertEqual(cm.exception.rule, "type")
        with self.assertRaises(MessageRefused) as cm:
            ch.start(True, 4)
        self.assertEqual(cm.exception.rule, "size")
        self.assertEqual(seen, [])

    def test_arrival_steps_act_as_frames_arrive_and_grow_checks_size_only(self):
        ch = chain([{"step": "type", "types": ["binary"]}, {"step": "size", "max_bytes": 10}])
        ch.start(False, 4)
        ch.grow(10)
        with self.assertRaises(MessageRefused) as cm:
            ch.grow(11)
        self.assertEqual((cm.exception.code, cm.exception.detail), (1009, "11 bytes, over 10"))

    def test_charge_is_the_rate_steps_alone(self):
        ch = chain([{"step": "type", "types": ["binary"]}, {"step": "size", "max_bytes": 1},
                    {"step": "rate", "messages_per_s": 1, "messages_burst": 1}])
        ch.charge(500, T0)  # a token refresh: neither its type nor its size is judged
        with self.assertRaises(MessageRefused) as cm:
            ch.charge(1, T0)
        self.assertEqual(cm.exception.rule, "rate")
        ch.charge(1, at(1000))

    def test_two_rate_steps_both_charge(self):
        ch = chain([{"step": "rate", "messages_per_s": 100},
                    {"step": "rate", "messages_per_s": 1, "messages_burst": 1, "per": "principal"}])
        ch.charge(1, T0)
        r = refusal(ch, b"x")
        self.assertEqual(r.detail, "over 1 messages/s per principal")


class RewriteLimitTests(TestCase):
    def test_a_rewrite_over_max_message_bytes_is_refused_with_1009(self):
        seen = []
        p = Pipeline("p", [Upper(seen)], max_message_bytes=4)
        ch = p.session(T0, "k", FACTS)
        self.assertEqual(ch.judge(True, b"abcd", T0, WALL), b"ABCD")
        m = Message(FACTS, 4)
        with self.assertRaises(MessageRefused) as cm:
            m.replace(b"12345", UNPARSED, "redact", False)
        self.assertEqual((cm.exception.code, cm.exception.rule, cm.exception.detail),
                         (1009, "size", "5 bytes after redact, over 4"))

    def test_enrich_that_would_outgrow_the_limit_is_refused(self):
        p = pipeline([{"step": "enrich"}])
        small = Pipeline("p", [s for s in p.steps], max_message_bytes=40)
        r = refusal(small.session(T0, "k", FACTS), b'{"a":1}')
        self.assertEqual((r.code, r.rule), (1009, "size"))

    def test_on_violation_drop_makes_content_refusals_drops(self):
        ch = chain([{"step": "json"}, {"step": "signatures", "deny": ["bad"], "on_violation": "close"}],
                   on_violation="drop")
        self.assertEqual(run(ch, b"nope"), (1008, "json", True))
        self.assertEqual(run(ch, b'"bad"'), (1008, "signature", False))  # the step's own setting wins
