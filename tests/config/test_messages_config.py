"""edgegate.config.messages and .shape: message policies in the config, errors that name the field."""

from edgegate.config.model import ConfigError, parse
from tests.portable import TestCase

BOARD = {"name": "t", "mem_budget_bytes": 64 << 20}


def doc(policies, route=None):
    r = {"path": "/", "backend": {"url": "ws://127.0.0.1:9/"}, "subprotocols": ["v1", "v2"]}
    r.update(route or {})
    return {"listen": [{"port": 1, "plaintext": True}], "routes": [r], "message_policies": policies}


def error(d):
    try:
        parse(d, BOARD)
    except ConfigError as e:
        return str(e)
    return None


class MessagePolicyConfigTests(TestCase):
    def test_a_full_policy_parses_and_routes_pick_it_by_subprotocol(self):
        c = parse(doc({"chat": {"types": ["text"], "max_bytes": 4096, "json": True, "max_depth": 8,
                                "rate": {"messages_per_s": 20, "bytes_per_s": 65536, "on_exceed": "drop",
                                         "per": "principal"},
                                "shape": {"type": "object", "required": ["type"]},
                                "signatures": ["sqli", "xss"], "deny": ["bad word"], "on_violation": "drop"},
                       "bin": {"types": ["binary"]}},
                      {"messages": "chat", "messages_by_subprotocol": {"v2": "bin"}}), BOARD)
        r = c.routes[0]
        self.assertEqual(r.message_policy_for(None), "chat")
        self.assertEqual(r.message_policy_for("v1"), "chat")
        self.assertEqual(r.message_policy_for("v2"), "bin")
        kw = c.message_policies["chat"].kwargs
        self.assertEqual((kw["text"], kw["binary"], kw["max_bytes"], kw["on_rate"], kw["on_violation"],
                          kw["rate_per"]), (True, False, 4096, "drop", "drop", "principal"))

    def test_no_message_policy_means_none(self):
        c = parse(doc({}), BOARD)
        self.assertIsNone(c.routes[0].message_policy_for("v1"))

    def test_errors_name_the_field(self):
        cases = [
            (doc({"p": {"types": ["json"]}}), "message_policies.p.types"),
            (doc({"p": {"max_bytes": 0}}), "message_policies.p.max_bytes"),
            (doc({"p": {"max_bytes": 1 << 40}}), "message_policies.p.max_bytes"),
            (doc({"p": {"rate": {"messages_burst": 3}}}), "message_policies.p.rate.messages_burst"),
            (doc({"p": {"rate": {"on_exceed": "ignore"}}}), "message_policies.p.rate.on_exceed"),
            (doc({"p": {"rate": {"messages_per_s": 1, "per": "route"}}}), "message_policies.p.rate.per"),
            (doc({"p": {"rate": {"bytes_per_s": 10, "bytes_burst": 10}, "max_bytes": 20}}),
             "message_policies.p.rate.bytes_burst"),
            (doc({"p": {"rate": {"bytes_per_s": 1000}}}), "message_policies.p.rate.bytes_per_s"),
            (doc({"p": {"signatures": ["sqli", "magic"]}}), "message_policies.p.signatures"),
            (doc({"p": {"deny": ["ok", "   "]}}), "message_policies.p.deny[1]"),
            (doc({"p": {"scan_binary": True}}), "message_policies.p.scan_binary"),
            (doc({"p": {"surprise": 1}}), "message_policies.p.surprise"),
            (doc({"p": {"shape": {"type": "thing"}}}), "message_policies.p.shape.type"),
            (doc({"p": {"shape": {"properties": {"a": {"pattern": "x"}}}}}),
             "message_policies.p.shape.properties.a.pattern"),
            (doc({"p": {"shape": {"additionalProperties": {}}}}), "message_policies.p.shape.additionalProperties"),
            (doc({"p": {"shape": {"enum": [[1]]}}}), "message_policies.p.shape.enum"),
            (doc({"p": {}}, {"messages": "q"}), "routes[0].messages"),
            (doc({"p": {}}, {"messages_by_subprotocol": {"v3": "p"}}), "routes[0].messages_by_subprotocol.v3"),
            (doc({"p": {}}, {"messages_by_subprotocol": {"v1": "q"}}), "routes[0].messages_by_subprotocol.v1"),
            (doc([]), "message_policies"),
        ]
        for d, path in cases:
            with self.subTest(path=path):
                e = error(d)
                self.assertTrue(e is not None and e.startswith(path + ":"), e)

    def test_signature_set_names_agree_with_the_policy_layer(self):
        from edgegate.config.messages import SIGNATURE_SETS
        from edgegate.policy.signatures import SETS

        self.assertEqual(sorted(SIGNATURE_SETS), sorted(SETS))
