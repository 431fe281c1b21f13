"""edgegate.policy.jwt: JWS compact verification with the algorithm pinned by the key.

Tokens are constants minted offline by PyJWT (tests/policy/tokens.py), checked
at the fixed clock ``NOW``; HMAC runs through ``rt.hmac_digest`` (pure Python on
MicroPython), so both interpreters verify PyJWT's signatures byte for byte.
Every refusal is an ``AuthError`` with a fixed message that never contains the
token.
"""

from edgegate import rt
from edgegate.policy import jwt
from edgegate.policy.errors import AuthError
from edgegate.policy.jwt import JwtKey, verify
from tests.policy import tokens as T
from tests.portable import TestCase

K1 = JwtKey("k1", "HS256", T.S1)
K2 = JwtKey("k2", "HS256", T.S2)
KEYS = [K1, K2]
ISS = "https://id.test"
AUD = "edge"


def _b64(s):
    import binascii

    return binascii.b2a_base64(s.encode()).decode().strip().replace("+", "-").replace("/", "_").rstrip("=")


class Refusals(TestCase):
    def refused(self, token, msg, keys=KEYS, now=T.NOW, iss=ISS, aud=AUD, leeway=0):
        with self.assertRaises(AuthError) as cm:
            verify(token, keys, now, iss, aud, leeway)
        self.assertEqual(str(cm.exception), msg)
        if isinstance(token, str) and len(token) > 8:
            self.assertFalse(token in str(cm.exception))
            for part in token.split("."):
                if len(part) > 8:
                    self.assertFalse(part in str(cm.exception), "message carries part of the token")
        return cm.exception


class ValidTests(Refusals):
    def test_valid_token_gives_its_claims(self):
        c = verify(T.VALID, KEYS, T.NOW, ISS, AUD, 0)
        self.assertEqual(c["sub"], "alice")
        self.assertEqual(c["iss"], ISS)
        self.assertEqual(c["aud"], AUD)
        self.assertEqual(c["exp"], T.NOW + 600)
        self.assertEqual(c["nbf"], T.NOW - 60)

    def test_each_kid_selects_its_own_key(self):
        self.assertEqual(verify(T.K2, KEYS, T.NOW, ISS, AUD)["sub"], "alice")
        self.refused(T.K2, "bad signature", keys=[JwtKey("k2", "HS256", T.S1)])

    def test_no_issuer_or_audience_configured_checks_neither(self):
        for tok in (T.WRONG_ISS, T.NO_ISS, T.WRONG_AUD, T.AUD_LIST_WITHOUT):
            with self.subTest(tok=tok[-10:]):
                self.assertEqual(verify(tok, KEYS, T.NOW)["sub"], "alice")

    def test_no_exp_claim_is_accepted(self):
        c = verify(T.NO_EXP, KEYS, T.NOW, ISS, AUD)
        self.assertFalse("exp" in c)

    def test_a_secret_longer_than_the_hash_block_is_hashed_first(self):
        # RFC 2104: a key over 64 bytes is replaced by its SHA-256 (the pure-Python path too).
        c = verify(T.LONG_SECRET, [JwtKey("long", "HS256", T.SLONG)], T.NOW, ISS, AUD)
        self.assertEqual(c["sub"], "alice")

    def test_no_kid_with_one_key_of_that_alg_uses_it(self):
        self.assertEqual(verify(T.NO_KID, [K1], T.NOW, ISS, AUD)["sub"], "alice")
        # a key for another alg does not make it ambiguous
        self.assertEqual(verify(T.NO_KID, [K1, JwtKey("x", "HS512", T.S2)], T.NOW, ISS, AUD)["sub"], "alice")

    def test_hs384_verifies_where_the_runtime_has_sha384(self):
        k3 = JwtKey("k3", "HS384", T.S3)
        if rt.IS_MICROPYTHON:
            # Only HMAC-SHA256 exists there: a refusal, never another exception.
            self.refused(T.HS384_K3, "HS384 not available on this runtime", keys=[k3])
        else:
            self.assertEqual(verify(T.HS384_K3, [k3], T.NOW, ISS, AUD)["sub"], "alice")


