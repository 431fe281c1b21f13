"""edgegate.policy.admission: an Origin header must be a serialised origin (RFC 6454 section 6.2) or 400.

A route with ``origins: ["*"]`` takes any origin and forwards it to the
backend, so what is not ``scheme "://" host [":" port]`` or ``null`` (NUL,
control and non-ASCII characters, a path, credentials, whitespace) is refused
before anything compares or forwards it.
"""

from edgegate.policy.admission import serialised_origin
from tests.policy import tokens as T
from tests.policy.test_admission import APP, Case, bearer, facts
from tests.portable import TestCase

GOOD = [
    "https://app.test",
    "http://app.test",
    "https://app.test:8443",
    "http://127.0.0.1:8080",
    "http://[::1]:8080",
    "https://[2001:db8::1]",
    "http://[::ffff:192.0.2.1]",
    "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
    "moz-extension://4b1c7f0a-0d9e-4c4e-9f0e-8d0c5c9a1b2c",
    "app+x.y-z://host",
    "https://xn--bcher-kva.example",
    "https://under_score.test",
    "HTTPS://APP.TEST",  # well formed; it simply matches no allowed origin spelled in lowercase
    "https://app.test:0",
    "https://app.test:65535",
    "null",
]

BAD = [
    "",
    " ",
    "https://app.test\x00",
    "https://app.test\x00.evil.test",
    "https://app\x01.test",
    "https://app.test\x7f",
    "https://app.test\t",
    "https://app.test\r\nX-Injected: 1",
    "https://\u00e4pp.test",
    "https://app.test\u2028",
    "https://app.test/",
    "https://app.test/path",
    "https://app.test?q",
    "https://app.test#f",
    "https://user@app.test",
    "https://user:pw@app.test",
    "https://app.test:",
    "https://app.test:8a",
    "https://app.test:65536",
    "https://app.test:123456",
    "https://app.test:+80",
    "https://app.test:-1",
    "https://",
    "https:///",
    "://app.test",
    "app.test",
    "https:app.test",
    "https:/app.test",
    "1https://app.test",
    "ht tp://app.test",
    "https://app test",
    "https://app.test, https://other.test",
    "https://[::1",
    "https://[::1]x",
    "https://[g::1]",
    "https://[]",
    "https://%61pp.test",
    "https://app.test\\",
    "https://app.test;x",
    "Null",
    "null ",
    "NULL",
    "*",
    "file://",
    "https://" + "a" * 300,
]


class SerialisedOriginTests(TestCase):
    def test_serialised_origins_are_accepted(self):
        for o in GOOD:
            with self.subTest(origin=o):
                self.assertTrue(serialised_origin(o))

    def test_anything_else_is_not_an_origin(self):
        for o in BAD:
            with self.subTest(origin=o):
                self.assertFalse(serialised_origin(o))


class AdmissionOriginTests(Case):
    def test_a_malformed_origin_is_refused_400_on_a_route_allowing_any_origin(self):
        for o in BAD:
            with self.subTest(origin=o):
                self.refused(facts("/star", headers=(("Origin", o),)), 400, "origin is not a serialised origin",
                             "origin")

    def test_a_malformed_origin_is_refused_400_where_origins_are_listed(self):
        for o in ("https://app.test\x00", APP + "/", APP + "\u00e9"):
            with self.subTest(origin=o):
                f = facts("/app", headers=bearer(T.VALID) + (("Origin", o),), protocols=["chat.v1"])
                self.refused(f, 400, "origin is not a serialised origin", "origin")

    def test_a_well_formed_origin_passes_a_route_allowing_any(self):
        for o in GOOD:
            with self.subTest(origin=o):
                self.adm.release(self.decide(facts("/star", headers=(("Origin", o),))), "10.0.0.1")

    def test_a_repeated_origin_header_is_refused(self):
        # The first is what would be judged; the backend must not read another.
        f = facts("/star", headers=(("Origin", "https://a.test"), ("Origin", "https://b.test")))
        self.refused(f, 400, "repeated Origin header", "origin")
        f = facts("/app", headers=bearer(T.VALID) + (("Origin", APP), ("Origin", "https://evil.test")),
                  protocols=["chat.v1"])
        self.refused(f, 400, "repeated Origin header", "origin")

    def test_no_origin_is_still_judged_by_allow_missing_origin(self):
        self.adm.release(self.decide(facts("/star")), "10.0.0.1")
        self.refused(facts("/app", headers=bearer(T.VALID), protocols=["chat.v1"]), 403, "origin missing", "origin")
