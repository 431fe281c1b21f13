"""The principal is a printable name: a sub, API key id or certificate name that is not gets 401 saying why.

Attack re-run: a trusted token whose ``sub`` held CR/LF ended the session
with 500 and a ``session_error`` (the ``X-Edgegate-Principal`` header to the
backend could not be written); with NUL or another control it was sent to
the backend; ``sub: {}`` and ``sub: "?"`` both became ``jwt:?``. Now every
source of the principal goes through ``principal_name``: 1 to 256 printable
characters (no C0/C1 control, DEL, surrogate, line separator or invisible
format character), no space at either end; a missing or non-string ``sub``
is refused too, so ``jwt:?`` is only ever the token whose sub is ``"?"``.
"""

import binascii

from edgegate import rt
from edgegate.policy.admission import MAX_PRINCIPAL, Admission, KeySet, principal_name
from edgegate.policy.errors import AuthError, Reject
from edgegate.policy.jwt import JwtKey
from tests.policy import tokens as T
from tests.policy.test_admission import KEY_ONE, NOW, WWW_AUTH, Case, _sha, bearer, config, facts
from tests.portable import TestCase


def _b64(b):
    if isinstance(b, str):
        b = b.encode()
    return binascii.b2a_base64(b).decode().strip().replace("+", "-").replace("/", "_").rstrip("=")


def token(sub_json):
    """A VALID-like HS256 token for kid k1 whose ``sub`` is ``sub_json`` (JSON text as written; None: no sub)."""
    claims = '"iss":"https://id.test","aud":"edge","iat":%d,"nbf":%d,"exp":%d' % (NOW - 60, NOW - 60, NOW + 600)
    if sub_json is not None:
        claims = '"sub":%s,' % sub_json + claims
    si = _b64('{"alg":"HS256","kid":"k1"}') + "." + _b64("{" + claims + "}")
    return si + "." + _b64(rt.hmac_digest("sha256", T.S1, si.encode()))


CONTROL = "sub holds a control or non-printable character"
# (sub as JSON text, the reason after "authentication failed: ")
BAD_SUBS = [
    ('"a\\r\\nX-Injected: 1"', CONTROL), ('"a\\nb"', CONTROL), ('"a\\rb"', CONTROL), ('"a\\u0000b"', CONTROL),
    ('"a\\u0001b"', CONTROL), ('"a\\tb"', CONTROL), ('"a\\u007fb"', CONTROL), ('"a\\u0085b"', CONTROL),
    ('"a\\u009fb"', CONTROL), ('"a\\u2028b"', CONTROL), ('"a\\u202eb"', CONTROL), ('"a\\u200bb"', CONTROL),
    ('"\\ufeffalice"', CONTROL),
    ("{}", "sub is not a string"), ('{"x":1}', "sub is not a string"), ("[]", "sub is not a string"),
    ("42", "sub is not a string"), ("true", "sub is not a string"), ("null", "sub missing"), (None, "sub missing"),
    ('""', "sub is empty"), ('" alice"', "sub begins or ends with a space"),
    ('"alice "', "sub begins or ends with a space"),
    ('"%s"' % ("x" * (MAX_PRINCIPAL + 1)), "sub over 256 characters"),
]
GOOD_SUBS = [('"?"', "jwt:?"), ('"alice"', "jwt:alice"), ('"caf\\u00e9 user@x.test"', "jwt:caf\u00e9 user@x.test"),
             ('"%s"' % ("x" * MAX_PRINCIPAL), "jwt:" + "x" * MAX_PRINCIPAL), ('"a|b:c=d,e"', "jwt:a|b:c=d,e"),
             ('"\\u4e16\\u754c"', "jwt:\u4e16\u754c")]


