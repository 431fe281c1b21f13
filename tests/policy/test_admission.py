"""edgegate.policy.admission: every refusal with its exact status, reason, kind and headers; what an accept carries.

The Config comes from ``edgegate.config.parse`` (key files are only named there:
the KeySet is built here from the same secrets the tokens in tests/policy/tokens.py
were signed with). Clocks are fake: ``now_ms`` ticks from ``T0`` and ``now_s``
is the tokens' ``NOW``.
"""

import binascii
import hashlib

from edgegate.config import parse
from edgegate.policy.admission import Admission, Facts, KeySet
from edgegate.policy.errors import Reject
from edgegate.policy.jwt import JwtKey
from edgegate.rt import ticks_add
from tests.policy import tokens as T
from tests.portable import TestCase

T0 = 100000
NOW = T.NOW
ISS = "https://id.test"
AUD = "edge"
APP = "https://app.test"
KEY_ONE = "key-one-7f3a9c"
KEY_TWO = "key-two-0b1d2e"
WWW_AUTH = (("WWW-Authenticate", 'Bearer realm="edgegate"'),)
LIFTED = {"upgrades_per_ip_per_s": 100000, "upgrades_per_ip_burst": 100000,
          "upgrades_per_principal_per_s": 100000, "upgrades_per_principal_burst": 100000,
          "max_conns_per_ip": 100000, "max_conns_per_principal": 100000, "ban_after_failures": 100000}


def _sha(s):
    return hashlib.sha256(s.encode()).digest()


def _hex(b):
    return binascii.hexlify(b).decode()


def _route(path, **kw):
    r = {"path": path, "backend": {"url": "ws://127.0.0.1:9000/"}}
    r.update(kw)
    return r


ROUTES = [
    _route("/open"),
    _route("/star", origins=["*"]),
    _route("/app", origins=[APP], allow_missing_origin=False, subprotocols=["chat.v1", "chat.v2"],
           require_subprotocol=True, auth={"methods": ["jwt"]}),
    _route("/jwt", subprotocols=["chat.v1", "chat.v2"], auth={"methods": ["jwt"]}),
    _route("/q", auth={"methods": ["jwt"], "query_param": "access_token"}),
    _route("/key", max_conns=2, auth={"methods": ["api_key"]}),
    _route("/either", auth={"methods": ["jwt", "api_key"], "api_key_header": "X-Device-Key"}),
    _route("/cert", auth={"methods": ["client_cert"]}),
    _route("/noprefix", auth={"methods": ["jwt"], "protocol_prefix": ""}),
    _route("/tokproto", auth={"methods": ["jwt"], "protocol_prefix": "access_token."}),
    _route("/refresh", auth={"methods": ["jwt"], "refresh": {"field": "op", "value": "renew", "token_field": "jwt"}}),
]


def config(admission=None, limits=None, routes=None):
    adm = dict(LIFTED)
    adm.update(admission or {})
    doc = {
        "listen": [{"host": "127.0.0.1", "port": 8080, "plaintext": True}],
        "routes": routes or ROUTES,
        "auth": {"jwt": {"keys": [{"kid": "k1", "alg": "HS256", "secret_file": "/etc/k1"},
                                  {"kid": "k2", "alg": "HS256", "secret_file": "/etc/k2"}],
                         "issuer": ISS, "audience": AUD, "leeway_s": 0},
                 "api_keys": [{"id": "meter-1", "sha256": _hex(_sha(KEY_ONE))},
                              {"id": "meter-2", "sha256": _hex(_sha(KEY_TWO))}]},
        "admission": adm,
        "limits": dict({"max_conns": 100, "admission_table_entries": 64}, **(limits or {})),
    }
    return parse(doc, {"name": "test"})


def keys():
    return KeySet([JwtKey("k1", "HS256", T.S1), JwtKey("k2", "HS256", T.S2)],
                  {"meter-1": _sha(KEY_ONE), "meter-2": _sha(KEY_TWO)})


