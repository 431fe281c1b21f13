"""edgegate.ws.connection: the sans-I/O connection, server and client roles.

Every test that feeds bytes feeds them split at every offset (``data[:i]`` then
``data[i:]``) and collects events after each read, the way the I/O layer does
(a ``Fragment`` view is only valid until the next receive call).
"""

from edgegate.ws.buffer import RxBuffer
from edgegate.ws.close import close_payload
from edgegate.ws.connection import MAX_PENDING_PONGS, Connection
from edgegate.ws.errors import LocalProtocolError, PayloadTooBig, ProtocolError
from edgegate.ws.events import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Fragment,
    Ping,
    Pong,
    TextMessage,
)
from edgegate.ws.frames import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, build_frame
from tests.portable import TestCase

KEY = b"\x37\xfa\x21\x3d"  # what the test's peer client masks with
CLIENT_KEY = b"\x01\x02\x03\x04"  # what a Connection client masks with (fixed_rand)
WIRE_REASON = {1002: "protocol error", 1007: "invalid utf-8", 1009: "message too big"}
EOF_REASON = "connection closed without a close frame"


def fixed_rand(n):
    return bytes(range(1, n + 1))


def server(assemble=True, rx_bytes=256, max_frame_bytes=200, max_message_bytes=1000):
    return Connection(False, rx_bytes, max_frame_bytes, max_message_bytes, assemble)


def client(assemble=True, rx_bytes=256, max_frame_bytes=200, max_message_bytes=1000):
    return Connection(True, rx_bytes, max_frame_bytes, max_message_bytes, assemble, fixed_rand)


def relay_server():
    return server(assemble=False)


def relay_client():
    return client(assemble=False)


def c2s(op, payload, fin=True, key=KEY):
    """A frame as a client sends it (masked)."""
    return bytes(build_frame(op, payload, fin, key))


def s2c(op, payload, fin=True):
    """A frame as a server sends it (unmasked)."""
    return bytes(build_frame(op, payload, fin))


def close_bytes(code, reason, key=None):
    return bytes(build_frame(OP_CLOSE, close_payload(code, reason), True, key))


def frag(op, fin, payload, text):
    return ("fragment", op, fin, payload, text)


def snap(events):
    """Events with Fragment views copied out (they die at the next receive call)."""
    out = []
    for e in events:
        if isinstance(e, Fragment):
            out.append(frag(e.opcode, e.fin, bytes(e.payload), e.text))
        else:
            out.append(e)
    return out


def splits(data):
    """(data[:i], data[i:]) for every i."""
    return [(i, data[:i], data[i:]) for i in range(len(data) + 1)]


def feed(conn, chunks):
    events = []
    for c in chunks:
        conn.receive_data(c)
        events.extend(snap(conn.events()))
    return events


class _ConnCase(TestCase):
    def assertReceives(self, make, data, events, sent=()):
        """Every split of data yields these events and queues these bytes."""
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = make()
                self.assertEqual(feed(conn, (data[:i], data[i:])), list(events))
                self.assertEqual(conn.data_to_send(), list(sent))
                self.assertIsNone(conn.failure)

    def assertFails(self, make, data, code, msg, events=(), sent=(), exc=ProtocolError):
        """Every split of data fails the connection with code and msg (7.1.7)."""
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = make()
                got = feed(conn, (data[:i], data[i:]))
                self.assertEqual(got, list(events) + [ConnectionFailed(code, msg)])
                key = CLIENT_KEY if conn.is_client else None
                self.assertEqual(conn.data_to_send(), list(sent) + [close_bytes(code, WIRE_REASON[code], key), b""])
                self.assertIsInstance(conn.failure, exc)
                self.assertEqual(conn.failure.close_code, code)
                self.assertEqual(str(conn.failure), msg)
                self.assertFalse(conn.can_send)
                self.assertTrue(conn.close_expected())
                # Input is discarded from the failure on.
                more = s2c(OP_TEXT, b"late") if conn.is_client else c2s(OP_TEXT, b"late")
                self.assertEqual(feed(conn, (more, b"\xff" * 300)), [])
                self.assertEqual(conn.data_to_send(), [])
                conn.receive_eof()
                self.assertEqual(conn.events(), [])
                self.assertEqual(conn.data_to_send(), [])


