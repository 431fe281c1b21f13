"""edgegate.ws.errors: typed errors carry their wire outcome."""

from edgegate.ws.errors import (
    EdgegateError,
    HandshakeError,
    InvalidUtf8,
    LocalProtocolError,
    PayloadTooBig,
    ProtocolError,
)
from tests.portable import TestCase


class ErrorTests(TestCase):
    """7.4.1. Defined Status Codes: each error names the close code or HTTP status to send."""

    def test_protocol_errors_carry_close_code_and_wire_reason(self):
        cases = ((ProtocolError, 1002, "protocol error"), (PayloadTooBig, 1009, "message too big"),
                 (InvalidUtf8, 1007, "invalid utf-8"))
        for cls, code, reason in cases:
            with self.subTest(cls=cls.__name__):
                e = cls("details for the log")
                self.assertEqual((e.close_code, e.reason, str(e)), (code, reason, "details for the log"))
                self.assertIsInstance(e, ProtocolError)
                self.assertIsInstance(e, EdgegateError)

    def test_protocol_error_close_code_can_be_overridden_per_instance(self):
        e = ProtocolError("policy", 1008)
        self.assertEqual(e.close_code, 1008)
        self.assertEqual(ProtocolError("x").close_code, 1002)

    def test_handshake_error_carries_status_and_headers(self):
        e = HandshakeError("no Host header")
        self.assertEqual((e.status, tuple(e.headers), str(e)), (400, (), "no Host header"))
        e = HandshakeError("method is not GET", 405, (("Allow", "GET"),))
        self.assertEqual((e.status, e.headers), (405, (("Allow", "GET"),)))
        self.assertIsInstance(e, EdgegateError)

    def test_local_protocol_error_is_not_a_peer_error(self):
        e = LocalProtocolError("cannot send after the close frame")
        self.assertIsInstance(e, EdgegateError)
        self.assertFalse(isinstance(e, ProtocolError))
