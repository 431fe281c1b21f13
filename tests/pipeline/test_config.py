"""Pipelines in the config: the steps form, the flat form it replaces, routes per direction, errors by path."""

from edgegate.config.messages import fix_document, flat_to_steps
from edgegate.pipeline import compile_pipelines
from tests.pipeline.helpers import config, error, run
from tests.portable import TestCase

CHAT_FLAT = {"types": ["text"], "max_bytes": 4096,
             "rate": {"messages_per_s": 50, "bytes_per_s": 65536, "on_exceed": "drop"},
             "json": True, "max_depth": 8, "shape": {"type": "object", "required": ["type"]},
             "signatures": ["sqli", "xss"], "deny": ["internal"], "on_violation": "drop", "description": "chat"}


class StepsFormTests(TestCase):
    def test_a_steps_policy_compiles_to_its_steps_in_order(self):
        c = config({"p": {"steps": [{"step": "type", "types": ["text"]}, {"step": "size", "max_bytes": 64},
                                    {"step": "rate", "messages_per_s": 5}, {"step": "json", "max_depth": 4},
                                    {"step": "shape", "shape": {"type": "object"}},
                                    {"step": "signatures", "sets": ["xss"], "deny": ["x"]},
                                    {"step": "redact", "paths": ["$.a"], "patterns": ["card"]},
                                    {"step": "enrich", "description": "stamp"}],
                          "on_violation": "drop", "description": "everything"}})
        s = c.message_policies["p"]
        self.assertEqual([x.NAME for x in s.steps], ["type", "size", "rate", "json", "shape", "signatures",
                                                     "redact", "enrich"])
        self.assertEqual((s.flat, s.kwargs, s.on_violation), (False, None, "drop"))

    def test_an_empty_steps_list_passes_everything(self):
        ch = compile_pipelines(config({"p": {"steps": []}}))["p"].session(0, "k", None)
        self.assertFalse(ch.reads_text or ch.reads_binary)
        self.assertEqual(run(ch, b"<script>"), ("pass", None))

    def test_errors_name_the_step_and_its_field(self):
        cases = [
            ({"steps": {}}, "message_policies.p.steps"),
            ({"steps": ["size"]}, "message_policies.p.steps[0]"),
            ({"steps": [{"max_bytes": 3}]}, "message_policies.p.steps[0].step"),
            ({"steps": [{"step": "compress"}]}, "message_policies.p.steps[0].step"),
            ({"steps": [{"step": "size", "max_bytes": 3, "types": ["text"]}]}, "message_policies.p.steps[0].types"),
            ({"steps": [{"step": "size"}]}, "message_policies.p.steps[0].max_bytes"),
            ({"steps": [{"step": "size", "max_bytes": 1 << 40}]}, "message_policies.p.steps[0].max_bytes"),
            ({"steps": [{"step": "type", "types": []}]}, "message_policies.p.steps[0].types"),
            ({"steps": [{"step": "rate"}]}, "message_policies.p.steps[0]"),
            ({"steps": [{"step": "rate", "bytes_per_s": 10}]}, "message_policies.p.steps[0].bytes_per_s"),
            ({"steps": [{"step": "size", "max_bytes": 20}, {"step": "rate", "bytes_per_s": 10, "bytes_burst": 10}]},
             "message_policies.p.steps[1].bytes_burst"),
            ({"steps": [{"step": "rate", "messages_burst": 2}]}, "message_policies.p.steps[0].messages_burst"),
            ({"steps": [{"step": "json", "max_depth": 0}]}, "message_policies.p.steps[0].max_depth"),
            ({"steps": [{"step": "shape"}]}, "message_policies.p.steps[0].shape"),
            ({"steps": [{"step": "shape", "shape": {"properties": {"a": {"pattern": "x"}}}}]},
             "message_policies.p.steps[0].shape.properties.a.pattern"),
            ({"steps": [{"step": "signatures"}]}, "message_policies.p.steps[0]"),
            ({"steps": [{"step": "signatures", "sets": ["magic"]}]}, "message_policies.p.steps[0].sets"),
            ({"steps": [{"step": "signatures", "deny": ["ok", " "]}]}, "message_policies.p.steps[0].deny[1]"),
            ({"steps": [{"step": "json"}, {"step": "size", "max_bytes": 5}]}, "message_policies.p.steps[1]"),
            ({"steps": [], "max_bytes": 5}, "message_policies.p.max_bytes"),
            ({"steps": [], "on_violation": "log"}, "message_policies.p.on_violation"),
            ({"steps": [{"step": "json", "description": 5}]}, "message_policies.p.steps[0].description"),
            ({"steps": [{"step": "type", "types": ["text"]}] * 33}, "message_policies.p.steps"),
        ]
        for pol, path in cases:
            with self.subTest(path=path):
                e = error({"p": pol})
                self.assertTrue(e is not None and e.startswith(path + ": "), e)

    def test_a_size_step_after_a_content_step_says_where_it_belongs(self):
        e = error({"p": {"steps": [{"step": "json"}, {"step": "size", "max_bytes": 5}]}})
        self.assertEqual(e, "message_policies.p.steps[1]: a size step acts as a message arrives, before any content "
                            "step: put it before message_policies.p.steps[0]")