def facts(path="/open", query="", headers=(), protocols=(), peer="10.0.0.1", identity=None):
    return Facts(path, query, [(k.lower(), v) for k, v in headers], list(protocols), peer, identity)


def bearer(tok):
    return (("Authorization", "Bearer " + tok),)


class Case(TestCase):
    def setUp(self):
        self.audits = []
        self.adm = self.make()

    def make(self, admission=None, limits=None, routes=None):
        return Admission(config(admission, limits, routes), keys(), self.audit)

    def audit(self, what, **fields):
        self.audits.append((what, fields))

    def decide(self, f, now_ms=T0, now_s=NOW):
        return self.adm.decide(f, now_ms, now_s)

    def refused(self, f, status, reason, kind, headers=(), now_ms=T0, now_s=NOW):
        n = len(self.audits)
        with self.assertRaises(Reject) as cm:
            self.adm.decide(f, now_ms, now_s)
        r = cm.exception
        self.assertEqual((r.status, r.reason, r.kind, tuple(r.headers)), (status, reason, kind, tuple(headers)))
        self.assertEqual(str(r), reason)
        # exactly one audit record of the refusal (an automatic ban may come with it)
        self.assertEqual([a for a in self.audits[n:] if a[0] == "refused"],
                         [("refused", {"status": status, "reason": reason, "kind": kind, "peer": f.peer,
                                       "path": f.path})])
        return r