class TimeTests(Refusals):
    def test_expired(self):
        self.refused(T.EXPIRED, "expired")
        self.refused(T.EXPIRED, "expired", leeway=30)

    def test_exp_equal_to_now_is_expired(self):
        self.refused(T.EXP_NOW, "expired")
        self.assertEqual(verify(T.EXP_NOW, KEYS, T.NOW - 1, ISS, AUD)["sub"], "alice")

    def test_leeway_accepts_a_token_that_expired_within_it(self):
        self.refused(T.EXP_10S_AGO, "expired", leeway=0)
        self.refused(T.EXP_10S_AGO, "expired", leeway=10)
        self.assertEqual(verify(T.EXP_10S_AGO, KEYS, T.NOW, ISS, AUD, 11)["sub"], "alice")
        self.assertEqual(verify(T.EXP_10S_AGO, KEYS, T.NOW, ISS, AUD, 30)["sub"], "alice")

    def test_not_yet_valid(self):
        self.refused(T.NBF_FUTURE, "not yet valid")
        self.refused(T.NBF_FUTURE, "not yet valid", leeway=30)
        self.assertEqual(verify(T.NBF_FUTURE, KEYS, T.NOW + 100, ISS, AUD)["sub"], "alice")

    def test_leeway_accepts_a_token_valid_within_it(self):
        self.refused(T.NBF_10S_AHEAD, "not yet valid", leeway=9)
        self.assertEqual(verify(T.NBF_10S_AHEAD, KEYS, T.NOW, ISS, AUD, 10)["sub"], "alice")

    def test_float_clock(self):
        self.assertEqual(verify(T.VALID, KEYS, T.NOW + 599.5, ISS, AUD)["sub"], "alice")
        self.refused(T.VALID, "expired", now=T.NOW + 600.001)

    def test_exp_and_nbf_must_be_numbers(self):
        self.refused(T.EXP_STRING, "exp is not a number")
        self.refused(T.NBF_STRING, "nbf is not a number")


class ClaimTests(Refusals):
    def test_wrong_issuer(self):
        self.refused(T.WRONG_ISS, "wrong issuer")
        self.refused(T.NO_ISS, "wrong issuer")

    def test_wrong_audience(self):
        self.refused(T.WRONG_AUD, "wrong audience")
        self.refused(T.VALID, "wrong audience", aud="other-edge")

    def test_audience_list_containing_ours(self):
        self.assertEqual(verify(T.AUD_LIST, KEYS, T.NOW, ISS, AUD)["aud"], ["other", "edge"])
        self.assertEqual(verify(T.AUD_LIST, KEYS, T.NOW, ISS, "other")["sub"], "alice")

    def test_audience_list_without_ours(self):
        self.refused(T.AUD_LIST_WITHOUT, "wrong audience")

    def test_expiry_is_checked_only_after_the_signature(self):
        # An expired token with a bad signature says "bad signature": nothing about
        # its claims is revealed before it is authentic.
        self.refused(T.EXPIRED[:-4] + "AAAA", "bad signature")


class SignatureTests(Refusals):
    def test_signed_with_another_secret(self):
        self.refused(T.OTHER_SECRET, "bad signature")

    def test_any_changed_signature_byte(self):
        sig = T.VALID.split(".")[2]
        for i in (0, 10, 20, len(sig) - 2):
            c = "A" if sig[i] != "A" else "B"
            with self.subTest(at=i):
                self.refused(T.VALID[:len(T.VALID) - len(sig) + i] + c + sig[i + 1:], "bad signature")

    def test_changed_payload(self):
        h, p, s = T.VALID.split(".")
        bob = T.BOB.split(".")[1]
        self.refused(h + "." + bob + "." + s, "bad signature")

    def test_truncated_or_empty_signature(self):
        h, p, s = T.VALID.split(".")
        self.refused(h + "." + p + "." + s[:-1], "bad signature")
        self.refused(h + "." + p + ".", "bad signature")

    def test_signature_not_base64url(self):
        h, p, s = T.VALID.split(".")
        for bad in (s[:-1] + "=", s[:5] + "+" + s[6:], s[:5] + "/" + s[6:], s + " "):
            with self.subTest(sig=bad[-4:]):
                self.refused(h + "." + p + "." + bad, "signature is not base64url")


