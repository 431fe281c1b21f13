"""edgegate.policy.target: the request target normalised before routing, or refused with its reason.

Issue 10 item 1: with an open ``/chat`` prefix route and an ``/admin`` route
that needs a key, ``/chat/../admin`` and its spellings were routed on ``/chat``
and forwarded as sent, and a backend that resolves the path served ``/admin``.
Every spelling below either normalises to what a resolving backend reads, or
is refused.
"""

from edgegate.policy.target import TargetError, check_query, normalise_path
from tests.portable import TestCase


class Normalised(TestCase):
    def same(self, cases):
        for raw, want in cases:
            with self.subTest(path=raw):
                self.assertEqual(normalise_path(raw), want)

    def refused(self, paths, reason):
        for raw in paths:
            with self.subTest(path=raw):
                with self.assertRaises(TargetError) as cm:
                    normalise_path(raw)
                self.assertEqual(str(cm.exception), reason)


class PlainPathTests(Normalised):
    def test_a_normal_path_is_unchanged(self):
        self.same([(p, p) for p in ("/", "/chat", "/chat/", "/chat/room-7", "/a/b/c", "/chat/~user",
                                    "/chat/a.b", "/chat/...", "/chat/..a", "/chat/a..", "/chat/.a", "/chat/a.",
                                    "/x:y@z!$&'()*+,=", "/chat/%20", "/caf%C3%A9", "/q%3Fx", "/h%23x")])

    def test_the_result_always_starts_with_a_slash(self):
        for p in ("/", "/.", "/..a", "/a/..", "//", "/./"):
            with self.subTest(path=p):
                self.assertEqual(normalise_path(p)[:1], "/")


class DotSegmentTests(Normalised):
    """RFC 3986 section 5.2.4, after unreserved percent-encodings are decoded."""

    def test_dot_dot_climbs_one_segment(self):
        self.same([("/chat/../admin", "/admin"), ("/a/b/../c", "/a/c"), ("/a/b/c/../../d", "/a/d"),
                   ("/chat/x/../../admin", "/admin")])

    def test_a_single_dot_is_removed(self):
        self.same([("/chat/./../admin", "/admin"), ("/./chat", "/chat"), ("/chat/./room", "/chat/room"),
                   ("/././.", "/"), ("/chat/.", "/chat/")])

    def test_a_trailing_dot_dot_leaves_a_trailing_slash(self):
        self.same([("/chat/room/..", "/chat/"), ("/chat/..", "/"), ("/admin/x/..", "/admin/")])

    def test_encoded_dots_are_dots(self):
        self.same([("/chat/%2e%2e/admin", "/admin"), ("/chat/%2E%2E/admin", "/admin"),
                   ("/chat/.%2E/admin", "/admin"), ("/chat/%2e./admin", "/admin"), ("/chat/%2e/admin", "/chat/admin"),
                   ("/chat/x/%2E%2e/%2e%2E/admin", "/admin")])

    def test_climbing_above_the_root_is_refused(self):
        self.refused(["/..", "/../admin", "/chat/../../admin", "/%2e%2e/admin", "/./../x", "/chat/../..",
                      "/a/b/../../../c"], "path climbs above the root")


class SlashTests(Normalised):
    """Repeated slashes are collapsed: a backend that merges them and then resolves
    dot segments (nginx's merge_slashes, most frameworks) reads the same path."""

    def test_repeated_slashes_collapse(self):
        self.same([("//admin", "/admin"), ("/chat//room", "/chat/room"), ("/chat///", "/chat/"), ("//", "/"),
                   ("///", "/")])

    def test_collapsing_happens_before_dot_segments(self):
        # RFC 3986 alone gives /chat/admin for the first (the empty segment is popped);
        # a backend that merges slashes first reads /admin: the gateway routes and forwards that.
        self.same([("/chat//../admin", "/admin"), ("/chat/.//../admin", "/admin"), ("//chat/..//admin", "/admin")])