class RefusalTests(Case):
    def test_banned_address_403(self):
        self.adm.bans.ban("10.0.0.1", ticks_add(T0, 1000), "console", T0)
        self.refused(facts(), 403, "banned", "ban")
        self.refused(facts("/nothing"), 403, "banned", "ban")  # before anything else
        self.decide(facts(peer="10.0.0.2"))
        self.decide(facts(), now_ms=ticks_add(T0, 1000))
        self.assertEqual(self.adm.counters["refused_ban"], 2)

    def test_upgrade_rate_per_address_429_with_retry_after(self):
        self.adm = self.make({"upgrades_per_ip_per_s": 2, "upgrades_per_ip_burst": 3})
        for _ in range(3):
            self.adm.release(self.decide(facts()), "10.0.0.1")
        self.refused(facts(), 429, "upgrade rate per address", "rate", (("Retry-After", "1"),))
        # before the route is looked up: an unknown path costs the same
        self.refused(facts("/nothing"), 429, "upgrade rate per address", "rate", (("Retry-After", "1"),))
        self.decide(facts(peer="10.0.0.2"))
        self.refused(facts(), 429, "upgrade rate per address", "rate", (("Retry-After", "1"),),
                     now_ms=ticks_add(T0, 499))
        self.decide(facts(), now_ms=ticks_add(T0, 500))

    def test_no_route_404(self):
        for path in ("/", "/nothing", "/opener", "/OPEN"):
            with self.subTest(path=path):
                self.refused(facts(path), 404, "no route", "route")
        self.decide(facts("/open/deeper"))

    def test_origin_missing_403(self):
        f = facts("/app", headers=bearer(T.VALID), protocols=["chat.v1"])
        self.refused(f, 403, "origin missing", "origin")

    def test_origin_not_allowed_403(self):
        for origin in ("https://evil.test", "https://app.test.evil.test", "http://app.test", "null",
                       "HTTPS://APP.TEST"):
            with self.subTest(origin=origin):
                f = facts("/app", headers=bearer(T.VALID) + (("Origin", origin),), protocols=["chat.v1"])
                self.refused(f, 403, "origin not allowed", "origin")
        f = facts("/app", headers=bearer(T.VALID) + (("Origin", APP),), protocols=["chat.v1"])
        self.assertEqual(self.decide(f).principal, "jwt:alice")

    def test_a_route_without_origins_refuses_every_browser(self):
        self.refused(facts("/open", headers=(("Origin", APP),)), 403, "origin not allowed", "origin")
        self.assertEqual(self.decide(facts("/star", headers=(("Origin", "https://any.test"),))).route.path, "/star")

    def test_no_acceptable_subprotocol_400(self):
        base = bearer(T.VALID) + (("Origin", APP),)
        for protos in ([], ["chat.v3"], ["CHAT.V1"], ["bearer." + T.VALID]):
            with self.subTest(protos=protos):
                self.refused(facts("/app", headers=base, protocols=protos), 400, "no acceptable sub-protocol",
                             "subprotocol")
        # checked before authentication: no credential still says 400
        self.refused(facts("/app", headers=(("Origin", APP),)), 400, "no acceptable sub-protocol", "subprotocol")

    def test_authentication_failed_401_with_www_authenticate(self):
        for f, why in (
            (facts("/jwt"), "no bearer token"),
            (facts("/jwt", headers=(("Authorization", "Basic YTpi"),)), "no bearer token"),
            (facts("/jwt", headers=bearer(T.EXPIRED)), "expired"),
            (facts("/jwt", headers=bearer(T.NBF_FUTURE)), "not yet valid"),
            (facts("/jwt", headers=bearer(T.WRONG_AUD)), "wrong audience"),
            (facts("/jwt", headers=bearer(T.WRONG_ISS)), "wrong issuer"),
            (facts("/jwt", headers=bearer(T.OTHER_SECRET)), "bad signature"),
            (facts("/jwt", headers=bearer(T.ALG_NONE)), "alg none or missing"),
            (facts("/jwt", headers=bearer(T.HS512_K1)), "alg HS512 does not match the key's pinned HS256"),
            (facts("/jwt", headers=bearer(T.UNKNOWN_KID)), "unknown kid"),
            (facts("/jwt", headers=bearer(T.NO_KID)), "no kid and 2 keys for alg HS256"),
            (facts("/jwt", headers=bearer("not-a-token")), "not a compact JWS"),
            (facts("/jwt", protocols=["bearer." + T.EXPIRED]), "expired"),
            (facts("/jwt", query="access_token=" + T.VALID), "no bearer token"),
            (facts("/key"), "no api key"),
            (facts("/key", headers=(("X-Api-Key", "guess"),)), "unknown api key"),
            (facts("/key", headers=(("X-Api-Key", KEY_ONE + " "),)), "unknown api key"),
            (facts("/either"), "no bearer token, no api key"),
            (facts("/either", headers=(("X-Api-Key", KEY_ONE),)), "no bearer token, no api key"),
            (facts("/cert"), "no client certificate"),
            (facts("/noprefix", protocols=["bearer." + T.VALID]), "no bearer token"),
        ):
            with self.subTest(path=f.path, why=why):
                self.refused(f, 401, "authentication failed: " + why, "auth", WWW_AUTH)

    def test_upgrade_rate_per_principal_429(self):
        self.adm = self.make({"upgrades_per_principal_per_s": 1, "upgrades_per_principal_burst": 2})
        self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.1"))
        self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.2"))
        self.refused(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.3"), 429, "upgrade rate per principal",
                     "rate", (("Retry-After", "1"),))
        # another principal from the same address is not limited
        self.assertEqual(self.decide(facts("/jwt", headers=bearer(T.BOB), peer="10.0.0.3")).principal, "jwt:bob")
        self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.4"), now_ms=ticks_add(T0, 1000))

    def test_api_key_principal_rate(self):
        self.adm = self.make({"upgrades_per_principal_per_s": 1, "upgrades_per_principal_burst": 1})
        k = (("X-Api-Key", KEY_ONE),)
        self.decide(facts("/key", headers=k, peer="10.0.0.1"))
        self.refused(facts("/key", headers=k, peer="10.0.0.2"), 429, "upgrade rate per principal", "rate",
                     (("Retry-After", "1"),))

    def test_connections_per_address_429(self):
        self.adm = self.make({"max_conns_per_ip": 2})
        a = self.decide(facts())
        self.decide(facts("/star"))
        self.refused(facts(), 429, "connections per address", "rate", (("Retry-After", "5"),))
        self.decide(facts(peer="10.0.0.2"))
        self.adm.release(a, "10.0.0.1")
        self.decide(facts())

    def test_connections_per_principal_429(self):
        self.adm = self.make({"max_conns_per_principal": 2})
        a = self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.1"))
        self.decide(facts("/q", query="access_token=" + T.VALID, peer="10.0.0.2"))
        self.refused(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.3"), 429, "connections per principal",
                     "rate", (("Retry-After", "5"),))
        self.decide(facts("/jwt", headers=bearer(T.BOB), peer="10.0.0.3"))
        self.adm.release(a, "10.0.0.1")
        self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.3"))

    def test_route_at_capacity_503(self):
        k1, k2 = (("X-Api-Key", KEY_ONE),), (("X-Api-Key", KEY_TWO),)
        a = self.decide(facts("/key", headers=k1, peer="10.0.0.1"))
        self.decide(facts("/key", headers=k2, peer="10.0.0.2"))
        self.refused(facts("/key", headers=k1, peer="10.0.0.3"), 503, "route at capacity", "capacity",
                     (("Retry-After", "1"),))
        self.decide(facts("/open", peer="10.0.0.3"))  # other routes are not affected
        self.adm.release(a, "10.0.0.1")
        self.decide(facts("/key", headers=k1, peer="10.0.0.3"))

    def test_admission_tables_full_503(self):
        # limits.max_conns sizes the count tables: a third address cannot get a place.
        self.adm = self.make(limits={"max_conns": 2})
        a = self.decide(facts("/open", peer="10.0.0.1"))
        self.decide(facts("/star", peer="10.0.0.2"))
        self.refused(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.3"), 503, "admission tables full",
                     "capacity", (("Retry-After", "1"),))
        self.assertEqual((len(self.adm.conns_ip), len(self.adm.conns_route), len(self.adm.conns_principal)),
                         (2, 2, 0))
        self.adm.release(a, "10.0.0.1")
        self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.3"))

    def test_every_refusal_is_counted_by_kind(self):
        self.refused(facts("/nothing"), 404, "no route", "route")
        self.refused(facts("/jwt"), 401, "authentication failed: no bearer token", "auth", WWW_AUTH)
        self.refused(facts("/jwt"), 401, "authentication failed: no bearer token", "auth", WWW_AUTH)
        self.decide(facts())
        self.assertEqual(self.adm.counters, {"refused_route": 1, "refused_auth": 2, "accepted_none": 1})


