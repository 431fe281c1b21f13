"""edgegate.ws.utf8: incremental strict UTF-8 validation (RFC 3629) for RFC 6455 text.

Each case runs against the portable ``Utf8Dfa``, ``Utf8Validator`` with
``use_native=False`` and with ``use_native=True`` (CPython's incremental
decoder; on MicroPython the runtime has none and the validator uses the DFA).
"""

from edgegate import rt
from edgegate.ws.errors import InvalidUtf8
from edgegate.ws.utf8 import Utf8Dfa, Utf8Validator, decode_utf8
from tests.portable import TestCase

KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"  # "κόσμε", Autobahn 6.x

VALID = (
    ("empty", b""),
    ("ascii", b"Hello-\x00\x7f"),
    ("kosme", KOSME),
    ("autobahn 6.2", "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")),
    ("U+0080 first 2-byte", b"\xc2\x80"),
    ("U+07FF last 2-byte", b"\xdf\xbf"),
    ("U+0800 first 3-byte", b"\xe0\xa0\x80"),
    ("U+D7FF before surrogates", b"\xed\x9f\xbf"),
    ("U+E000 after surrogates", b"\xee\x80\x80"),
    ("U+FFFD", b"\xef\xbf\xbd"),
    ("U+FFFE noncharacter", b"\xef\xbf\xbe"),
    ("U+FFFF noncharacter", b"\xef\xbf\xbf"),
    ("U+10000 first 4-byte", b"\xf0\x90\x80\x80"),
    ("U+40000 lead F1", b"\xf1\x80\x80\x80"),
    ("U+FFFFF lead F3", b"\xf3\xbf\xbf\xbf"),
    ("U+10FFFF last code point", b"\xf4\x8f\xbf\xbf"),
    ("emoji", b"\xf0\x9f\x98\x80 ok"),
)

# (name, data, index of the first byte at which no valid continuation exists)
INVALID = (
    ("lone continuation 80", b"\x80", 0),
    ("lone continuation BF", b"a\xbf", 1),
    ("two continuations", b"\x80\xbf", 0),
    ("lead C0", b"\xc0\x80", 0),
    ("lead C1", b"\xc1\xbf", 0),
    ("lonely start C0 20", b"\xc0 ", 0),
    ("lonely start DF 20", b"\xdf ", 1),
    ("lonely start E0 20", b"\xe0 ", 1),
    ("lonely start F0 20", b"\xf0 ", 1),
    ("overlong / in 3 bytes", b"\xe0\x80\xaf", 1),
    ("max overlong 3 bytes", b"\xe0\x9f\xbf", 1),
    ("overlong / in 4 bytes", b"\xf0\x80\x80\xaf", 1),
    ("max overlong 4 bytes", b"\xf0\x8f\xbf\xbf", 1),
    ("overlong 5 bytes", b"\xf8\x80\x80\x80\xaf", 0),
    ("overlong 6 bytes", b"\xfc\x80\x80\x80\x80\xaf", 0),
    ("surrogate U+D800", b"\xed\xa0\x80", 1),
    ("surrogate U+DB7F", b"\xed\xad\xbf", 1),
    ("surrogate U+DFFF", b"\xed\xbf\xbf", 1),
    ("paired surrogates", b"\xed\xa0\x80\xed\xb0\x80", 1),
    ("kosme then surrogate (6.3.1)", KOSME + b"\xed\xa0\x80edited", 12),
    ("above U+10FFFF", b"\xf4\x90\x80\x80", 1),
    ("lead F1 then ascii", b"\xf1\x80A", 2),
    ("lead F3 then lead", b"\xf3\xc0", 1),
    ("lead F5", b"\xf5\x80\x80\x80", 0),
    ("lead F7", b"\xf7\xbf\xbf\xbf", 0),
    ("impossible FE", b"\xfe", 0),
    ("impossible FF", b"ok\xff", 2),
    ("FE FE FF FF", b"\xfe\xfe\xff\xff", 0),
    ("missing continuation then ascii", b"\xc3A", 1),
    ("3-byte missing last then ascii", b"\xe2\x82A", 2),
    ("4-byte missing last then ascii", b"\xf0\x9f\x98A", 3),
    ("continuation after complete char", b"\xc3\xa9\xa9", 2),
)

