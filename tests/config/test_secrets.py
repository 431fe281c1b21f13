"""edgegate.config.secrets: PBKDF2 password hashes, their format, redaction."""

import binascii

from edgegate import rt
from edgegate.config import secrets
from edgegate.config.secrets import check_password, hash_password, is_secret, parse_hash, redact
from tests.portable import TestCase

PW = "correct horse"
SALT = b"0123456789abcdef"
# PBKDF2-HMAC-SHA256("correct horse", SALT, 1000), from CPython's hashlib.pbkdf2_hmac.
KNOWN = "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M="
B64_8 = "QUFBQUFBQUE="  # b"AAAAAAAA"
B64_32 = binascii.b2a_base64(b"\x01" * 32).strip().decode()


class const_eq_spy:
    """Counts calls to rt.const_eq while in the with block (restored on exit)."""

    def __enter__(self):
        self.calls = []
        self.real = rt.const_eq

        def spy(a, b):
            self.calls.append((bytes(a), bytes(b)))
            return self.real(a, b)

        rt.const_eq = spy
        return self

    def __exit__(self, *exc):
        rt.const_eq = self.real
        return False


class HashTests(TestCase):
    def test_hash_password_matches_a_known_pbkdf2_sha256_value(self):
        self.assertEqual(hash_password(PW, SALT, 1000), KNOWN)

    def test_hash_password_matches_the_rfc_7914_test_vector(self):
        # RFC 7914 11: PBKDF2-HMAC-SHA256(P="passwd", S="salt", c=1), first 32 bytes.
        stored = hash_password("passwd", b"salt", 1)
        digest = binascii.a2b_base64(stored.split("$")[3])
        self.assertEqual(binascii.hexlify(digest),
                         b"55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")

    def test_hash_password_writes_prefix_iterations_salt_and_hash(self):
        stored = hash_password(PW, iterations=1000)
        parts = stored.split("$")
        self.assertEqual(len(parts), 4)
        self.assertEqual(parts[:2], ["pbkdf2-sha256", "1000"])
        iterations, salt, digest = parse_hash(stored)
        self.assertEqual((iterations, len(salt), len(digest)), (1000, 16, 32))

    def test_hash_password_draws_a_fresh_salt_each_time(self):
        a = hash_password(PW, iterations=1000)
        b = hash_password(PW, iterations=1000)
        self.assertNotEqual(a, b)
        self.assertNotEqual(parse_hash(a)[1], parse_hash(b)[1])

    def test_hash_password_hashes_non_ascii_as_utf8(self):
        stored = hash_password("pässwörd€", SALT, 1000)
        self.assertTrue(check_password("pässwörd€", stored))
        self.assertFalse(check_password("passwort€", stored))

    def test_stored_hash_never_contains_the_password(self):
        self.assertTrue(PW not in hash_password(PW, SALT, 1000))


class CheckTests(TestCase):
    def test_check_password_accepts_the_right_password(self):
        self.assertTrue(check_password(PW, KNOWN))

    def test_check_password_refuses_wrong_passwords(self):
        for pw in ("wrong", "", "correct horse ", "Correct horse", "correct hors"):
            with self.subTest(pw=pw):
                self.assertIs(check_password(pw, KNOWN), False)

    def test_check_password_compares_digests_in_constant_time(self):
        with const_eq_spy() as spy:
            self.assertTrue(check_password(PW, KNOWN))
            self.assertFalse(check_password("wrong", KNOWN))
        self.assertEqual(len(spy.calls), 2)
        digest = parse_hash(KNOWN)[2]
        for computed, stored in spy.calls:
            self.assertEqual(stored, digest)
            self.assertEqual(len(computed), 32)
        self.assertEqual(spy.calls[0][0], digest)

    def test_check_password_against_a_malformed_hash_is_false(self):
        for stored in (None, "", "hunter2", "pbkdf2-sha256$1000$%s$QUFB" % B64_8, 42):
            with self.subTest(stored=stored):
                with const_eq_spy() as spy:
                    self.assertIs(check_password(PW, stored), False)
                self.assertEqual(spy.calls, [])

    def test_const_eq_compares_whole_strings(self):
        self.assertTrue(rt.const_eq(b"abc", b"abc"))
        self.assertFalse(rt.const_eq(b"abc", b"abd"))
        self.assertFalse(rt.const_eq(b"abc", b"ab"))
        self.assertTrue(rt.const_eq(b"", b""))