class ConstructionTests(TestCase):
    """Limits are checked when a connection is made (STYLE C11)."""

    def test_connection_refuses_a_buffer_that_cannot_hold_a_frame(self):
        with self.assertRaises(ValueError) as cm:
            Connection(False, 113, 100, 1000)
        self.assertEqual(str(cm.exception), "rx_bytes=113 must hold max_frame_bytes=100 plus a 14-byte header")
        Connection(False, 114, 100, 1000)

    def test_connection_refuses_a_max_message_bytes_of_zero(self):
        with self.assertRaises(ValueError) as cm:
            Connection(False, 256, 100, 0)
        self.assertEqual(str(cm.exception), "max_message_bytes must be > 0")

    def test_client_needs_rand_bytes(self):
        with self.assertRaises(ValueError) as cm:
            Connection(True, 256, 100, 1000)
        self.assertEqual(str(cm.exception), "a client needs rand_bytes for mask keys")

    def test_new_connection_has_nothing_to_report(self):
        for conn in (server(), client()):
            self.assertEqual(conn.events(), [])
            self.assertEqual(conn.data_to_send(), [])
            self.assertTrue(conn.can_send)
            self.assertFalse(conn.close_expected())


    def test_drained_lists_do_not_grow_with_later_events(self):
        for make in (server, client):
            with self.subTest(client=make is client):
                conn = make()
                events, out = conn.events(), conn.data_to_send()
                conn.receive_data(c2s(OP_PING, b"x") if make is server else s2c(OP_PING, b"x"))
                self.assertEqual((events, out), ([], []))
                self.assertEqual(conn.events(), [Ping(b"x")])
                self.assertEqual(len(conn.data_to_send()), 1)


class DataFrameTests(_ConnCase):
    """5.6. Data Frames: whole messages (assemble=True)."""

    def test_server_receives_text_message(self):
        self.assertReceives(server, c2s(OP_TEXT, "Hello \u00e9".encode("utf-8")),
                            [TextMessage("Hello \u00e9")])

    def test_server_receives_binary_message(self):
        self.assertReceives(server, c2s(OP_BINARY, b"\x00\xff\xed\xa0\x80"),
                            [BinaryMessage(b"\x00\xff\xed\xa0\x80")])

    def test_client_receives_text_and_binary_messages(self):
        data = s2c(OP_TEXT, b"Hello") + s2c(OP_BINARY, b"\x01\x02")
        self.assertReceives(client, data, [TextMessage("Hello"), BinaryMessage(b"\x01\x02")])

    def test_server_receives_empty_messages(self):
        data = c2s(OP_TEXT, b"") + c2s(OP_BINARY, b"")
        self.assertReceives(server, data, [TextMessage(""), BinaryMessage(b"")])

    def test_server_receives_16_bit_length_message(self):
        payload = bytes(i & 0xFF for i in range(200))
        self.assertReceives(server, c2s(OP_BINARY, payload), [BinaryMessage(payload)])

    def test_server_receives_several_messages_in_one_read(self):
        data = b"".join(c2s(OP_TEXT, ("m%d" % i).encode()) for i in range(5))
        self.assertReceives(server, data, [TextMessage("m%d" % i) for i in range(5)])


class FragmentationTests(_ConnCase):
    """5.4. Fragmentation: assembled messages, relayed fragments and their ordering rules."""

    def test_server_assembles_fragmented_text(self):
        data = c2s(OP_TEXT, b"Hel", False) + c2s(OP_CONT, b"l", False) + c2s(OP_CONT, b"o", True)
        self.assertReceives(server, data, [TextMessage("Hello")])

    def test_server_assembles_a_character_split_across_fragments(self):
        data = c2s(OP_TEXT, b"\xe2", False) + c2s(OP_CONT, b"\x82", False) + c2s(OP_CONT, b"\xac", True)
        self.assertReceives(server, data, [TextMessage("\u20ac")])

    def test_client_assembles_fragmented_binary_with_a_ping_between(self):
        data = s2c(OP_BINARY, b"ab", False) + s2c(OP_PING, b"p") + s2c(OP_CONT, b"cd", True)
        self.assertReceives(client, data, [Ping(b"p"), BinaryMessage(b"abcd")],
                            [c2s(OP_PONG, b"p", True, CLIENT_KEY)])

    def test_server_relays_fragments_as_views(self):
        data = (c2s(OP_TEXT, b"Hel", False) + c2s(OP_PING, b"") + c2s(OP_CONT, b"lo", True)
                + c2s(OP_BINARY, b"\xff", False) + c2s(OP_CONT, b"\xfe", True))
        events = [frag(OP_TEXT, False, b"Hel", True), Ping(b""), frag(OP_CONT, True, b"lo", True),
                  frag(OP_BINARY, False, b"\xff", False), frag(OP_CONT, True, b"\xfe", False)]
        self.assertReceives(relay_server, data, events, [s2c(OP_PONG, b"")])

    def test_client_relays_fragments_as_views(self):
        data = s2c(OP_TEXT, b"\xc3", False) + s2c(OP_CONT, b"\xa9!", True)
        self.assertReceives(relay_client, data,
                            [frag(OP_TEXT, False, b"\xc3", True), frag(OP_CONT, True, b"\xa9!", True)])

    def test_relayed_fragment_is_a_view_of_the_frame_in_the_receive_buffer(self):
        data = c2s(OP_BINARY, b"payload", False)
        for i, a, b in splits(data):
            with self.subTest(split=i):
                conn = relay_server()
                conn.receive_data(a)
                events = conn.events()
                conn.receive_data(b)
                (ev,) = events + conn.events()
                self.assertIsInstance(ev.payload, memoryview)
                self.assertEqual(bytes(ev.payload), b"payload")
                buf = conn.rx.buf
                self.assertEqual((ev.hstart, ev.pend), (0, len(data)))
                self.assertEqual(bytes(buf[ev.hstart:ev.hstart + 6]), data[:6])  # header and key as received
                self.assertEqual(bytes(buf[ev.pend - 7:ev.pend]), b"payload")  # payload unmasked in place
                ev.payload[0] = ord("P")
                self.assertEqual(bytes(buf[ev.pend - 7:ev.pend]), b"Payload")

    def test_server_closes_1002_on_continuation_without_a_message(self):
        for make in (server, relay_server):
            with self.subTest(assemble=make is server):
                self.assertFails(make, c2s(OP_CONT, b"x", True), 1002,
                                 "continuation frame without a message to continue")

    def test_server_closes_1002_on_continuation_after_a_finished_message(self):
        data = c2s(OP_TEXT, b"done") + c2s(OP_CONT, b"x", True)
        self.assertFails(server, data, 1002, "continuation frame without a message to continue",
                         [TextMessage("done")])

    def test_server_closes_1002_on_new_message_inside_a_fragmented_message(self):
        for op in (OP_TEXT, OP_BINARY):
            with self.subTest(opcode=op):
                data = c2s(OP_TEXT, b"a", False) + c2s(op, b"b", True)
                self.assertFails(server, data, 1002, "new message inside a fragmented message")
                self.assertFails(relay_server, data, 1002, "new message inside a fragmented message",
                                 [frag(OP_TEXT, False, b"a", True)])

    def test_client_closes_1002_on_new_message_inside_a_fragmented_message(self):
        data = s2c(OP_BINARY, b"a", False) + s2c(OP_TEXT, b"b", True)
        self.assertFails(client, data, 1002, "new message inside a fragmented message")

    def test_server_detects_a_bad_sequence_from_the_header_alone(self):
        # A 150-byte continuation: refused before its payload arrives.
        head = c2s(OP_CONT, b"x" * 150, True)[:8]
        self.assertFails(server, head, 1002, "continuation frame without a message to continue")


