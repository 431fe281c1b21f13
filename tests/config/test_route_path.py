"""A route's path must be in the normal form requests are routed on, else the config is refused naming routes[i].path.

Admission matches routes on ``edgegate.policy.target.normalise_path`` of the
request path: a route written ``/caf%c3%a9``, ``/a/../b`` or ``/a//b`` could
never match (its requests normalise to ``/caf%C3%A9``, ``/b``, ``/a/b``), and
one holding ``;``, ``%2F`` or a control character is a path every request
with it is refused 400 for. The refusal says which normal form to write, or
why there is none.
"""

from edgegate.config.model import ConfigError, parse
from edgegate.policy.target import normalise_path
from edgegate.rt import json_dumps
from tests.portable import TestCase

LISTEN = [{"host": "127.0.0.1", "port": 8080, "plaintext": True}]
NORMAL = ["/", "/echo", "/chat/", "/caf%C3%A9", "/a/b", "/a-b_c.d~e", "/%20x", "/a%3Fb", "/x/y/z/", "/a:b@c!$&'()*+,="]
# (path as written, the normal form a request is routed on)
DENORMAL = [("/caf%c3%a9", "/caf%C3%A9"), ("/a/../b", "/b"), ("/a//b", "/a/b"), ("/%61dmin", "/admin"),
            ("/a/./b", "/a/b"), ("/a/.", "/a/"), ("//", "/"), ("/a%2eb", "/a.b"), ("/chat/%2E%2E/admin", "/admin"),
            ("/a%7e", "/a~"), ("/a%3f", "/a%3F"),
            # not a valid request path as written, but percent-encoded it is one
            ("/caf\u00e9", "/caf%C3%A9"), ("/a b", "/a%20b"), ("/\u4e16", "/%E4%B8%96")]
# (path, why no request can match it)
IMPOSSIBLE = [("/a;b", "; in the path (path parameters)"), ("/a%2Fb", "encoded / in the path"),
              ("/a%5cb", "encoded \\ in the path"), ("/a\\b", "\\ in the path"), ("/a#b", "# in the request target"),
              ("/a%00", "encoded control character in the path"), ("/..", "path climbs above the root"),
              ("/a/../..", "path climbs above the root"), ("/a%252e", "double percent-encoding (%25 before two hex digits)"),
              ("/a%c0%ae", "percent-encoded bytes are not UTF-8"), ("/a%zz", "malformed percent-encoding"),
              ("/a\tb", "control, space or non-ASCII character in the path"),
              ("/a\x00", "control, space or non-ASCII character in the path"),
              ("/a b;c", "control, space or non-ASCII character in the path"),
              ("/\ud800", "control, space or non-ASCII character in the path")]


def doc(path, match="prefix"):
    return {"listen": LISTEN, "routes": [{"path": "/ok", "backend": {"url": "ws://127.0.0.1:9000/"}},
                                         {"path": path, "match": match, "backend": {"url": "ws://127.0.0.1:9001/"}}]}


class RoutePathTests(TestCase):
    def refused(self, path):
        for match in ("prefix", "exact"):
            with self.assertRaises(ConfigError) as cm:
                parse(doc(path, match), {})
            self.assertEqual(cm.exception.path, "routes[1].path")
        return str(cm.exception)

    def test_a_path_in_normal_form_is_taken(self):
        for p in NORMAL:
            with self.subTest(path=p):
                self.assertEqual(normalise_path(p), p)
                self.assertEqual(parse(doc(p), {}).routes[1].path, p)

    def test_a_path_not_in_normal_form_is_refused_naming_its_normal_form(self):
        for p, want in DENORMAL:
            with self.subTest(path=p):
                self.assertEqual(self.refused(p), "routes[1].path: %s never matches: a request's path is normalised"
                                 " before routing; write %s" % (json_dumps(p), json_dumps(want)))

    def test_a_path_no_request_can_have_is_refused_saying_why(self):
        for p, why in IMPOSSIBLE:
            with self.subTest(path=p):
                self.assertEqual(self.refused(p), "routes[1].path: %s never matches: %s, and a request with it gets 400"
                                 % (json_dumps(p), why))

    def test_the_first_check_still_comes_first(self):
        with self.assertRaises(ConfigError) as cm:
            parse(doc("echo"), {})
        self.assertEqual(str(cm.exception), "routes[1].path: must be a string starting with /")