class PrincipalNameTests(TestCase):
    def test_printable_names_pass(self):
        for v in ("a", "?", "alice@x.test", "CN=dev1,O=Acme Inc", "caf\u00e9", "\u00a0x", "x" * MAX_PRINCIPAL,
                  "~!#$%^&*()"):
            with self.subTest(v=v):
                self.assertEqual(principal_name(v, "sub"), v)

    def test_other_names_are_refused_saying_why(self):
        for v, why in (("a\r\nb", CONTROL), ("\x00", CONTROL), ("a\x1b[31m", CONTROL), ("a\x7f", CONTROL),
                       ("a\x80", CONTROL), ("a\u2029", CONTROL), ("a\u2066b", CONTROL), ("a\uffff", CONTROL),
                       (None, "sub missing"), ({}, "sub is not a string"), (b"alice", "sub is not a string"),
                       (7, "sub is not a string"), ("", "sub is empty"), (" a", "sub begins or ends with a space"),
                       ("x" * (MAX_PRINCIPAL + 1), "sub over 256 characters")):
            with self.subTest(v=v):
                with self.assertRaises(AuthError) as cm:
                    principal_name(v, "sub")
                self.assertEqual(str(cm.exception), why)

    def test_the_source_is_named(self):
        with self.assertRaises(AuthError) as cm:
            principal_name("a\nb", "api key id")
        self.assertEqual(str(cm.exception), "api key id holds a control or non-printable character")


class JwtSubTests(Case):
    def test_a_bad_sub_gets_401_with_its_reason(self):
        for sub, why in BAD_SUBS:
            with self.subTest(sub=sub):
                self.refused(facts("/jwt", headers=bearer(token(sub))), 401, "authentication failed: " + why, "auth",
                             WWW_AUTH)
                self.refused(facts("/q", query="access_token=" + token(sub)), 401, "authentication failed: " + why,
                             "auth", WWW_AUTH)

    def test_the_token_without_sub_is_refused(self):
        self.refused(facts("/jwt", headers=bearer(T.NO_SUB)), 401, "authentication failed: sub missing", "auth",
                     WWW_AUTH)

    def test_a_printable_sub_is_the_principal(self):
        for sub, principal in GOOD_SUBS:
            with self.subTest(sub=sub):
                a = self.decide(facts("/jwt", headers=bearer(token(sub))))
                self.assertEqual(a.principal, principal)
                self.adm.release(a, "10.0.0.1")

    def test_a_refresh_with_a_bad_sub_is_refused(self):
        acc = self.decide(facts("/refresh", headers=bearer(token('"alice"'))))
        for sub, why in BAD_SUBS:
            with self.subTest(sub=sub):
                with self.assertRaises(AuthError) as cm:
                    self.adm.refresh(acc, b'{"op":"renew","jwt":"%s"}' % token(sub).encode(), NOW)
                self.assertEqual(str(cm.exception), why)
        self.assertEqual(self.adm.refresh(acc, b'{"op":"renew","jwt":"%s"}' % token('"alice"').encode(), NOW),
                         NOW + 600)


class ApiKeyAndCertificateTests(Case):
    def test_an_api_key_id_that_is_not_printable_gets_401(self):
        for kid in ("meter\r\nX-Injected: 1", "m\x00", "", " m"):
            with self.subTest(kid=kid):
                adm = Admission(config(), KeySet([JwtKey("k1", "HS256", T.S1)], {kid: _sha(KEY_ONE)}), self.audit)
                with self.assertRaises(Reject) as cm:
                    adm.decide(facts("/key", headers=(("X-Api-Key", KEY_ONE),)), 100000, NOW)
                self.assertEqual(cm.exception.status, 401)
                self.assertTrue(cm.exception.reason.startswith("authentication failed: api key id "))

    def test_a_client_certificate_name_that_is_not_printable_gets_401(self):
        fp = "ab" * 32
        for ident, why in (({"sans": ["dev1\r\nX-Injected: 1"], "subject": "CN=dev1", "fingerprint_sha256": fp},
                            "client certificate SAN holds a control or non-printable character"),
                           ({"sans": [], "subject": "CN=dev1\x00evil", "fingerprint_sha256": fp},
                            "client certificate subject holds a control or non-printable character"),
                           ({"sans": [], "subject": "CN=" + "x" * 300, "fingerprint_sha256": fp},
                            "client certificate subject over 256 characters")):
            with self.subTest(why=why):
                self.refused(facts("/cert", identity=ident), 401, "authentication failed: " + why, "auth", WWW_AUTH)