class SizeLimitTests(_ConnCase):
    """7.4.1. 1009: frames over max_frame_bytes, messages over max_message_bytes."""

    def small(self, assemble=True, is_client=False):
        return Connection(is_client, 256, 200, 20, assemble, fixed_rand)

    def test_server_receives_a_message_of_exactly_max_message_bytes(self):
        data = c2s(OP_BINARY, b"x" * 12, False) + c2s(OP_CONT, b"y" * 8, True)
        self.assertReceives(self.small, data, [BinaryMessage(b"x" * 12 + b"y" * 8)])

    def test_server_closes_1009_on_message_over_max_message_bytes_across_fragments(self):
        data = c2s(OP_TEXT, b"x" * 12, False) + c2s(OP_CONT, b"y" * 12, True)
        msg = "message of 24 bytes exceeds max_message_bytes=20"
        self.assertFails(self.small, data, 1009, msg, exc=PayloadTooBig)
        self.assertFails(lambda: self.small(False), data, 1009, msg, [frag(OP_TEXT, False, b"x" * 12, True)],
                         exc=PayloadTooBig)

    def test_client_closes_1009_on_message_over_max_message_bytes(self):
        data = s2c(OP_BINARY, b"x" * 21)
        self.assertFails(lambda: self.small(True, True), data, 1009,
                         "message of 21 bytes exceeds max_message_bytes=20", exc=PayloadTooBig)

    def test_server_closes_1009_before_an_oversized_message_arrives(self):
        head = c2s(OP_BINARY, b"x" * 150)[:8]  # only the header of a 150-byte frame
        self.assertFails(self.small, head, 1009, "message of 150 bytes exceeds max_message_bytes=20",
                         exc=PayloadTooBig)

    def test_server_counts_each_message_from_zero(self):
        data = c2s(OP_BINARY, b"a" * 15) + c2s(OP_TEXT, b"b" * 10, False) + c2s(OP_CONT, b"c" * 10)
        self.assertReceives(self.small, data, [BinaryMessage(b"a" * 15), TextMessage("b" * 10 + "c" * 10)])

    def test_server_closes_1009_on_frame_over_max_frame_bytes(self):
        head = c2s(OP_BINARY, b"x" * 201)[:8]
        for make in (server, relay_server):
            with self.subTest(assemble=make is server):
                self.assertFails(make, head, 1009, "frame of 201 bytes exceeds max_frame_bytes=200",
                                 exc=PayloadTooBig)

    def test_control_frames_do_not_count_towards_the_message(self):
        data = (c2s(OP_TEXT, b"x" * 15, False) + c2s(OP_PING, b"p" * 30) + c2s(OP_PONG, b"q" * 30)
                + c2s(OP_CONT, b"y" * 5))
        self.assertReceives(self.small, data, [Ping(b"p" * 30), Pong(b"q" * 30), TextMessage("x" * 15 + "y" * 5)],
                            [s2c(OP_PONG, b"p" * 30)])


