"""The enrich step: the session's facts under a member of JSON objects, never a client's forgery."""

from edgegate.pipeline import Facts
from edgegate.pipeline.steps.enrich import iso_utc
from tests.pipeline.helpers import WALL, chain, error, refusal, rewritten, run
from edgegate.rt import IS_MICROPYTHON
from tests.portable import TestCase


class EnrichTests(TestCase):
    def test_the_default_fields_go_under_the_default_member(self):
        self.assertEqual(rewritten(chain([{"step": "enrich"}]), b'{"say":"hi"}'),
                         {"say": "hi", "_edgegate": {"principal": "jwt:alice", "route": "/chat", "box": "box-7",
                                                     "ts": "2025-12-04T00:00:00.250Z"}})

    def test_fields_and_member_are_configurable(self):
        ch = chain([{"step": "enrich", "member": "meta", "fields": ["peer", "subprotocol"]}])
        self.assertEqual(rewritten(ch, b"{}"), {"meta": {"peer": "192.0.2.10", "subprotocol": "chat.v1"}})

    def test_a_forged_member_is_overwritten(self):
        forged = b'{"_edgegate":{"principal":"admin","route":"/admin"},"x":1}'
        self.assertEqual(rewritten(chain([{"step": "enrich", "fields": ["principal", "route"]}]), forged),
                         {"x": 1, "_edgegate": {"principal": "jwt:alice", "route": "/chat"}})

    def test_an_open_route_has_no_principal_to_write(self):
        ch = chain([{"step": "enrich", "fields": ["principal"]}], facts=Facts(None, "/o", None, "b", "::1"))
        self.assertEqual(rewritten(ch, b"{}"), {"_edgegate": {"principal": None}})

    def test_other_messages_pass_unless_told_to_refuse(self):
        ch = chain([{"step": "enrich"}])
        for msg in (b"[1,2]", b'"text"', b"plain words", b"[1,"):
            with self.subTest(msg=msg):
                self.assertEqual(run(ch, msg), ("pass", None))
        self.assertEqual(run(ch, b"\x00\x01", text=False), ("pass", None))
        ch = chain([{"step": "enrich", "on_other": "refuse"}])
        r = refusal(ch, b"[1]")
        self.assertEqual((r.code, r.rule, r.detail, r.drop), (1008, "enrich", "not a JSON object", False))
        ch = chain([{"step": "enrich", "on_other": "refuse"}], on_violation="drop")
        self.assertEqual(run(ch, b"nope"), (1008, "enrich", True))

    def test_an_object_the_strict_parser_refuses_is_refused_not_passed_unstamped(self):
        # A reader's parser may take a duplicate name or NaN, and a forged stamp with it.
        ch = chain([{"step": "enrich"}])
        cases = [b"{", b'{"a": 1,']
        if not IS_MICROPYTHON:  # its parser takes duplicate names and NaN: the strict one is CPython's
            cases += [b'{"a": 1, "a": 2, "_edgegate": {"principal": "admin"}}',
                      b'{"x": NaN, "_edgegate": {"principal": "admin"}}']
        for msg in cases:
            with self.subTest(msg=msg):
                r = refusal(ch, msg)
                self.assertEqual((r.code, r.rule), (1008, "enrich"))

    def test_timestamps_are_iso_8601_utc_with_milliseconds(self):
        self.assertEqual(iso_utc(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(iso_utc(WALL), "2025-12-04T00:00:00.250Z")
        self.assertEqual(iso_utc(951782400.5), "2000-02-29T00:00:00.500Z")
        self.assertEqual(iso_utc(4102444799.75), "2099-12-31T23:59:59.750Z")
        self.assertEqual(iso_utc(1709251199), "2024-02-29T23:59:59.000Z")

    def test_enrich_config_errors_name_the_field(self):
        cases = [({"step": "enrich", "member": ""}, "message_policies.p.steps[0].member"),
                 ({"step": "enrich", "fields": ["principal", "password"]}, "message_policies.p.steps[0].fields"),
                 ({"step": "enrich", "fields": ["ts", "ts"]}, "message_policies.p.steps[0].fields[1]"),
                 ({"step": "enrich", "on_other": "drop"}, "message_policies.p.steps[0].on_other"),
                 ({"step": "enrich", "on_violation": "ignore"}, "message_policies.p.steps[0].on_violation")]
        for step, path in cases:
            with self.subTest(path=path):
                e = error({"p": {"steps": [step]}})
                self.assertTrue(e is not None and e.startswith(path + ": "), e)