# Valid prefixes that are invalid only because the message ends there.
TRUNCATED = (
    ("2-byte cut", b"\xc3"),
    ("3-byte cut after 1", b"\xe2"),
    ("3-byte cut after 2", b"\xe2\x82"),
    ("4-byte cut after 3", b"\xf0\x9f\x98"),
    ("kosme cut", KOSME[:-1]),
)


def dfa_accepts(data, final):
    d = Utf8Dfa()
    return d.feed(data) and (not final or d.complete())


def validator_accepts(native, chunks, final=True):
    v = Utf8Validator(use_native=native)
    try:
        for i, c in enumerate(chunks):
            v.feed(c, final and i == len(chunks) - 1)
    except InvalidUtf8 as e:
        return e
    return None


def first_failing_prefix(native, data):
    """Length of the shortest prefix a validator refuses as a non-final feed, or -1."""
    for n in range(1, len(data) + 1):
        v = Utf8Validator(use_native=native)
        try:
            v.feed(data[:n], False)
        except InvalidUtf8:
            return n
    return -1


class _Utf8Case(TestCase):
    def assertValidEverywhere(self, data):
        self.assertTrue(dfa_accepts(data, True))
        for native in (False, True):
            with self.subTest(native=native):
                self.assertIsNone(validator_accepts(native, (data,)))
                for i in range(len(data) + 1):
                    self.assertIsNone(validator_accepts(native, (data[:i], data[i:])))
                self.assertIsNone(validator_accepts(native, [data[i:i + 1] for i in range(len(data))]))


class Utf8ValidTests(_Utf8Case):
    """RFC 3629 3. UTF-8 definition: every well-formed sequence passes, however it is split."""

    def test_validator_accepts_valid_text_split_at_every_offset(self):
        for name, data in VALID:
            with self.subTest(name=name):
                self.assertValidEverywhere(data)

    def test_validator_accepts_every_boundary_code_point_in_one_message(self):
        self.assertValidEverywhere(b"".join(d for _, d in VALID))

    def test_dfa_keeps_state_across_feeds(self):
        d = Utf8Dfa()
        self.assertTrue(d.feed(b"\xf0\x9f"))
        self.assertFalse(d.complete())
        self.assertTrue(d.feed(b"\x98"))
        self.assertTrue(d.feed(b"\x80"))
        self.assertTrue(d.complete())

    def test_validator_reset_starts_a_new_message(self):
        for native in (False, True):
            with self.subTest(native=native):
                v = Utf8Validator(use_native=native)
                v.feed(b"\xe2\x82", False)
                v.reset()
                v.feed(b"ok", True)

    def test_validator_prefixes_of_kosme_are_valid_only_at_character_boundaries(self):
        # Autobahn 6.6: each prefix of a valid text, as a whole message.
        boundaries = (0, 2, 5, 7, 9, 11)
        for n in range(len(KOSME) + 1):
            for native in (False, True):
                with self.subTest(n=n, native=native):
                    err = validator_accepts(native, (KOSME[:n],))
                    self.assertEqual(err is None, n in boundaries)
                    self.assertEqual(dfa_accepts(KOSME[:n], True), n in boundaries)