class Utf8Tests(_ConnCase):
    """8.1. Handling Errors in UTF-8-Encoded Data: 1007, failing fast."""

    def test_server_closes_1007_on_invalid_utf8_in_a_text_frame(self):
        for bad in (b"\xff", b"ok\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3"):
            for make in (server, relay_server):
                with self.subTest(bad=bad, assemble=make is server):
                    self.assertFails(make, c2s(OP_TEXT, bad), 1007, "invalid utf-8 in text")

    def test_client_closes_1007_on_invalid_utf8(self):
        self.assertFails(client, s2c(OP_TEXT, b"\xce\xba\xed\xa0\x80"), 1007, "invalid utf-8 in text")

    def test_server_closes_1007_on_text_truncated_at_the_last_fragment(self):
        data = c2s(OP_TEXT, b"ok\xe2\x82", False) + c2s(OP_CONT, b"", True)
        self.assertFails(server, data, 1007, "invalid utf-8 in text")
        self.assertFails(relay_server, data, 1007, "invalid utf-8 in text",
                         [frag(OP_TEXT, False, b"ok\xe2\x82", True)])

    def test_server_closes_1007_at_the_fragment_holding_the_bad_byte(self):
        data = c2s(OP_TEXT, b"ok\xc3", False) + c2s(OP_CONT, b"A", False) + c2s(OP_CONT, b"zz", True)
        self.assertFails(relay_server, data, 1007, "invalid utf-8 in text",
                         [frag(OP_TEXT, False, b"ok\xc3", True)])

    def test_server_fails_fast_inside_a_text_frame_still_arriving(self):
        payload = b"hello\xffworld" + b"x" * 100
        partial = c2s(OP_TEXT, payload)[:8 + 10]  # header, key and 10 payload bytes
        for make in (server, relay_server):
            with self.subTest(assemble=make is server):
                self.assertFails(make, partial, 1007, "invalid utf-8 in text")

    def test_server_fails_fast_inside_a_continuation_still_arriving(self):
        data = c2s(OP_TEXT, b"start \xe2", False) + c2s(OP_CONT, b"\x82\xac \xed\xa0\x80" + b"x" * 150)[:8 + 8]
        self.assertFails(server, data, 1007, "invalid utf-8 in text")
        self.assertFails(relay_server, data, 1007, "invalid utf-8 in text",
                         [frag(OP_TEXT, False, b"start \xe2", True)])

    def test_server_waits_for_the_rest_of_a_valid_partial_frame(self):
        payload = ("\u00e9" * 60).encode("utf-8")
        frame = c2s(OP_TEXT, payload)
        for i in range(len(frame)):
            with self.subTest(split=i):
                conn = server()
                self.assertEqual(feed(conn, (frame[:i], frame[i:-1])), [])
                self.assertEqual(feed(conn, (frame[-1:],)), [TextMessage("\u00e9" * 60)])

    def test_server_does_not_validate_binary_messages(self):
        data = c2s(OP_BINARY, b"\xff\xc3", False) + c2s(OP_CONT, b"\xed\xa0\x80", True)
        self.assertReceives(server, data, [BinaryMessage(b"\xff\xc3\xed\xa0\x80")])

    def test_server_validates_each_message_from_a_clean_state(self):
        data = c2s(OP_TEXT, b"\xe2\x82\xac") + c2s(OP_TEXT, b"\xac")
        self.assertFails(server, data, 1007, "invalid utf-8 in text", [TextMessage("\u20ac")])


