"""edgegate.ws.close: close codes and close frame payloads."""

from edgegate.ws.close import MAX_REASON_BYTES, close_payload, parse_close, valid_close_code
from edgegate.ws.errors import InvalidUtf8, ProtocolError
from tests.portable import TestCase

VALID_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
               3000, 3999, 4000, 4999)
INVALID_CODES = (0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)


def truncated(chars, limit):
    """The longest run of whole characters that fits in limit bytes, encoded."""
    out = b""
    for c in chars:
        b = c.encode("utf-8")
        if len(out) + len(b) > limit:
            break
        out += b
    return out


class StatusCodeTests(TestCase):
    """7.4. Status Codes: what a peer may put in a close frame (7.4.1, 7.4.2)."""

    def test_valid_close_code_accepts_defined_and_application_codes(self):
        for code in VALID_CODES:
            with self.subTest(code=code):
                self.assertTrue(valid_close_code(code))

    def test_valid_close_code_refuses_reserved_and_unassigned_codes(self):
        for code in INVALID_CODES:
            with self.subTest(code=code):
                self.assertFalse(valid_close_code(code))


class ParseCloseTests(TestCase):
    """5.5.1. Close: an optional 2-byte code, then an optional UTF-8 reason."""

    def test_parse_close_reads_an_empty_payload_as_1005(self):
        self.assertEqual(parse_close(b""), (1005, ""))

    def test_parse_close_reads_code_and_reason(self):
        self.assertEqual(parse_close(b"\x03\xe8"), (1000, ""))
        self.assertEqual(parse_close(b"\x03\xe9going away"), (1001, "going away"))
        self.assertEqual(parse_close(b"\x0f\xa0\xce\xba\xe1\xbd\xb9"), (4000, "\u03ba\u1f79"))
        self.assertEqual(parse_close(memoryview(b"\x13\x87bye")), (4999, "bye"))

    def test_parse_close_reads_a_123_byte_reason(self):
        reason = "r" * 121 + "\u00e9"
        self.assertEqual(parse_close(b"\x03\xe8" + reason.encode("utf-8")), (1000, reason))

    def test_parse_close_closes_1002_on_a_1_byte_payload(self):
        for payload in (b"\x03", b"\x00"):
            with self.subTest(payload=payload):
                with self.assertRaises(ProtocolError) as cm:
                    parse_close(payload)
                self.assertIs(type(cm.exception), ProtocolError)
                self.assertEqual(cm.exception.close_code, 1002)
                self.assertEqual(str(cm.exception), "close frame with a 1-byte payload")

    def test_parse_close_closes_1002_on_a_code_a_peer_must_not_send(self):
        for code in INVALID_CODES:
            with self.subTest(code=code):
                with self.assertRaises(ProtocolError) as cm:
                    parse_close(bytes([code >> 8, code & 0xFF]) + b"reason")
                self.assertIs(type(cm.exception), ProtocolError)
                self.assertEqual(cm.exception.close_code, 1002)
                self.assertEqual(str(cm.exception), "invalid close code %d" % code)

    def test_parse_close_closes_1007_on_a_reason_that_is_not_utf8(self):
        for reason in (b"\xff", b"ok\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"):
            with self.subTest(reason=reason):
                with self.assertRaises(InvalidUtf8) as cm:
                    parse_close(b"\x03\xe8" + reason)
                self.assertEqual(cm.exception.close_code, 1007)
                self.assertEqual(str(cm.exception), "invalid utf-8")


class ClosePayloadTests(TestCase):
    """5.5.1. Close: the payload edgegate sends (code, then at most 123 bytes of reason)."""

    def test_close_payload_writes_code_and_reason(self):
        self.assertEqual(close_payload(1000), b"\x03\xe8")
        self.assertEqual(close_payload(1002, "protocol error"), b"\x03\xeaprotocol error")
        self.assertEqual(close_payload(4999, b"raw"), b"\x13\x87raw")
        self.assertEqual(close_payload(1001, "\u00e9"), b"\x03\xe9\xc3\xa9")

    def test_close_payload_for_1005_is_empty(self):
        self.assertEqual(close_payload(1005), b"")
        self.assertEqual(close_payload(1005, "ignored"), b"")

    def test_close_payload_keeps_a_123_byte_reason_whole(self):
        for reason in ("r" * 123, "r" * 121 + "\u00e9", "r" * 119 + "\U0001f600"):
            with self.subTest(n=len(reason)):
                self.assertEqual(close_payload(1000, reason), b"\x03\xe8" + reason.encode("utf-8"))

    def test_close_payload_truncates_ascii_to_123_bytes(self):
        self.assertEqual(close_payload(1000, "x" * 500), b"\x03\xe8" + b"x" * MAX_REASON_BYTES)

    def test_close_payload_truncates_at_the_last_whole_character(self):
        for ch in ("\u00e9", "\u20ac", "\U0001f600"):
            for lead in range(110, 124):
                reason = "a" * lead + ch * 6
                with self.subTest(char=ch, lead=lead):
                    want = truncated(reason, MAX_REASON_BYTES)
                    got = close_payload(1000, reason)
                    self.assertEqual(got, b"\x03\xe8" + want)
                    self.assertTrue(len(want) > MAX_REASON_BYTES - len(ch.encode("utf-8")))
                    self.assertEqual(parse_close(got), (1000, want.decode("utf-8")))