class AcceptTests(Case):
    def test_open_route(self):
        a = self.decide(facts("/open", query="x=1"))
        self.assertEqual((a.route.path, a.principal, a.protocol, a.forward_protocols, a.query, a.expires_s, a.method),
                         ("/open", None, None, [], "x=1", None, "none"))

    def test_open_route_offers_every_sub_protocol_and_picks_the_first(self):
        a = self.decide(facts("/open", protocols=["b", "a"]))
        self.assertEqual((a.protocol, a.forward_protocols), ("b", ["b", "a"]))

    def test_jwt_in_the_authorization_header(self):
        for scheme in ("Bearer ", "bearer ", "BEARER ", "Bearer   "):
            with self.subTest(scheme=scheme):
                a = self.decide(facts("/jwt", headers=(("Authorization", scheme + T.VALID),)))
                self.assertEqual((a.principal, a.method, a.expires_s), ("jwt:alice", "jwt", NOW + 600))
                self.adm.release(a, "10.0.0.1")

    def test_jwt_without_sub_or_exp(self):
        # no sub, no principal: refused (tests/policy/test_principal.py); no exp: a session without an end
        self.refused(facts("/jwt", headers=bearer(T.NO_SUB)), 401, "authentication failed: sub missing", "auth",
                     WWW_AUTH)
        a = self.decide(facts("/jwt", headers=bearer(T.NO_EXP)))
        self.assertEqual((a.principal, a.expires_s), ("jwt:alice", None))

    def test_the_second_key_verifies_its_own_tokens(self):
        self.assertEqual(self.decide(facts("/jwt", headers=bearer(T.K2))).principal, "jwt:alice")

    def test_carrier_sub_protocol_is_taken_and_stripped(self):
        a = self.decide(facts("/jwt", protocols=["chat.v1", "bearer." + T.VALID, "chat.v2"]))
        self.assertEqual((a.principal, a.protocol, a.forward_protocols),
                         ("jwt:alice", "chat.v1", ["chat.v1", "chat.v2"]))
        for x in a.forward_protocols:
            self.assertFalse(T.VALID in x)

    def test_only_allowed_sub_protocols_are_forwarded(self):
        a = self.decide(facts("/jwt", protocols=["x", "bearer." + T.VALID, "chat.v2"]))
        self.assertEqual((a.protocol, a.forward_protocols), ("chat.v2", ["chat.v2"]))
        a = self.decide(facts("/jwt", protocols=["bearer." + T.VALID]))
        self.assertEqual((a.protocol, a.forward_protocols), (None, []))

    def test_app_route_with_origin_subprotocol_and_carrier(self):
        a = self.decide(facts("/app", headers=(("Origin", APP),), protocols=["bearer." + T.VALID, "chat.v2"]))
        self.assertEqual((a.principal, a.protocol, a.forward_protocols), ("jwt:alice", "chat.v2", ["chat.v2"]))

    def test_authorization_header_wins_over_the_carrier_which_is_still_stripped(self):
        a = self.decide(facts("/jwt", headers=bearer(T.BOB), protocols=["bearer." + T.EXPIRED, "chat.v1"]))
        self.assertEqual((a.principal, a.forward_protocols), ("jwt:bob", ["chat.v1"]))

    def test_carrier_on_an_open_route_is_stripped_too(self):
        a = self.decide(facts("/open", protocols=["bearer." + T.VALID, "x"]))
        self.assertEqual((a.principal, a.forward_protocols), (None, ["x"]))

    def test_an_empty_carrier_is_an_ordinary_sub_protocol(self):
        a = self.decide(facts("/open", protocols=["bearer."]))
        self.assertEqual(a.forward_protocols, ["bearer."])

    def test_custom_prefix(self):
        a = self.decide(facts("/tokproto", protocols=["access_token." + T.VALID, "bearer.x"]))
        self.assertEqual((a.principal, a.forward_protocols), ("jwt:alice", ["bearer.x"]))

    def test_prefix_off_forwards_the_entry(self):
        a = self.decide(facts("/noprefix", headers=bearer(T.VALID), protocols=["bearer.x"]))
        self.assertEqual(a.forward_protocols, ["bearer.x"])

    def test_query_token_is_taken_and_stripped(self):
        for q, rest in (("access_token=" + T.VALID, ""),
                        ("a=1&access_token=" + T.VALID + "&b=2", "a=1&b=2"),
                        ("a=1&access_token=" + T.VALID, "a=1"),
                        ("access_token=" + T.VALID + "&x_access_token=1", "x_access_token=1")):
            with self.subTest(q=q[:20]):
                a = self.decide(facts("/q", query=q))
                self.assertEqual((a.principal, a.query), ("jwt:alice", rest))
                self.adm.release(a, "10.0.0.1")

    def test_query_token_is_stripped_whatever_authenticated(self):
        # A token in the named parameter never reaches the backend, even when the
        # Authorization header carried the credential; two copies are refused (test_query_token).
        a = self.decide(facts("/q", query="a=1&access_token=" + T.EXPIRED, headers=bearer(T.VALID)))
        self.assertEqual((a.principal, a.query), ("jwt:alice", "a=1"))
        self.refused(facts("/q", query="access_token=" + T.VALID + "&b=2&access_token=" + T.BOB), 400,
                     "request target: token parameter repeated in the query", "target")

    def test_query_token_refused_where_the_route_names_no_parameter(self):
        self.refused(facts("/jwt", query="access_token=" + T.VALID), 401, "authentication failed: no bearer token",
                     "auth", WWW_AUTH)

    def test_api_key(self):
        a = self.decide(facts("/key", headers=(("X-Api-Key", KEY_ONE),)))
        self.assertEqual((a.principal, a.method, a.expires_s), ("key:meter-1", "api_key", None))
        a = self.decide(facts("/key", headers=(("X-Api-Key", KEY_TWO),), peer="10.0.0.2"))
        self.assertEqual(a.principal, "key:meter-2")

    def test_either_method_suffices(self):
        a = self.decide(facts("/either", headers=(("X-Device-Key", KEY_TWO),)))
        self.assertEqual((a.principal, a.method), ("key:meter-2", "api_key"))
        a = self.decide(facts("/either", headers=bearer(T.VALID)))
        self.assertEqual((a.principal, a.method), ("jwt:alice", "jwt"))

    def test_client_certificate(self):
        fp = "ab" * 32
        for ident, principal in (({"sans": ["dev1.test", "x"], "subject": "CN=dev1", "fingerprint_sha256": fp},
                                  "cert:dev1.test"),
                                 ({"sans": [], "subject": "CN=dev1", "fingerprint_sha256": fp}, "cert:CN=dev1"),
                                 ({"subject": "", "fingerprint_sha256": fp}, "cert:" + fp)):
            with self.subTest(principal=principal):
                a = self.decide(facts("/cert", identity=ident))
                self.assertEqual((a.principal, a.method), (principal, "client_cert"))

    def test_counters_by_method(self):
        self.decide(facts())
        self.decide(facts("/jwt", headers=bearer(T.VALID)))
        self.decide(facts("/key", headers=(("X-Api-Key", KEY_ONE),)))
        self.assertEqual(self.adm.counters, {"accepted_none": 1, "accepted_jwt": 1, "accepted_api_key": 1})