class PingPongTests(_ConnCase):
    """5.5.2. Ping and 5.5.3. Pong: a ping is answered with its payload."""

    def test_server_answers_ping_with_pong(self):
        self.assertReceives(server, c2s(OP_PING, b"Hello"), [Ping(b"Hello")], [b"\x8a\x05Hello"])

    def test_client_answers_ping_with_masked_pong(self):
        self.assertReceives(client, s2c(OP_PING, b"Hello"), [Ping(b"Hello")],
                            [c2s(OP_PONG, b"Hello", True, CLIENT_KEY)])

    def test_server_answers_each_ping_of_a_short_burst_in_order(self):
        data = c2s(OP_PING, b"1") + c2s(OP_PING, b"") + c2s(OP_PING, b"3" * 125)
        self.assertReceives(server, data, [Ping(b"1"), Ping(b""), Ping(b"3" * 125)],
                            [s2c(OP_PONG, b"1"), s2c(OP_PONG, b""), s2c(OP_PONG, b"3" * 125)])

    def test_past_the_pending_pong_bound_the_last_pong_answers_the_latest_ping(self):
        # RFC 6455 5.5.3: a pong may answer only the most recent ping.
        conn = server()
        n = MAX_PENDING_PONGS
        feed(conn, (b"".join(c2s(OP_PING, b"%d" % i) for i in range(n + 5)),))
        self.assertEqual(conn.data_to_send(),
                         [s2c(OP_PONG, b"%d" % i) for i in range(n - 1)] + [s2c(OP_PONG, b"%d" % (n + 4))])

    def test_server_answers_each_ping_whose_predecessor_pong_was_taken(self):
        conn = server()
        sent = []
        for p in (b"1", b"", b"3" * 125):
            self.assertEqual(feed(conn, (c2s(OP_PING, p),)), [Ping(p)])
            sent.extend(conn.data_to_send())
        self.assertEqual(sent, [s2c(OP_PONG, b"1"), s2c(OP_PONG, b""), s2c(OP_PONG, b"3" * 125)])

    def test_a_hundred_thousand_unanswered_pings_leave_a_bounded_few_pongs_pending(self):
        conn = server()
        burst = c2s(OP_PING, b"p" * 125) * 400
        for i in range(250):
            conn.receive_data(burst)
            conn.events()
        self.assertEqual(conn.data_to_send(), [s2c(OP_PONG, b"p" * 125)] * MAX_PENDING_PONGS)

    def test_a_pong_keeps_its_place_before_frames_queued_after_it(self):
        conn = server()
        feed(conn, (c2s(OP_PING, b"a") * (MAX_PENDING_PONGS - 1),))
        feed(conn, (c2s(OP_PING, b"b"),))
        conn.send_text("after")
        feed(conn, (c2s(OP_PING, b"c"),))
        self.assertEqual(conn.data_to_send(),
                         [s2c(OP_PONG, b"a")] * (MAX_PENDING_PONGS - 1) + [s2c(OP_PONG, b"c"), s2c(OP_TEXT, b"after")])

    def test_server_reports_pong(self):
        self.assertReceives(server, c2s(OP_PONG, b"beat"), [Pong(b"beat")])

    def test_server_does_not_answer_ping_after_sending_close(self):
        data = c2s(OP_PING, b"late")
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = server()
                conn.send_close(1001)
                self.assertEqual(feed(conn, (data[:i], data[i:])), [Ping(b"late")])
                self.assertEqual(conn.data_to_send(), [close_bytes(1001, "")])

    def test_server_closes_1002_on_control_frames_breaking_5_5(self):
        cases = (
            (c2s(OP_PING, b"x" * 126), "control frame over 125 bytes"),
            (c2s(OP_PONG, b"x", False), "fragmented control frame"),
            (c2s(OP_CLOSE, b"\x03\xe8", False), "fragmented control frame"),
        )
        for data, msg in cases:
            with self.subTest(msg=msg):
                self.assertFails(server, data, 1002, msg)