class Utf8InvalidTests(_Utf8Case):
    """RFC 6455 8.1 and RFC 3629 3: no overlongs, surrogates or code points above U+10FFFF (1007)."""

    def test_validator_refuses_invalid_text_split_at_every_offset(self):
        for name, data, _ in INVALID:
            with self.subTest(name=name):
                self.assertFalse(dfa_accepts(data, True))
                for native in (False, True):
                    for i in range(len(data) + 1):
                        err = validator_accepts(native, (data[:i], data[i:]))
                        self.assertIsInstance(err, InvalidUtf8)
                        self.assertEqual(err.close_code, 1007)
                        self.assertEqual(str(err), "invalid utf-8 in text")

    def test_validator_refuses_truncated_text_only_at_final(self):
        for name, data in TRUNCATED:
            with self.subTest(name=name):
                self.assertTrue(dfa_accepts(data, False))
                self.assertFalse(dfa_accepts(data, True))
                for native in (False, True):
                    self.assertIsNone(validator_accepts(native, (data,), final=False))
                    self.assertIsInstance(validator_accepts(native, (data,)), InvalidUtf8)
                    self.assertIsInstance(validator_accepts(native, (data, b"")), InvalidUtf8)

    def test_dfa_fails_at_the_first_bad_byte(self):
        for name, data, bad in INVALID:
            with self.subTest(name=name):
                self.assertTrue(dfa_accepts(data[:bad], False))
                self.assertFalse(dfa_accepts(data[:bad + 1], False))

    def test_validator_fails_fast_at_the_first_bad_byte_across_feeds(self):
        for name, data, bad in INVALID:
            for native in (False, True):
                with self.subTest(name=name, native=native):
                    n = first_failing_prefix(native, data)
                    if native and rt.utf8_decoder is not None and data[bad - 1:bad] == b"\xed":
                        # CPython's decoder takes ED A0..BF as a prefix and refuses
                        # at the next byte: still inside the bad sequence.
                        self.assertEqual(n, bad + 2)
                    else:
                        self.assertEqual(n, bad + 1)

    def test_validator_fails_on_the_feed_with_the_bad_byte_not_at_the_end(self):
        # Autobahn 6.4.1-6.4.4: the invalid chunk fails before the rest arrives.
        cases = (
            (KOSME, b"\xf4\x90\x80\x80", b"edited"),
            (KOSME + b"\xf4", b"\x90", b"\x80\x80edited"),
            (KOSME, b"\xed\xa0\x80", b"edited"),
            (b"ok", b"\xc0\xaf", b"edited"),
        )
        for a, b, c in cases:
            for native in (False, True):
                with self.subTest(chunk=b, native=native):
                    v = Utf8Validator(use_native=native)
                    v.feed(a, False)
                    with self.assertRaises(InvalidUtf8) as cm:
                        v.feed(b, False)
                    self.assertEqual(cm.exception.close_code, 1007)

    def test_validator_accepts_memoryviews(self):
        data = bytearray(b"x" + KOSME + b"\xed\xa0\x80")
        mv = memoryview(data)
        for native in (False, True):
            with self.subTest(native=native):
                v = Utf8Validator(use_native=native)
                v.feed(mv[1:12], True)
                with self.assertRaises(InvalidUtf8):
                    Utf8Validator(use_native=native).feed(mv[1:], True)


class DecodeUtf8Tests(TestCase):
    """RFC 6455 5.5.1: a close reason is UTF-8, checked in one piece."""

    def test_decode_utf8_returns_text(self):
        self.assertEqual(decode_utf8(KOSME), "\u03ba\u1f79\u03c3\u03bc\u03b5")
        self.assertEqual(decode_utf8(memoryview(b"xbye")[1:]), "bye")
        self.assertEqual(decode_utf8(b""), "")

    def test_decode_utf8_raises_1007_on_invalid_text(self):
        for name, data, _ in INVALID:
            with self.subTest(name=name):
                with self.assertRaises(InvalidUtf8) as cm:
                    decode_utf8(data)
                self.assertEqual(cm.exception.close_code, 1007)
                self.assertEqual(str(cm.exception), "invalid utf-8")
        for name, data in TRUNCATED:
            with self.subTest(name=name):
                with self.assertRaises(InvalidUtf8):
                    decode_utf8(data)