class ParseHashTests(TestCase):
    def test_parse_hash_returns_iterations_salt_and_digest(self):
        iterations, salt, digest = parse_hash(KNOWN)
        self.assertEqual((iterations, salt), (1000, SALT))
        self.assertEqual(len(digest), 32)

    def test_parse_hash_refuses_malformed_hashes_saying_why(self):
        fmt = "not a pbkdf2-sha256$ITERATIONS$SALT$HASH string"
        for stored, msg in (
            (None, fmt),
            (1000, fmt),
            ("", fmt),
            ("hunter2", fmt),
            ("pbkdf2-sha256$1000$%s" % B64_8, fmt),
            ("pbkdf2-sha256$1000$%s$%s$x" % (B64_8, B64_32), fmt),
            ("pbkdf2-sha1$1000$%s$%s" % (B64_8, B64_32), fmt),
            ("pbkdf2-sha256$-1000$%s$%s" % (B64_8, B64_32), fmt),
            ("pbkdf2-sha256$1e4$%s$%s" % (B64_8, B64_32), fmt),
            ("pbkdf2-sha256$$%s$%s" % (B64_8, B64_32), fmt),
            ("pbkdf2-sha256$999$%s$%s" % (B64_8, B64_32), "iterations must be from 1000 to 10000000"),
            ("pbkdf2-sha256$10000001$%s$%s" % (B64_8, B64_32), "iterations must be from 1000 to 10000000"),
            ("pbkdf2-sha256$1000$QUFBQUFBQUE$%s" % B64_32, "salt or hash is not base64"),
            ("pbkdf2-sha256$1000$QUFBQUFBQQ==$%s" % B64_32, "salt under 8 bytes or hash not 32 bytes"),
            ("pbkdf2-sha256$1000$%s$QUFB" % B64_8, "salt under 8 bytes or hash not 32 bytes"),
            ("pbkdf2-sha256$1000$%s$%s" % (B64_8, B64_8), "salt under 8 bytes or hash not 32 bytes"),
        ):
            with self.subTest(stored=stored):
                with self.assertRaises(ValueError) as cm:
                    parse_hash(stored)
                self.assertEqual(str(cm.exception), msg)

    def test_parse_hash_accepts_the_iteration_bounds(self):
        for n in (1000, 10000000):
            with self.subTest(iterations=n):
                self.assertEqual(parse_hash("pbkdf2-sha256$%d$%s$%s" % (n, B64_8, B64_32))[0], n)


class RedactTests(TestCase):
    def doc(self):
        return {"listen": [{"port": 1, "plaintext": True}],
                "console": {"password_hash": KNOWN, "max_failures": 3}}

    def test_redact_replaces_the_password_hash(self):
        out = redact(self.doc())
        self.assertEqual(out["console"], {"password_hash": "<hashed>", "max_failures": 3})
        self.assertEqual(out["listen"], [{"port": 1, "plaintext": True}])

    def test_redact_never_leaves_any_part_of_the_hash(self):
        text = rt.json_dumps(redact(self.doc()))
        for part in KNOWN.split("$")[1:]:
            with self.subTest(part=part):
                self.assertTrue(part not in text)
        self.assertTrue("pbkdf2" not in text)

    def test_redact_returns_a_copy_and_leaves_the_document_alone(self):
        d = self.doc()
        out = redact(d)
        out["listen"][0]["port"] = 2
        self.assertEqual(d, self.doc())

    def test_redact_of_a_document_without_secrets_is_an_equal_copy(self):
        for d in ({}, {"listen": []}, {"console": {}}, {"console": {"max_failures": 3}}, {"console": "x"}):
            with self.subTest(doc=d):
                self.assertEqual(redact(d), d)

    def test_is_secret_names_only_the_password_hash(self):
        self.assertTrue(is_secret("console.password_hash"))
        for path in ("console", "console.max_failures", "password_hash", "console.password_hash.x",
                     "routes[0].backend.url", ""):
            with self.subTest(path=path):
                self.assertFalse(is_secret(path))

    def test_secret_paths_are_all_redacted(self):
        for path in secrets.SECRET_PATHS:
            d = {}
            node = d
            for p in path[:-1]:
                node[p] = {}
                node = node[p]
            node[path[-1]] = "secret"
            with self.subTest(path=path):
                self.assertTrue("secret" not in rt.json_dumps(redact(d)))