class ClosingTests(_ConnCase):
    """7.1. Definitions (7.1.1-7.1.5): the closing handshake and who closes TCP."""

    def test_server_reports_close_and_closes_tcp_after_answering(self):
        data = c2s(OP_CLOSE, close_payload(1000, "bye"))
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = server()
                self.assertEqual(feed(conn, (data[:i], data[i:])), [CloseReceived(1000, "bye")])
                self.assertEqual(conn.data_to_send(), [])
                self.assertTrue(conn.can_send)
                conn.send_close(1000)
                self.assertEqual(conn.data_to_send(), [b"\x88\x02\x03\xe8", b""])
                self.assertEqual(conn.data_to_send(), [])
                self.assertTrue(conn.close_expected())

    def test_server_starts_close_and_closes_tcp_when_answered(self):
        data = c2s(OP_CLOSE, close_payload(1001))
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = server()
                conn.send_close(1001, "going away")
                self.assertFalse(conn.can_send)
                self.assertTrue(conn.close_expected())
                self.assertEqual(conn.data_to_send(), [close_bytes(1001, "going away")])
                self.assertEqual(feed(conn, (data[:i], data[i:])), [CloseReceived(1001, "")])
                self.assertEqual(conn.data_to_send(), [b""])
                self.assertEqual(conn.data_to_send(), [])

    def test_client_starts_close_and_waits_for_the_server_to_close_tcp(self):
        data = s2c(OP_CLOSE, close_payload(1000))
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = client()
                conn.send_close(1000, "done")
                self.assertEqual(conn.data_to_send(), [close_bytes(1000, "done", CLIENT_KEY)])
                self.assertEqual(feed(conn, (data[:i], data[i:])), [CloseReceived(1000, "")])
                self.assertEqual(conn.data_to_send(), [])
                conn.receive_eof()
                self.assertEqual(conn.events(), [])
                self.assertEqual(conn.data_to_send(), [b""])
                self.assertEqual(conn.data_to_send(), [])

    def test_client_answers_close_without_closing_tcp(self):
        data = s2c(OP_CLOSE, close_payload(1001, "restart"))
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = client()
                self.assertEqual(feed(conn, (data[:i], data[i:])), [CloseReceived(1001, "restart")])
                conn.send_close(1001)
                self.assertEqual(conn.data_to_send(), [close_bytes(1001, "", CLIENT_KEY)])
                conn.receive_eof()
                self.assertEqual(conn.events(), [])
                self.assertEqual(conn.data_to_send(), [b""])

    def test_server_reports_empty_close_as_1005_and_answers_with_an_empty_close(self):
        for i, a, b in splits(c2s(OP_CLOSE, b"")):
            with self.subTest(split=i):
                conn = server()
                self.assertEqual(feed(conn, (a, b)), [CloseReceived(1005, "")])
                conn.send_close(1005)
                self.assertEqual(conn.data_to_send(), [b"\x88\x00", b""])

    def test_server_discards_input_after_the_close_frame(self):
        data = c2s(OP_TEXT, b"before") + c2s(OP_CLOSE, b"\x03\xe8") + c2s(OP_TEXT, b"after") + b"\xff" * 10
        self.assertReceives(server, data, [TextMessage("before"), CloseReceived(1000, "")])

    def test_server_closes_1002_on_a_1_byte_close_payload(self):
        self.assertFails(server, c2s(OP_CLOSE, b"\x03"), 1002, "close frame with a 1-byte payload")

    def test_server_closes_1002_on_a_close_code_a_peer_must_not_send(self):
        for code in (999, 1004, 1005, 1006, 1015, 2999, 5000):
            with self.subTest(code=code):
                self.assertFails(server, c2s(OP_CLOSE, bytes([code >> 8, code & 0xFF])), 1002,
                                 "invalid close code %d" % code)

    def test_server_closes_1007_on_a_close_reason_that_is_not_utf8(self):
        self.assertFails(server, c2s(OP_CLOSE, b"\x03\xe8\xed\xa0\x80"), 1007, "invalid utf-8")

    def test_server_reports_1006_on_eof_without_a_close_frame(self):
        for make in (server, client):
            with self.subTest(client=make is client):
                conn = make()
                conn.receive_eof()
                self.assertEqual(conn.events(), [ConnectionFailed(1006, EOF_REASON)])
                self.assertEqual(conn.data_to_send(), [])
                self.assertTrue(conn.close_expected())
                conn.receive_eof()
                self.assertEqual(conn.events(), [])
                conn.receive_data(c2s(OP_TEXT, b"late"))
                self.assertEqual(conn.events(), [])

    def test_server_reports_1006_on_eof_after_sending_close(self):
        conn = server()
        conn.send_close(1000)
        self.assertEqual(conn.data_to_send(), [b"\x88\x02\x03\xe8"])
        conn.receive_eof()
        self.assertEqual(conn.events(), [ConnectionFailed(1006, EOF_REASON)])
        self.assertEqual(conn.data_to_send(), [b""])

    def test_server_reports_1006_on_eof_inside_a_frame(self):
        data = c2s(OP_TEXT, b"cut short")
        for n in range(1, len(data)):
            for i, a, b in splits(data[:n]):
                with self.subTest(n=n, split=i):
                    conn = server()
                    self.assertEqual(feed(conn, (a, b)), [])
                    conn.receive_eof()
                    self.assertEqual(conn.events(), [ConnectionFailed(1006, EOF_REASON)])

    def test_server_reports_nothing_more_on_eof_after_a_close_frame(self):
        for i, a, b in splits(c2s(OP_CLOSE, b"\x03\xe8")):
            with self.subTest(split=i):
                conn = server()
                self.assertEqual(feed(conn, (a, b)), [CloseReceived(1000, "")])
                conn.receive_eof()
                self.assertEqual(conn.events(), [])

    def test_server_failing_after_its_close_sends_no_second_close(self):
        for i, a, b in splits(c2s(OP_CONT, b"x")):
            with self.subTest(split=i):
                conn = server()
                conn.send_close(1001)
                self.assertEqual(conn.data_to_send(), [close_bytes(1001, "")])
                self.assertEqual(feed(conn, (a, b)),
                                 [ConnectionFailed(1002, "continuation frame without a message to continue")])
                self.assertEqual(conn.data_to_send(), [b""])

    def test_send_after_close_raises_local_protocol_error(self):
        sends = (
            lambda c: c.send_text("x"),
            lambda c: c.send_binary(b"x"),
            lambda c: c.send_frame(OP_TEXT, b"x", True),
            lambda c: c.send_ping(b""),
            lambda c: c.send_close(1000),
        )
        for make in (server, client):
            for n, send in enumerate(sends):
                with self.subTest(client=make is client, send=n):
                    conn = make()
                    conn.send_close(1000)
                    with self.assertRaises(LocalProtocolError) as cm:
                        send(conn)
                    self.assertEqual(str(cm.exception), "cannot send after the close frame")
                    self.assertEqual(len(conn.data_to_send()), 1)

    def test_send_after_failure_raises_local_protocol_error(self):
        for i, a, b in splits(c2s(OP_CONT, b"x")):
            with self.subTest(split=i):
                conn = server()
                feed(conn, (a, b))
                with self.assertRaises(LocalProtocolError) as cm:
                    conn.send_text("x")
                self.assertEqual(str(cm.exception), "cannot send after the close frame")

    def test_server_defers_the_close_frame_when_asked(self):
        for i, a, b in splits(s2c(OP_TEXT, b"unmasked")):
            with self.subTest(split=i):
                conn = Connection(False, 256, 200, 1000, True, None, None, True)
                self.assertEqual(feed(conn, (a, b)), [ConnectionFailed(1002, "unmasked frame")])
                self.assertEqual(conn.data_to_send(), [])
                self.assertTrue(conn.can_send)
                self.assertEqual(feed(conn, (c2s(OP_TEXT, b"late"),)), [])
                conn.send_close(conn.failure.close_code, conn.failure.reason)
                self.assertEqual(conn.data_to_send(), [close_bytes(1002, "protocol error"), b""])


