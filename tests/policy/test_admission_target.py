"""edgegate.policy.admission: routes are chosen on the normalised request target (issue 10, item 1).

With an open ``/chat`` prefix route and an ``/admin`` route that needs an API
key, every spelling of ``/chat/../admin`` either is refused 400 (kind
``target``, reason naming the problem) or is routed to ``/admin`` and needs
its key; the accept carries the normalised path the backend is sent.
"""

from edgegate.policy.errors import Reject
from tests.policy.test_admission import KEY_ONE, Case, _route, facts
from tests.portable import TestCase  # noqa: F401 - marks the module portable

ROUTES = [
    _route("/chat"),
    _route("/admin", auth={"methods": ["api_key"]}),
    _route("/exact", match="exact"),
]
KEY = (("X-Api-Key", KEY_ONE),)

ROUTED_TO_ADMIN = ["/chat/../admin", "/chat/./../admin", "/chat/%2e%2e/admin", "/chat/.%2E/admin",
                   "/chat/%2E%2e/admin", "/chat/x/../../admin", "/chat//../admin", "//admin", "/./admin",
                   "/%61dmin", "/chat/../%61dmin/", "/chat/room/../../admin/x"]
REFUSED = [
    ("/chat/..\\admin", "\\ in the path"),
    ("/chat/..%5cadmin", "encoded \\ in the path"),
    ("/chat/%2e%2e%2fadmin", "encoded / in the path"),
    ("/chat/..%2Fadmin", "encoded / in the path"),
    ("/chat/..;/admin", "; in the path (path parameters)"),
    ("/chat;x/../admin", "; in the path (path parameters)"),
    ("/admin;x", "; in the path (path parameters)"),
    ("/chat/%252e%252e/admin", "double percent-encoding (%25 before two hex digits)"),
    ("/chat/%c0%ae%c0%ae/admin", "percent-encoded bytes are not UTF-8"),
    ("/chat/%00/../admin", "encoded control character in the path"),
    ("/chat/../../admin", "path climbs above the root"),
    ("/chat#/../admin", "# in the request target"),
    ("http://host/admin", "request target is not an absolute path"),
    ("*", "request target is not an absolute path"),
]


class TargetRoutingTests(Case):
    def setUp(self):
        self.audits = []
        self.adm = self.make(routes=ROUTES)

    def test_every_dot_segment_spelling_is_routed_to_admin_and_needs_its_key(self):
        for raw in ROUTED_TO_ADMIN:
            with self.subTest(path=raw):
                self.refused(facts(raw), 401, "authentication failed: no api key", "auth",
                             (("WWW-Authenticate", 'Bearer realm="edgegate"'),))
                a = self.decide(facts(raw, headers=KEY))
                self.assertEqual((a.route.path, a.principal), ("/admin", "key:meter-1"))
                self.assertTrue(a.path == "/admin" or a.path.startswith("/admin/"), a.path)
                self.adm.release(a, "10.0.0.1")

    def test_what_cannot_be_normalised_safely_is_refused_400_naming_why(self):
        for raw, why in REFUSED:
            with self.subTest(path=raw):
                self.refused(facts(raw), 400, "request target: " + why, "target")
                self.refused(facts(raw, headers=KEY), 400, "request target: " + why, "target")

    def test_a_fragment_in_the_query_is_refused(self):
        self.refused(facts("/chat", query="a=1#/../admin"), 400, "request target: # in the request target", "target")

    def test_the_accept_carries_the_normalised_path(self):
        for raw, want in (("/chat", "/chat"), ("/chat/", "/chat/"), ("/chat/a/./b/../c", "/chat/a/c"),
                          ("/%63hat/room", "/chat/room"), ("/chat//room", "/chat/room"),
                          ("/chat/caf%c3%a9", "/chat/caf%C3%A9")):
            with self.subTest(path=raw):
                a = self.decide(facts(raw))
                self.assertEqual((a.route.path, a.path), ("/chat", want))
                self.adm.release(a, "10.0.0.1")

    def test_a_prefix_matches_whole_segments_only(self):
        for raw in ("/chatty", "/chat.x", "/chat%2Dx", "/chat-x", "/adminx", "/chat/../adminx"):
            with self.subTest(path=raw):
                self.refused(facts(raw), 404, "no route", "route")

    def test_an_exact_route_matches_its_normal_form_only(self):
        for raw in ("/exact", "/./exact", "/chat/../exact", "//exact", "/%65xact"):
            with self.subTest(path=raw):
                a = self.decide(facts(raw))
                self.assertEqual((a.route.path, a.path), ("/exact", "/exact"))
                self.adm.release(a, "10.0.0.1")
        for raw in ("/exact/", "/exact/.", "/exact/x/.."):
            with self.subTest(path=raw):
                self.refused(facts(raw), 404, "no route", "route")

    def test_a_refused_target_is_audited_with_the_raw_path(self):
        with self.assertRaises(Reject):
            self.decide(facts("/chat/..;/admin"))
        self.assertEqual(self.audits[-1], ("refused", {
            "status": 400, "reason": "request target: ; in the path (path parameters)", "kind": "target",
            "peer": "10.0.0.1", "path": "/chat/..;/admin"}))
        self.assertEqual(self.adm.counters["refused_target"], 1)