class AlgTests(Refusals):
    def test_alg_none_is_refused(self):
        self.refused(T.ALG_NONE, "alg none or missing")

    def test_alg_none_with_a_real_signature_is_refused(self):
        h = T.ALG_NONE.split(".")[0]
        _, p, s = T.VALID.split(".")
        self.refused(h + "." + p + "." + s, "alg none or missing")

    def test_alg_none_in_any_case_and_missing_alg(self):
        _, p, s = T.VALID.split(".")
        for hdr in ('{"alg":"None","kid":"k1"}', '{"alg":"NONE","kid":"k1"}', '{"kid":"k1"}',
                    '{"alg":null,"kid":"k1"}', '{"alg":256,"kid":"k1"}'):
            with self.subTest(hdr=hdr):
                self.refused(_b64(hdr) + "." + p + "." + s, "alg none or missing")

    def test_alg_other_than_the_kids_pinned_alg(self):
        self.refused(T.HS512_K1, "alg HS512 does not match the key's pinned HS256")

    def test_alg_confusion_against_a_public_key_kid(self):
        # kid names an RS256 key; a token claiming HS256 for it is refused before
        # any verification (its HMAC key would be the public key).
        rs = JwtKey("rs", "RS256", object())
        _, p, s = T.VALID.split(".")
        self.refused(_b64('{"alg":"HS256","kid":"rs"}') + "." + p + "." + s,
                     "alg HS256 does not match the key's pinned RS256", keys=[rs, K1])

    def test_unknown_kid(self):
        self.refused(T.UNKNOWN_KID, "unknown kid")

    def test_no_kid_with_two_keys_of_that_alg(self):
        self.refused(T.NO_KID, "no kid and 2 keys for alg HS256")

    def test_no_kid_with_no_key_of_that_alg(self):
        self.refused(T.NO_KID, "no kid and 0 keys for alg HS256", keys=[JwtKey("x", "HS512", T.S1)])
        self.refused(T.NO_KID, "no kid and 0 keys for alg HS256", keys=[])

    def test_unknown_alg_without_kid(self):
        _, p, s = T.VALID.split(".")
        self.refused(_b64('{"alg":"PS256"}') + "." + p + "." + s, "no kid and 0 keys for alg PS256")

    def test_crit_header_is_refused(self):
        self.refused(T.CRIT, "crit header not supported")

    def test_crit_is_refused_even_when_empty(self):
        _, p, s = T.VALID.split(".")
        self.refused(_b64('{"alg":"HS256","kid":"k1","crit":[]}') + "." + p + "." + s,
                     "crit header not supported")

    def test_public_key_alg_without_a_verifier_is_refused(self):
        # Where the runtime has no verifier (MicroPython), an RS256/ES256 key refuses every token.
        if rt.verify_signature is not None:
            return
        _, p, s = T.VALID.split(".")
        for alg in ("RS256", "ES256"):
            with self.subTest(alg=alg):
                self.refused(_b64('{"alg":"%s","kid":"pk"}' % alg) + "." + p + "." + s,
                             "%s not available on this runtime" % alg, keys=[JwtKey("pk", alg, object())])

    def test_key_with_an_unknown_alg_cannot_be_made(self):
        for alg in ("none", "RS384", "hs256", ""):
            with self.subTest(alg=alg):
                with self.assertRaises(ValueError):
                    JwtKey("k", alg, b"x")


class MalformedTests(Refusals):
    def test_not_three_parts(self):
        h, p, s = T.VALID.split(".")
        for tok in ("", "abc", h + "." + p, h + "." + p + "." + s + "." + s, ".", "...."):
            with self.subTest(tok=tok[:12]):
                self.refused(tok, "not a compact JWS")

    def test_token_not_a_string(self):
        for tok in (None, T.VALID.encode(), 12):
            with self.subTest(tok=type(tok).__name__):
                self.refused(tok, "token missing or over 8192 bytes")

    def test_oversize_token(self):
        h, p, s = T.VALID.split(".")
        pad = "x" * (jwt.MAX_TOKEN_BYTES - len(T.VALID) + 1)
        big = h + "." + p + pad + "." + s
        self.assertEqual(len(big), jwt.MAX_TOKEN_BYTES + 1)
        self.refused(big, "token missing or over 8192 bytes")
        self.refused("a" * 100000, "token missing or over 8192 bytes")
        # exactly at the limit it is parsed (and then refused for its signature)
        self.refused(big[1:], "header is not base64url JSON")

    def test_header_not_base64url_json(self):
        _, p, s = T.VALID.split(".")
        for h in ("", "!!!!", "e30=", _b64("not json"), _b64('{"alg":"HS256"'), "\u00e9t\u00e9", "ey J"):
            with self.subTest(h=h):
                self.refused(h + "." + p + "." + s, "header is not base64url JSON")

    def test_header_not_an_object(self):
        _, p, s = T.VALID.split(".")
        for h in ('["HS256"]', '"HS256"', "1", "null"):
            with self.subTest(h=h):
                self.refused(_b64(h) + "." + p + "." + s, "header is not a JSON object")

    def test_header_invalid_utf8(self):
        import binascii

        raw = b'{"alg":"\xff"}'
        h = binascii.b2a_base64(raw).decode().strip().replace("+", "-").replace("/", "_").rstrip("=")
        _, p, s = T.VALID.split(".")
        self.refused(h + "." + p + "." + s, "header is not base64url JSON")

    def test_payload_checked_only_once_signed(self):
        self.refused(T.PAYLOAD_NOT_JSON, "payload is not base64url JSON")
        self.refused(T.PAYLOAD_ARRAY, "payload is not a JSON object")

    def test_b64url_decode_round_trip(self):
        self.assertEqual(jwt.b64url_decode(_b64('{"a":1}')), b'{"a":1}')
        self.assertEqual(jwt.b64url_decode("-_8"), b"\xfb\xff")
        for bad in ("a=", "a b", "a+", "a/", "\u00e9"):
            with self.subTest(s=bad):
                with self.assertRaises(ValueError):
                    jwt.b64url_decode(bad)