class FailTests(_ConnCase):
    """7.1.7. Fail the WebSocket Connection: one close frame, a ConnectionFailed event, then silence."""

    def test_server_closes_1002_on_unmasked_frame(self):
        self.assertFails(server, s2c(OP_TEXT, b"Hello"), 1002, "unmasked frame")

    def test_server_sends_the_exact_close_frame_on_failure(self):
        for i, a, b in splits(b"\x81\x05Hello"):
            with self.subTest(split=i):
                conn = server()
                feed(conn, (a, b))
                self.assertEqual(conn.data_to_send(), [b"\x88\x10\x03\xeaprotocol error", b""])

    def test_client_closes_1002_on_masked_frame(self):
        self.assertFails(client, c2s(OP_TEXT, b"Hello"), 1002, "masked frame from server")

    def test_client_sends_a_masked_close_frame_on_failure(self):
        for i, a, b in splits(c2s(OP_TEXT, b"Hello")):
            with self.subTest(split=i):
                conn = client()
                feed(conn, (a, b))
                (close, eof) = conn.data_to_send()
                self.assertEqual(close[:6], b"\x88\x90\x01\x02\x03\x04")
                self.assertEqual(eof, b"")

    def test_server_closes_1002_on_reserved_bits_and_opcodes(self):
        cases = [(b"\xc1\x80" + KEY, "reserved bits set"), (b"\xa1\x80" + KEY, "reserved bits set"),
                 (b"\x91\x80" + KEY, "reserved bits set")]
        for op in (3, 7, 0xB, 0xF):
            cases.append((bytes([0x80 | op, 0x80]) + KEY, "reserved opcode %d" % op))
        for data, msg in cases:
            for make in (server, relay_server):
                with self.subTest(data=data, assemble=make is server):
                    self.assertFails(make, data, 1002, msg)

    def test_server_closes_1002_on_non_minimal_lengths(self):
        cases = (
            (b"\x82\xfe\x00\x05" + KEY + b"x" * 5, "non-minimal length encoding"),
            (b"\x82\xff" + (100).to_bytes(8, "big") + KEY, "non-minimal length encoding"),
            (b"\x82\xff\x80" + bytes(7) + KEY, "64-bit length with the most significant bit set"),
        )
        for data, msg in cases:
            with self.subTest(msg=msg):
                self.assertFails(server, data, 1002, msg)

    def test_server_reports_frames_before_the_failure(self):
        data = c2s(OP_TEXT, b"ok") + c2s(OP_PING, b"p") + s2c(OP_TEXT, b"unmasked")
        self.assertFails(server, data, 1002, "unmasked frame", [TextMessage("ok"), Ping(b"p")],
                         [s2c(OP_PONG, b"p")])


class SendingTests(TestCase):
    """5.2 and 5.3: what a connection writes (clients mask with a fresh key per frame)."""

    def test_server_sends_unmasked_frames(self):
        conn = server()
        conn.send_text("Hello")
        conn.send_text(b"\xc3\xa9")
        conn.send_binary(b"\x00\x01")
        conn.send_frame(OP_TEXT, b"Hel", False)
        conn.send_frame(OP_CONT, b"lo", True)
        conn.send_ping(b"p")
        self.assertEqual(conn.data_to_send(), [b"\x81\x05Hello", b"\x81\x02\xc3\xa9", b"\x82\x02\x00\x01",
                                               b"\x01\x03Hel", b"\x80\x02lo", b"\x89\x01p"])
        self.assertEqual(conn.data_to_send(), [])

    def test_client_sends_masked_frames(self):
        conn = client()
        conn.send_text("Hello")
        self.assertEqual(conn.data_to_send(), [c2s(OP_TEXT, b"Hello", True, CLIENT_KEY)])

    def test_client_takes_a_new_mask_key_for_every_frame(self):
        calls = []

        def counting_rand(n):
            calls.append(n)
            return bytes([len(calls)]) * n

        conn = Connection(True, 256, 200, 1000, True, counting_rand)
        conn.send_binary(b"a")
        conn.send_ping(b"b")
        conn.send_close(1000)
        out = conn.data_to_send()
        self.assertEqual(calls, [4, 4, 4])
        self.assertEqual([bytes(o[2:6]) for o in out], [b"\x01" * 4, b"\x02" * 4, b"\x03" * 4])

    def test_send_frame_refuses_control_opcodes(self):
        for op in (OP_CLOSE, OP_PING, OP_PONG):
            with self.subTest(opcode=op):
                with self.assertRaises(LocalProtocolError) as cm:
                    server().send_frame(op, b"", True)
                self.assertEqual(str(cm.exception), "send_frame is for data frames")

    def test_send_ping_refuses_more_than_125_bytes(self):
        conn = server()
        conn.send_ping(b"x" * 125)
        with self.assertRaises(LocalProtocolError) as cm:
            conn.send_ping(b"x" * 126)
        self.assertEqual(str(cm.exception), "ping payload over 125 bytes")
        self.assertEqual(len(conn.data_to_send()), 1)

    def test_client_messages_reach_a_server_intact_at_every_split(self):
        a = client()
        a.send_text("h\u00e9llo")
        a.send_frame(OP_BINARY, b"\x00" * 130, False)
        a.send_ping(b"?")
        a.send_frame(OP_CONT, b"\xff", True)
        a.send_close(1000, "done")
        data = b"".join(bytes(b) for b in a.data_to_send())
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                b = server()
                self.assertEqual(feed(b, (data[:i], data[i:])), [
                    TextMessage("h\u00e9llo"), Ping(b"?"), BinaryMessage(b"\x00" * 130 + b"\xff"),
                    CloseReceived(1000, "done")])

    def test_server_messages_reach_a_client_intact_at_every_split(self):
        a = server()
        a.send_binary(b"bin")
        a.send_text("t")
        a.send_close(4000, "bye")
        data = b"".join(bytes(b) for b in a.data_to_send())
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                b = client()
                self.assertEqual(feed(b, (data[:i], data[i:])),
                                 [BinaryMessage(b"bin"), TextMessage("t"), CloseReceived(4000, "bye")])