class PercentTests(Normalised):
    def test_unreserved_characters_are_decoded(self):
        self.same([("/%63hat", "/chat"), ("/CH%41T", "/CHAT"), ("/a%2Db%5Fc%7Ed%30", "/a-b_c~d0"),
                   ("/%61%64%6d%69%6e", "/admin")])

    def test_other_escapes_keep_their_encoding_in_upper_case(self):
        self.same([("/caf%c3%a9", "/caf%C3%A9"), ("/a%20b", "/a%20b"), ("/q%3fx", "/q%3Fx"),
                   ("/x%2a", "/x%2A"), ("/%e2%82%ac", "/%E2%82%AC"), ("/%F0%9F%98%80", "/%F0%9F%98%80")])

    def test_malformed_escapes_are_refused(self):
        self.refused(["/%", "/%2", "/a%zz", "/a%2g", "/%%32%65", "/a%+1", "/a%", "/%-1"],
                     "malformed percent-encoding")

    def test_an_encoded_slash_is_refused(self):
        self.refused(["/chat/..%2fadmin", "/chat/%2e%2e%2fadmin", "/chat%2F..%2F..%2Fadmin", "/a%2fb"],
                     "encoded / in the path")

    def test_an_encoded_backslash_is_refused(self):
        self.refused(["/chat/..%5cadmin", "/chat/%2e%2e%5Cadmin", "/a%5cb"], "encoded \\ in the path")

    def test_an_encoded_nul_or_control_character_is_refused(self):
        self.refused(["/admin%00", "/chat/%00/../admin", "/a%0ab", "/a%0D%0Ab", "/a%7f", "/a%1b", "/a%09"],
                     "encoded control character in the path")

    def test_double_encoding_is_refused(self):
        # %252e is "%2e" to a backend that decodes once and "." to one that decodes twice.
        self.refused(["/chat/%252e%252e/admin", "/%252f", "/%25%32%65", "/a%25aB", "/%25%41%42"],
                     "double percent-encoding (%25 before two hex digits)")

    def test_a_lone_percent_sign_stays_encoded(self):
        self.same([("/100%25", "/100%25"), ("/100%25-off", "/100%25-off"), ("/%25x", "/%25x"), ("/%25a", "/%25a")])

    def test_overlong_and_invalid_utf8_is_refused(self):
        self.refused(["/chat/%c0%ae%c0%ae/admin", "/%c0%af", "/%e0%80%ae", "/%c1%81", "/%ed%a0%80", "/%f4%90%80%80",
                      "/%ff", "/%80", "/%c3", "/%c3/", "/%e2%82", "/%c3%a9%a9"],
                     "percent-encoded bytes are not UTF-8")


class RefusedCharacterTests(Normalised):
    def test_a_backslash_is_refused(self):
        self.refused(["/chat/..\\admin", "/chat\\..\\admin", "/\\", "/a\\b"], "\\ in the path")

    def test_path_parameters_are_refused(self):
        # Servers that strip ;params read /chat/..;/admin as /chat/../admin, and /admin;x as /admin.
        self.refused(["/chat/..;/admin", "/chat/.;/admin", "/admin;x", "/chat;jsessionid=1", "/;",
                      "/chat/%2e%2e;/admin"],
                     "; in the path (path parameters)")
        self.refused(["/chat/..%3b/admin", "/admin%3Bx"], "; in the path (path parameters)")

    def test_a_fragment_is_refused(self):
        self.refused(["/chat#/../admin", "/chat#", "/#"], "# in the request target")

    def test_nul_control_space_and_non_ascii_are_refused(self):
        self.refused(["/admin\x00", "/a\x01", "/a\tb", "/a b", "/a\x7f", "/caf\u00e9", "/a\r\n"],
                     "control, space or non-ASCII character in the path")

    def test_a_target_not_starting_with_a_slash_is_refused(self):
        self.refused(["", "admin", "*", "http://host/admin", "https://host/chat/../admin", "%2fadmin", ".", ".."],
                     "request target is not an absolute path")

    def test_an_overlong_path_is_refused(self):
        self.refused(["/" + "a" * 16384], "path over 16384 characters")


class IdempotenceTests(Normalised):
    def test_normalising_twice_changes_nothing(self):
        for raw in ("/chat/../admin", "/chat/%2e%2e/admin", "/%63hat//x/./y/..", "/caf%c3%a9/", "/100%25",
                    "/a/b/..", "/chat/.", "//"):
            with self.subTest(path=raw):
                once = normalise_path(raw)
                self.assertEqual(normalise_path(once), once)


class QueryTests(TestCase):
    def test_a_query_passes_as_it_is(self):
        for q in ("", "a=1&b=2", "x=%2e%2e%2f", "a=b;c", "q=/../admin"):
            with self.subTest(query=q):
                check_query(q)

    def test_a_fragment_or_a_control_character_in_the_query_is_refused(self):
        for q, reason in (("a=1#x", "# in the request target"), ("#", "# in the request target"),
                          ("a=\x00", "control, space or non-ASCII character in the query"),
                          ("a=b c", "control, space or non-ASCII character in the query"),
                          ("a=\u00e9", "control, space or non-ASCII character in the query")):
            with self.subTest(query=q):
                with self.assertRaises(TargetError) as cm:
                    check_query(q)
                self.assertEqual(str(cm.exception), reason)