class FlatFormTests(TestCase):
    def test_the_flat_form_compiles_to_the_same_steps(self):
        s = config({"chat": CHAT_FLAT}).message_policies["chat"]
        self.assertTrue(s.flat)
        self.assertEqual([x.NAME for x in s.steps], ["type", "size", "rate", "json", "shape", "signatures"])
        self.assertEqual(s.kwargs["on_rate"], "drop")

    def test_the_flat_form_and_its_rewrite_give_the_same_verdicts(self):
        fixed, notes = flat_to_steps(CHAT_FLAT)
        self.assertEqual(notes, [])
        flat = compile_pipelines(config({"p": CHAT_FLAT}))["p"].session(0, "k", None)
        steps = compile_pipelines(config({"p": fixed}))["p"].session(0, "k", None)
        for text, msg in ((True, b'{"type":"a"}'), (False, b"x"), (True, b"x" * 4097), (True, b"[1]"),
                          (True, b'{"type":"<script>"}'), (True, b'{"type":"INTERNAL"}'), (True, b"{")):
            with self.subTest(msg=msg[:20]):
                self.assertEqual(run(steps, msg, text), run(flat, msg, text))

    def test_flat_to_steps_writes_only_what_the_flat_policy_set(self):
        self.assertEqual(flat_to_steps({}), ({"steps": []}, []))
        self.assertEqual(flat_to_steps({"shape": {"type": "array"}, "on_violation": "drop"}),
                         ({"steps": [{"step": "shape", "shape": {"type": "array"}}], "on_violation": "drop"}, []))
        out, notes = flat_to_steps({"rate": {"on_exceed": "drop"}, "json": False, "max_depth": 3})
        self.assertEqual(out, {"steps": [{"step": "json", "max_depth": 3}]})
        self.assertEqual(len(notes), 1)
        out, _ = flat_to_steps({"deny": ["x"], "scan_binary": True})
        self.assertEqual(out, {"steps": [{"step": "signatures", "deny": ["x"], "scan_binary": True}]})

    def test_fix_document_rewrites_flat_policies_and_leaves_the_rest(self):
        d = {"listen": [], "message_policies": {"a": {"max_bytes": 9}, "b": {"steps": []}}}
        new, changes = fix_document(d)
        self.assertEqual(new["message_policies"], {"a": {"steps": [{"step": "size", "max_bytes": 9}]},
                                                   "b": {"steps": []}})
        self.assertEqual(changes, ["message_policies.a: flat form -> steps [size]"])
        self.assertEqual(d["message_policies"]["a"], {"max_bytes": 9})  # the input is not modified
        self.assertEqual(fix_document(new), (new, []))
        self.assertEqual(fix_document({"listen": []}), ({"listen": []}, []))


class RouteTests(TestCase):
    def test_routes_pick_a_pipeline_per_direction_and_subprotocol(self):
        c = config({"in": {"steps": []}, "in2": {"steps": []}, "out": {"steps": []}, "out2": {"steps": []}},
                   {"messages": "in", "messages_by_subprotocol": {"v2": "in2"},
                    "messages_to_client": "out", "messages_to_client_by_subprotocol": {"v1": "out2"}})
        r = c.routes[0]
        self.assertEqual([r.pipeline_for("client", p) for p in (None, "v1", "v2")], ["in", "in", "in2"])
        self.assertEqual([r.pipeline_for("backend", p) for p in (None, "v1", "v2")], ["out", "out2", "out"])
        self.assertEqual(r.message_policy_for("v2"), "in2")
        with self.assertRaises(ValueError):
            r.pipeline_for("sideways", None)

    def test_a_route_without_pipelines_has_none_either_way(self):
        r = config({})
        self.assertIsNone(r.routes[0].pipeline_for("client", "v1"))
        self.assertIsNone(r.routes[0].pipeline_for("backend", None))

    def test_route_errors_name_the_field(self):
        pols = {"p": {"steps": []}}
        cases = [({"messages_to_client": "q"}, "routes[0].messages_to_client"),
                 ({"messages_to_client": ["p"]}, "routes[0].messages_to_client"),
                 ({"messages": 5}, "routes[0].messages"),
                 ({"messages_to_client_by_subprotocol": {"v3": "p"}}, "routes[0].messages_to_client_by_subprotocol.v3"),
                 ({"messages_to_client_by_subprotocol": {"v1": "q"}}, "routes[0].messages_to_client_by_subprotocol.v1"),
                 ({"messages_to_client_by_subprotocol": []}, "routes[0].messages_to_client_by_subprotocol")]
        for route, path in cases:
            with self.subTest(path=path):
                e = error(pols, route)
                self.assertTrue(e is not None and e.startswith(path + ":"), e)