class ReceiveBufferTests(_ConnCase):
    """5.2 on a bounded buffer: frames through a buffer only just big enough, zero-copy reads."""

    def tight(self, assemble=True):
        return Connection(False, 64, 50, 1000, assemble)

    def test_server_receives_through_a_tight_buffer_in_any_chunking(self):
        whole = "a\u00e9\u20ac\U0001f600" * 20  # 200 bytes; frame cuts split characters
        raw = whole.encode("utf-8")
        parts = [raw[i:i + 50] for i in range(0, len(raw), 50)]
        data = b"".join(c2s(OP_TEXT if i == 0 else OP_CONT, p, i == len(parts) - 1)
                        for i, p in enumerate(parts))
        for step in (1, 2, 3, 5, 7, 11, 50, 56, 63, 64, 65, len(data)):
            with self.subTest(step=step):
                chunks = [data[i:i + step] for i in range(0, len(data), step)]
                self.assertEqual(feed(self.tight(), chunks), [TextMessage(whole)])
                relay = feed(self.tight(False), chunks)
                self.assertEqual([e[3] for e in relay], parts)
                self.assertEqual([e[2] for e in relay], [False, False, False, True])

    def test_server_relays_fragments_intact_from_a_read_larger_than_the_buffer(self):
        data = (c2s(OP_BINARY, b"a" * 40, False) + c2s(OP_PING, b"p") + c2s(OP_CONT, b"b" * 40, False)
                + c2s(OP_CONT, b"c" * 40, True))
        conn = self.tight(False)
        conn.receive_data(data)  # 145 bytes through a 64-byte buffer in one call
        events = conn.events()
        self.assertEqual(snap(events), [frag(OP_BINARY, False, b"a" * 40, False), Ping(b"p"),
                                        frag(OP_CONT, False, b"b" * 40, False),
                                        frag(OP_CONT, True, b"c" * 40, False)])
        # Fragments whose frame a later write could overwrite carry copies.
        self.assertEqual([(type(e.payload), e.hstart, e.pend) for e in events if isinstance(e, Fragment)][:2],
                         [(bytes, 0, 0), (bytes, 0, 0)])

    def test_server_reads_into_the_receive_buffer_without_a_copy(self):
        data = c2s(OP_TEXT, b"zero") + c2s(OP_PING, b"copy")
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                conn = server()
                events = []
                for chunk in (data[:i], data[i:]):
                    tail = conn.rx_tail()
                    tail[:len(chunk)] = chunk
                    conn.rx_commit(len(chunk))
                    events.extend(conn.events())
                self.assertEqual(events, [TextMessage("zero"), Ping(b"copy")])
                self.assertEqual(conn.data_to_send(), [s2c(OP_PONG, b"copy")])

    def test_server_without_a_lent_buffer_parses_nothing_until_one_is_lent(self):
        conn = Connection(False, 256, 200, 1000, True, None, None, False, False)
        self.assertIsNone(conn.rx)
        conn.receive_buffered()
        self.assertEqual(conn.events(), [])
        conn.rx = RxBuffer(256)
        conn.rx.write(c2s(OP_TEXT, b"lent"))
        conn.receive_buffered()
        self.assertEqual(conn.events(), [TextMessage("lent")])

    def test_server_drops_buffered_bytes_after_a_failure(self):
        for i, a, b in splits(c2s(OP_CONT, b"x")):
            with self.subTest(split=i):
                conn = server()
                self.assertEqual(feed(conn, (a, b)),
                                 [ConnectionFailed(1002, "continuation frame without a message to continue")])
                tail = conn.rx_tail()
                tail[:6] = c2s(OP_PING, b"")
                conn.rx_commit(6)
                self.assertEqual(conn.events(), [])
                self.assertEqual(len(conn.rx), 0)