class RefreshTests(Case):
    """A route's in-band token refresh: a message of the configured shape carrying a fresh JWT."""

    def accepted(self):
        return self.decide(facts("/refresh", headers=bearer(T.VALID)))

    def refresh(self, acc, message, now_s=NOW):
        return self.adm.refresh(acc, message, now_s)

    def test_a_fresh_token_of_the_same_principal_gives_its_exp(self):
        acc = self.accepted()
        self.assertEqual(self.refresh(acc, b'{"op":"renew","jwt":"%s"}' % T.VALID.encode()), NOW + 600)

    def test_other_messages_are_not_refreshes(self):
        acc = self.accepted()
        for m in (b"hello", b'{"op":"say","jwt":"x"}', b"[1,2]", b"\xff\xfe", b"[" * 5000 + b"]" * 5000,
                  b'{"op":"renew"' + b" " * 9000 + b"}"):
            with self.subTest(m=m[:20]):
                self.assertIsNone(self.refresh(acc, m))

    def test_a_bad_or_foreign_token_is_refused(self):
        from edgegate.policy.errors import AuthError

        acc = self.accepted()
        for tok in (T.EXPIRED, T.OTHER_SECRET, T.BOB, T.NO_EXP, "not-a-token"):
            with self.subTest(tok=tok[:16]):
                with self.assertRaises(AuthError):
                    self.refresh(acc, b'{"op":"renew","jwt":"%s"}' % tok.encode())

    def test_routes_without_refresh_take_none(self):
        acc = self.decide(facts("/jwt", headers=bearer(T.VALID)))
        self.assertIsNone(self.refresh(acc, b'{"op":"renew","jwt":"%s"}' % T.VALID.encode()))


