"""edgegate.ws.events: plain event classes compared by value."""

from edgegate.ws.events import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Fragment,
    Ping,
    Pong,
    TextMessage,
    UpgradeRequest,
)
from tests.portable import TestCase


class EventTests(TestCase):
    """Events (no RFC section: the API of the sans-I/O core, STYLE C9)."""

    def test_events_compare_by_type_and_fields(self):
        self.assertEqual(TextMessage("a"), TextMessage("a"))
        self.assertNotEqual(TextMessage("a"), TextMessage("b"))
        self.assertNotEqual(Ping(b"x"), Pong(b"x"))
        self.assertNotEqual(BinaryMessage(b"x"), b"x")
        self.assertEqual(CloseReceived(1000), CloseReceived(1000, ""))
        self.assertNotEqual(CloseReceived(1000, "a"), CloseReceived(1001, "a"))
        self.assertNotEqual(ConnectionFailed(1002, "x"), CloseReceived(1002, "x"))

    def test_fragment_compares_opcode_fin_and_payload_only(self):
        self.assertEqual(Fragment(1, True, b"p", True, 0, 9), Fragment(1, True, b"p", False, 5, 7))
        self.assertNotEqual(Fragment(1, True, b"p", True), Fragment(1, False, b"p", True))

    def test_events_repr_names_type_and_fields(self):
        self.assertEqual(repr(CloseReceived(1000, "bye")), "CloseReceived(1000, 'bye')")
        self.assertEqual(repr(ConnectionFailed(1002, "unmasked frame")), "ConnectionFailed(1002, 'unmasked frame')")
        self.assertEqual(repr(Ping(b"")), "Ping(b'')")

    def test_upgrade_request_finds_the_first_header_by_lowercase_name(self):
        req = UpgradeRequest("GET", "/p", "q=1", [("host", "h"), ("x-a", "1"), ("x-a", "2")], "k", ["chat"])
        self.assertEqual(req.header("x-a"), "1")
        self.assertIsNone(req.header("X-A"))
        self.assertEqual(req.header("cookie", "none"), "none")
        self.assertEqual(req, UpgradeRequest("POST", "/p", "q=1", [], "k", ["chat"]))
        self.assertNotEqual(req, UpgradeRequest("GET", "/p", "", [], "k", ["chat"]))