def _signed(payload, key=T.S1):
    """An HS256 token for kid k1 whose payload is exactly ``payload`` (JSON text as the issuer wrote it)."""
    import binascii

    si = _b64('{"alg":"HS256","kid":"k1"}') + "." + _b64(payload)
    mac = rt.hmac_digest("sha256", key, si.encode())
    sig = binascii.b2a_base64(mac).decode().strip().replace("+", "-").replace("/", "_").rstrip("=")
    return si + "." + sig


def _claims(**numbers):
    """The VALID token's claims as JSON text, with ``numbers`` written in verbatim (``exp="1e999"``)."""
    c = {"exp": str(T.NOW + 600), "nbf": str(T.NOW - 60), "iat": str(T.NOW - 60)}
    c.update(numbers)
    return ('{"sub":"alice","iss":"https://id.test","aud":"edge","iat":%s,"nbf":%s,"exp":%s}'
            % (c["iat"], c["nbf"], c["exp"]))


class NumericClaimTests(Refusals):
    """exp, nbf and iat are NumericDates (RFC 7519 section 2): finite numbers a clock can reach.

    A signed token with an exp of 1e999 (inf), NaN or 10**400 must not be
    accepted: its expiry cannot be scheduled. MicroPython's JSON parser has no
    NaN or Infinity (the payload is not JSON there); 1e999 is inf on both.
    """

    def test_the_helper_signs_a_token_that_verifies(self):
        self.assertEqual(verify(_signed(_claims()), KEYS, T.NOW, ISS, AUD)["sub"], "alice")

    def test_a_non_finite_exp_is_refused(self):
        for text in ("1e999", "-1e999", "1E400", "-0.0e999"):
            with self.subTest(exp=text):
                if text == "-0.0e999":
                    # -0.0: finite, and long expired
                    self.refused(_signed(_claims(exp=text)), "expired")
                else:
                    self.refused(_signed(_claims(exp=text)), "exp out of range")

    def test_nan_and_infinity_literals_are_refused_on_either_runtime(self):
        for text in ("NaN", "Infinity", "-Infinity"):
            with self.subTest(exp=text):
                tok = _signed(_claims(exp=text))
                with self.assertRaises(AuthError) as cm:
                    verify(tok, KEYS, T.NOW, ISS, AUD)
                self.assertTrue(str(cm.exception) in ("exp out of range", "payload is not base64url JSON"),
                                str(cm.exception))

    def test_a_huge_integer_exp_is_refused(self):
        for text in ("1" + "0" * 400, "253402300800", "18446744073709551616"):
            with self.subTest(exp=text[:24]):
                self.refused(_signed(_claims(exp=text)), "exp out of range")

    def test_the_last_second_of_year_9999_is_the_latest_exp(self):
        self.assertEqual(verify(_signed(_claims(exp="253402300799")), KEYS, T.NOW, ISS, AUD)["exp"], 253402300799)
        self.assertEqual(verify(_signed(_claims(exp="253402300799.0")), KEYS, T.NOW, ISS, AUD)["sub"], "alice")

    def test_a_fractional_exp_is_a_number(self):
        self.assertEqual(verify(_signed(_claims(exp=str(T.NOW) + ".5")), KEYS, T.NOW, ISS, AUD)["sub"], "alice")

    def test_a_negative_date_is_out_of_range(self):
        for name in ("exp", "nbf", "iat"):
            with self.subTest(claim=name):
                self.refused(_signed(_claims(**{name: "-1"})), "%s out of range" % name)

    def test_nbf_and_iat_are_checked_like_exp(self):
        for name in ("nbf", "iat"):
            for text in ("1e999", "-1e999", "1" + "0" * 400, "253402300800"):
                with self.subTest(claim=name, value=text[:12]):
                    self.refused(_signed(_claims(**{name: text})), "%s out of range" % name)

    def test_a_boolean_is_not_a_number(self):
        # CPython's bool is an int (True == 1); MicroPython's is not: both refuse it.
        for name in ("exp", "nbf", "iat"):
            for text in ("true", "false"):
                with self.subTest(claim=name, value=text):
                    self.refused(_signed(_claims(**{name: text})), "%s is not a number" % name)

    def test_other_types_are_not_numbers(self):
        for text in ('"1800000600"', "null", "[1800000600]", '{"t":1}'):
            with self.subTest(value=text):
                if text == "null":
                    # an absent-valued claim is the claim absent: RFC 7519 makes all three optional
                    self.assertEqual(verify(_signed(_claims(iat=text)), KEYS, T.NOW, ISS, AUD)["sub"], "alice")
                else:
                    self.refused(_signed(_claims(iat=text)), "iat is not a number")