class ReleaseTests(Case):
    def test_release_frees_every_count(self):
        a = self.decide(facts("/jwt", headers=bearer(T.VALID)))
        b = self.decide(facts("/jwt", headers=bearer(T.VALID)))
        self.assertEqual((self.adm.conns_ip.count("10.0.0.1"), self.adm.conns_principal.count("jwt:alice"),
                          self.adm.conns_route.count("/jwt")), (2, 2, 2))
        self.adm.release(a, "10.0.0.1")
        self.assertEqual((self.adm.conns_ip.count("10.0.0.1"), self.adm.conns_principal.count("jwt:alice"),
                          self.adm.conns_route.count("/jwt")), (1, 1, 1))
        self.adm.release(b, "10.0.0.1")
        self.assertEqual((len(self.adm.conns_ip), len(self.adm.conns_principal), len(self.adm.conns_route)), (0, 0, 0))

    def test_a_refusal_holds_nothing(self):
        self.adm = self.make({"max_conns_per_ip": 1})
        self.decide(facts())
        for f in (facts(), facts("/jwt"), facts("/nothing")):
            with self.assertRaises(Reject):
                self.decide(f)
        self.assertEqual((self.adm.conns_ip.count("10.0.0.1"), len(self.adm.conns_route)), (1, 1))

    def test_caps_hold_over_many_sessions(self):
        self.adm = self.make({"max_conns_per_ip": 3})
        held = []
        for i in range(100):
            try:
                held.append(self.decide(facts(), now_ms=ticks_add(T0, i)))
            except Reject as r:
                self.assertEqual(r.status, 429)
                self.adm.release(held.pop(0), "10.0.0.1")
            self.assertTrue(self.adm.conns_ip.count("10.0.0.1") <= 3)
        for a in held:
            self.adm.release(a, "10.0.0.1")
        self.assertEqual(len(self.adm.conns_ip), 0)


class BanTests(Case):
    def setUp(self):
        self.audits = []
        self.adm = self.make({"ban_after_failures": 3, "ban_window_s": 60, "ban_s": 10})

    def test_n_failures_ban_the_address(self):
        for i in range(3):
            self.refused(facts("/jwt", headers=bearer(T.OTHER_SECRET)), 401, "authentication failed: bad signature",
                         "auth", WWW_AUTH, now_ms=ticks_add(T0, i))
        self.assertEqual([a for a in self.audits if a[0] == "banned"],
                         [("banned", {"peer": "10.0.0.1", "seconds": 10, "reason": "authentication failures"})])
        self.assertEqual(self.adm.counters["bans"], 1)
        # even a valid token is refused now, on every route
        self.refused(facts("/jwt", headers=bearer(T.VALID)), 403, "banned", "ban", now_ms=ticks_add(T0, 5))
        self.refused(facts("/open"), 403, "banned", "ban", now_ms=ticks_add(T0, 9999))
        # others are not
        self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.2"), now_ms=ticks_add(T0, 5))
        # the ban ends after ban_s
        self.decide(facts("/jwt", headers=bearer(T.VALID)), now_ms=ticks_add(T0, 2 + 10000))

    def test_fewer_failures_do_not_ban(self):
        for i in range(2):
            self.refused(facts("/jwt"), 401, "authentication failed: no bearer token", "auth", WWW_AUTH)
        self.decide(facts("/jwt", headers=bearer(T.VALID)))
        self.assertFalse("bans" in self.adm.counters)
        self.assertEqual([a[0] for a in self.audits], ["refused", "refused"])

    def test_failures_spread_over_the_window_do_not_ban(self):
        # 3 per 60 s: a failure every 30 s never empties the allowance.
        for i in range(20):
            self.refused(facts("/key", headers=(("X-Api-Key", "nope"),)), 401, "authentication failed: unknown api key",
                         "auth", WWW_AUTH, now_ms=ticks_add(T0, i * 30000))
        self.assertEqual(len(self.adm.bans), 0)

    def test_a_success_does_not_reset_the_count(self):
        self.refused(facts("/jwt"), 401, "authentication failed: no bearer token", "auth", WWW_AUTH)
        self.refused(facts("/jwt"), 401, "authentication failed: no bearer token", "auth", WWW_AUTH)
        self.decide(facts("/jwt", headers=bearer(T.VALID)))
        self.refused(facts("/jwt"), 401, "authentication failed: no bearer token", "auth", WWW_AUTH)
        self.refused(facts("/jwt"), 403, "banned", "ban")

    def test_protocol_failures_count_towards_the_ban(self):
        self.adm.protocol_failure("10.0.0.1", T0)
        self.adm.protocol_failure("10.0.0.1", T0)
        self.refused(facts("/jwt"), 401, "authentication failed: no bearer token", "auth", WWW_AUTH)
        self.refused(facts("/open"), 403, "banned", "ban")

    def test_other_refusals_do_not_count(self):
        for _ in range(10):
            self.refused(facts("/nothing"), 404, "no route", "route")
            self.refused(facts("/open", headers=(("Origin", "https://evil.test"),)), 403, "origin not allowed",
                         "origin")
        self.decide(facts())

    def test_a_failure_flood_keeps_the_tables_at_their_size(self):
        self.adm = self.make({"ban_after_failures": 1}, {"admission_table_entries": 16})
        for i in range(500):
            peer = "10.1.%d.%d" % (i >> 8, i & 255)
            with self.assertRaises(Reject):
                self.decide(facts("/jwt", peer=peer), now_ms=ticks_add(T0, i))
            for name in ("bans", "per_ip", "failures", "per_principal"):
                self.assertTrue(len(getattr(self.adm, name)) <= 16, name)
        # 12 addresses (three quarters of 16), then one ban for each of the two /24s
        self.assertEqual(len(self.adm.bans), 14)
        self.assertEqual(self.adm.counters["bans"], 14)
        self.assertEqual(self.adm.counters["refused_ban"], 500 - 14)

    def test_reconfigure_keeps_bans_and_live_counts(self):
        a = self.decide(facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.9"))
        for _ in range(3):
            with self.assertRaises(Reject):
                self.decide(facts("/jwt"))
        self.adm.reconfigure(config(), keys())
        self.refused(facts("/open"), 403, "banned", "ban")
        self.assertEqual(self.adm.conns_ip.count("10.0.0.9"), 1)
        self.adm.release(a, "10.0.0.9")
        self.assertEqual(len(self.adm.conns_ip), 0)


class NoCredentialInAuditTests(Case):
    def test_the_audit_never_receives_a_token_or_key(self):
        self.adm = self.make({"ban_after_failures": 7})
        secrets = [T.VALID, T.EXPIRED, T.OTHER_SECRET, T.ALG_NONE, T.HS512_K1, T.UNKNOWN_KID, T.CRIT, KEY_ONE,
                   "wrong-api-key-123"]
        attempts = [
            facts("/jwt", headers=bearer(T.VALID)),
            facts("/jwt", headers=bearer(T.EXPIRED)),
            facts("/jwt", headers=bearer(T.OTHER_SECRET)),
            facts("/jwt", protocols=["bearer." + T.ALG_NONE]),
            facts("/jwt", protocols=["bearer." + T.HS512_K1, "chat.v1"]),
            facts("/q", query="access_token=" + T.UNKNOWN_KID),
            facts("/q", query="access_token=" + T.CRIT),
            facts("/key", headers=(("X-Api-Key", KEY_ONE),)),
            facts("/key", headers=(("X-Api-Key", "wrong-api-key-123"),)),
            facts("/q", query="access_token=" + T.VALID),
            facts("/jwt", headers=bearer(T.VALID)),
            facts("/jwt", headers=bearer(T.VALID), peer="10.0.0.2"),
        ]
        outcomes = []
        for f in attempts:
            try:
                self.decide(f)
                outcomes.append(200)
            except Reject as r:
                outcomes.append(r.status)
                for s in secrets:
                    self.assertFalse(s in r.reason)
        # the 7th failure (the wrong API key) bans 10.0.0.1
        self.assertEqual(outcomes, [200, 401, 401, 401, 401, 401, 401, 200, 401, 403, 403, 200])
        self.assertEqual([a[0] for a in self.audits], ["refused"] * 6 + ["banned"] + ["refused"] * 3)
        text = repr(self.audits)
        for s in secrets:
            self.assertFalse(s in text, "a credential reached the audit")
            for part in s.split("."):
                if len(part) > 12:
                    self.assertFalse(part in text, "part of a credential reached the audit")
