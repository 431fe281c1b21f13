"""edgegate.ws.frames: the RFC 6455 section 5 frame parser and writer.

Every parser test feeds its bytes split at every offset (wsproto's
``_split_frame_test``): ``data[:i]`` then ``data[i:]`` for every i. The
64 KiB frames sample the payload's interior instead (every header offset, the
payload edges and a stride), which is where the parser's behaviour can change.
"""

from edgegate.ws.buffer import RxBuffer
from edgegate.ws.errors import PayloadTooBig, ProtocolError
from edgegate.ws.frames import (
    MAX_HEADER_BYTES,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameParser,
    build_frame,
    header_len,
    remask,
    write_header,
)
from tests.portable import TestCase

KEY = b"\x37\xfa\x21\x3d"  # RFC 6455 5.7
KEY2 = b"\x01\x02\x03\x04"
MAX = 1000


def mask(data, key):
    return bytes(b ^ key[i & 3] for i, b in enumerate(data))


def frame(opcode, payload, fin=True, key=None, rsv=0):
    """A frame built by hand (independently of build_frame)."""
    n = len(payload)
    head = bytearray([(0x80 if fin else 0) | rsv | opcode])
    mbit = 0x80 if key is not None else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 0x10000:
        head.append(mbit | 126)
        head += n.to_bytes(2, "big")
    else:
        head.append(mbit | 127)
        head += n.to_bytes(8, "big")
    if key is None:
        return bytes(head) + bytes(payload)
    return bytes(head) + key + mask(payload, key)


def parse_chunks(chunks, require_mask, max_frame_bytes=MAX, size=0):
    """Feed chunks to a parser, parsing after each; return [(opcode, fin, payload)]."""
    rx = RxBuffer(size or max_frame_bytes + MAX_HEADER_BYTES)
    p = FrameParser(require_mask, max_frame_bytes)
    out = []
    for chunk in chunks:
        mv = memoryview(chunk)
        i = 0
        while True:
            k = rx.write(mv[i:])
            i += k
            while True:
                f = p.parse(rx)
                if f is None:
                    break
                out.append((f.opcode, f.fin, bytes(rx.view(f.pstart, f.pend))))
                rx.skip(f.pend - rx.start)
            if i >= len(mv):
                break
            if k == 0:
                raise AssertionError("receive buffer stuck")
    return out


def sampled_splits(n):
    pts = set(range(0, 20))
    pts.update(range(max(0, n - 5), n + 1))
    pts.update(range(0, n + 1, 4099))
    return sorted(pts)


class _FrameCase(TestCase):
    def assertFrames(self, data, expected, require_mask, max_frame_bytes=MAX, splits=None):
        points = range(len(data) + 1) if splits is None else splits
        for i in points:
            with self.subTest(split=i):
                got = parse_chunks((data[:i], data[i:]), require_mask, max_frame_bytes)
                self.assertEqual(got, expected)

    def assertParseFails(self, data, cls, code, msg, require_mask, max_frame_bytes=MAX):
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                with self.assertRaises(ProtocolError) as cm:
                    parse_chunks((data[:i], data[i:]), require_mask, max_frame_bytes)
                e = cm.exception
                self.assertIs(type(e), cls)
                self.assertEqual(e.close_code, code)
                self.assertEqual(str(e), msg)


class BaseFramingTests(_FrameCase):
    """5.2. Base Framing Protocol (examples from 5.7)."""

    def test_client_receives_unmasked_single_frame_text(self):
        self.assertFrames(b"\x81\x05Hello", [(OP_TEXT, True, b"Hello")], False)

    def test_server_receives_masked_single_frame_text(self):
        data = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
        self.assertFrames(data, [(OP_TEXT, True, b"Hello")], True)

    def test_client_receives_fragmented_unmasked_text(self):
        data = b"\x01\x03Hel\x80\x02lo"
        self.assertFrames(data, [(OP_TEXT, False, b"Hel"), (OP_CONT, True, b"lo")], False)

    def test_server_receives_fragmented_masked_binary(self):
        data = frame(OP_BINARY, b"\x00\x01\x02", False, KEY) + frame(OP_CONT, b"\xff" * 9, True, KEY2)
        expected = [(OP_BINARY, False, b"\x00\x01\x02"), (OP_CONT, True, b"\xff" * 9)]
        self.assertFrames(data, expected, True)

    def test_parser_receives_empty_payloads(self):
        self.assertFrames(b"\x82\x00", [(OP_BINARY, True, b"")], False)
        self.assertFrames(b"\x82\x80" + KEY, [(OP_BINARY, True, b"")], True)

    def test_client_receives_unmasked_ping_and_server_receives_masked_pong(self):
        self.assertFrames(b"\x89\x05Hello", [(OP_PING, True, b"Hello")], False)
        data = b"\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
        self.assertFrames(data, [(OP_PONG, True, b"Hello")], True)

    def test_server_receives_control_frame_between_fragments(self):
        data = (frame(OP_TEXT, b"ab", False, KEY) + frame(OP_PING, b"p", True, KEY2)
                + frame(OP_CONT, b"cd", True, KEY))
        expected = [(OP_TEXT, False, b"ab"), (OP_PING, True, b"p"), (OP_CONT, True, b"cd")]
        self.assertFrames(data, expected, True)

    def test_server_receives_back_to_back_frames_of_every_kind(self):
        data = b""
        expected = []
        for op, payload in ((OP_TEXT, b"x"), (OP_BINARY, b""), (OP_PING, b"123"),
                            (OP_PONG, b"4"), (OP_CLOSE, b"\x03\xe8")):
            data += frame(op, payload, True, KEY)
            expected.append((op, True, payload))
        self.assertFrames(data, expected, True)

    def test_parser_rejects_a_max_frame_bytes_of_zero(self):
        with self.assertRaises(ValueError) as cm:
            FrameParser(True, 0)
        self.assertEqual(str(cm.exception), "max_frame_bytes must be > 0")

    def test_parser_closes_1002_on_each_reserved_bit(self):
        for rsv in (0x40, 0x20, 0x10, 0x70):
            for require_mask in (True, False):
                with self.subTest(rsv=rsv, server=require_mask):
                    data = frame(OP_TEXT, b"hi", True, KEY if require_mask else None, rsv)
                    self.assertParseFails(data, ProtocolError, 1002, "reserved bits set", require_mask)

    def test_parser_closes_1002_on_reserved_opcodes(self):
        for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
            for require_mask in (True, False):
                with self.subTest(opcode=op, server=require_mask):
                    data = frame(op, b"", True, KEY if require_mask else None)
                    self.assertParseFails(data, ProtocolError, 1002, "reserved opcode %d" % op,
                                          require_mask)

    def test_parser_checks_reserved_bits_before_the_opcode(self):
        self.assertParseFails(b"\xc3\x80" + KEY, ProtocolError, 1002, "reserved bits set", True)

    def test_parser_fails_on_the_first_bad_frame_after_good_ones(self):
        data = frame(OP_TEXT, b"ok", True, KEY) + frame(OP_TEXT, b"bad", True, KEY, 0x40)
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                got = []
                rx = RxBuffer(64)
                p = FrameParser(True, 50)
                with self.assertRaises(ProtocolError) as cm:
                    for chunk in (data[:i], data[i:]):
                        rx.write(chunk)
                        f = p.parse(rx)
                        while f is not None:
                            got.append(bytes(rx.view(f.pstart, f.pend)))
                            rx.skip(f.pend - rx.start)
                            f = p.parse(rx)
                self.assertEqual(str(cm.exception), "reserved bits set")
                self.assertEqual(got, [b"ok"])


class PayloadLengthTests(_FrameCase):
    """5.2. Base Framing Protocol: payload length (7-bit, 16-bit, 64-bit, minimal encoding)."""

    def test_parser_receives_7_bit_lengths(self):
        for n in (0, 1, 124, 125):
            with self.subTest(n=n):
                payload = bytes(i & 0xFF for i in range(n))
                self.assertFrames(frame(OP_BINARY, payload, True, KEY), [(OP_BINARY, True, payload)],
                                  True)

    def test_parser_receives_16_bit_lengths(self):
        for n in (126, 127, 256):
            with self.subTest(n=n):
                payload = bytes((i * 7) & 0xFF for i in range(n))
                data = frame(OP_BINARY, payload, True, None)
                self.assertEqual(data[:4], b"\x82\x7e" + n.to_bytes(2, "big"))
                self.assertFrames(data, [(OP_BINARY, True, payload)], False)

    def test_client_receives_256_byte_binary_rfc_example(self):
        payload = bytes(range(256))
        self.assertFrames(b"\x82\x7e\x01\x00" + payload, [(OP_BINARY, True, payload)], False, 300)

    def test_parser_receives_largest_16_bit_length(self):
        payload = bytes(range(256)) * 255 + bytes(range(255))
        data = b"\x82\xfe\xff\xff" + KEY + mask(payload, KEY)
        self.assertFrames(data, [(OP_BINARY, True, payload)], True, 0xFFFF, sampled_splits(len(data)))

    def test_client_receives_64_bit_length_rfc_example(self):
        payload = bytes(range(256)) * 256
        data = b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + payload
        self.assertFrames(data, [(OP_BINARY, True, payload)], False, 0x10000, sampled_splits(len(data)))

    def test_server_receives_masked_64_bit_length(self):
        payload = bytes(range(251)) * 262
        data = frame(OP_BINARY, payload, True, KEY)
        self.assertEqual(data[1], 0xFF)
        self.assertFrames(data, [(OP_BINARY, True, payload)], True, len(payload),
                          (0, 1, 2, 9, 10, 13, 14, 15, 33333, len(data) - 1, len(data)))

    def test_parser_closes_1002_on_non_minimal_16_bit_length(self):
        for n in (0, 1, 125):
            with self.subTest(n=n):
                data = b"\x82\x7e" + n.to_bytes(2, "big") + b"x" * n
                self.assertParseFails(data, ProtocolError, 1002, "non-minimal length encoding", False)

    def test_parser_closes_1002_on_non_minimal_64_bit_length(self):
        for n in (0, 125, 126, 0xFFFF):
            with self.subTest(n=n):
                head = b"\x82\xff" + n.to_bytes(8, "big") + KEY
                # The header alone decides: no payload needs to arrive.
                self.assertParseFails(head, ProtocolError, 1002, "non-minimal length encoding", True)

    def test_parser_closes_1002_on_eight_byte_length_with_msb_set(self):
        for first in (0x80, 0xFF):
            with self.subTest(first=first):
                head = b"\x82\x7f" + bytes([first]) + b"\x00" * 6 + b"\x10"
                self.assertParseFails(head, ProtocolError, 1002,
                                      "64-bit length with the most significant bit set", False)

    def test_parser_closes_1009_on_frame_over_max_frame_bytes(self):
        for require_mask in (True, False):
            with self.subTest(server=require_mask):
                key = KEY if require_mask else None
                self.assertFrames(frame(OP_TEXT, b"x" * 100, True, key), [(OP_TEXT, True, b"x" * 100)],
                                  require_mask, 100)
                # The header alone is enough to refuse: the payload never has to arrive.
                head = frame(OP_TEXT, b"x" * 101, True, key)[:header_len(101, require_mask)]
                self.assertParseFails(head, PayloadTooBig, 1009,
                                      "frame of 101 bytes exceeds max_frame_bytes=100", require_mask, 100)

    def test_parser_closes_1009_on_huge_64_bit_length(self):
        head = b"\x82\xff" + (1 << 62).to_bytes(8, "big") + KEY
        self.assertParseFails(head, PayloadTooBig, 1009,
                              "frame of %d bytes exceeds max_frame_bytes=%d" % (1 << 62, MAX), True)

    def test_parser_checks_mask_before_length(self):
        head = b"\x82\x7f" + (1 << 62).to_bytes(8, "big")  # unmasked and too big
        self.assertParseFails(head, ProtocolError, 1002, "unmasked frame", True)

    def test_parser_receives_max_size_frames_through_an_exactly_sized_buffer(self):
        payloads = [bytes((i + j) & 0xFF for j in range(60 - i)) for i in range(5)]
        data = b"".join(frame(OP_BINARY, p, True, KEY if i & 1 else KEY2) for i, p in enumerate(payloads))
        expected = [(OP_BINARY, True, p) for p in payloads]
        for step in (1, 2, 3, 7, 13, 61, 80):
            with self.subTest(step=step):
                chunks = [data[i:i + step] for i in range(0, len(data), step)]
                self.assertEqual(parse_chunks(chunks, True, 60, 60 + MAX_HEADER_BYTES), expected)


class MaskingTests(_FrameCase):
    """5.1. Overview and 5.3. Client-to-Server Masking: masking by role, unmasking in place."""

    def test_server_closes_1002_on_unmasked_frame(self):
        for op, payload in ((OP_TEXT, b"Hello"), (OP_BINARY, b""), (OP_PING, b""), (OP_CLOSE, b"")):
            with self.subTest(opcode=op):
                self.assertParseFails(frame(op, payload), ProtocolError, 1002, "unmasked frame", True)

    def test_client_closes_1002_on_masked_frame(self):
        for op, payload in ((OP_TEXT, b"Hello"), (OP_BINARY, b""), (OP_PONG, b""), (OP_CLOSE, b"")):
            with self.subTest(opcode=op):
                self.assertParseFails(frame(op, payload, True, KEY), ProtocolError, 1002,
                                      "masked frame from server", False)

    def test_server_unmasks_the_payload_in_place(self):
        payload = b"in place, no copy"
        data = frame(OP_TEXT, payload, True, KEY)
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                rx = RxBuffer(64)
                p = FrameParser(True, 50)
                rx.write(data[:i])
                f = p.parse(rx)
                rx.write(data[i:])
                if f is None:
                    f = p.parse(rx)
                self.assertEqual((f.hstart, f.pstart, f.pend, f.length), (0, 6, 6 + len(payload), len(payload)))
                self.assertEqual(bytes(rx.buf[f.pstart:f.pend]), payload)
                self.assertEqual(bytes(rx.buf[f.hstart:f.pstart]), data[:6])  # header and key untouched

    def test_client_leaves_unmasked_payload_as_is(self):
        data = b"\x82\x04\x00\x01\x02\x03"
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                rx = RxBuffer(64)
                p = FrameParser(False, 50)
                rx.write(data[:i])
                f = p.parse(rx)
                rx.write(data[i:])
                f = f or p.parse(rx)
                self.assertEqual((f.opcode, f.fin, f.hstart, f.pstart, f.pend), (OP_BINARY, True, 0, 2, 6))
                self.assertEqual(bytes(rx.buf[0:6]), data)

    def test_parser_reports_each_frame_at_the_head_of_the_unread_bytes(self):
        data = frame(OP_TEXT, b"one", True, KEY) + frame(OP_TEXT, b"two", False, KEY2)
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                rx = RxBuffer(64)
                p = FrameParser(True, 50)
                got = []
                for chunk in (data[:i], data[i:]):
                    rx.write(chunk)
                    f = p.parse(rx)
                    while f is not None:
                        self.assertEqual(f.hstart, rx.start)
                        got.append((f.opcode, f.fin, f.pstart - f.hstart, f.pend - f.hstart,
                                    bytes(rx.view(f.pstart, f.pend)), repr(f)))
                        rx.skip(f.pend - rx.start)
                        f = p.parse(rx)
                self.assertEqual(got, [(OP_TEXT, True, 6, 9, b"one", "Frame(op=1, fin=True, len=3)"),
                                       (OP_TEXT, False, 6, 9, b"two", "Frame(op=1, fin=False, len=3)")])


class PartialPayloadTests(_FrameCase):
    """5.3. Client-to-Server Masking: unmasking a payload that is still arriving."""

    def collect(self, chunks, require_mask):
        """Feed chunks; return (pieces from partial_payload, payloads of complete frames)."""
        rx = RxBuffer(80)
        p = FrameParser(require_mask, 64)
        pieces = []
        final = []
        for chunk in chunks:
            rx.write(chunk)
            f = p.parse(rx)
            if f is None:
                v = p.partial_payload(rx)
                if v is not None:
                    self.assertTrue(len(v) > 0)
                    pieces.append(bytes(v))
                self.assertIsNone(p.partial_payload(rx))  # nothing new on a second call
            else:
                final.append(bytes(rx.view(f.pstart, f.pend)))
                rx.skip(f.pend - rx.start)
        return pieces, final

    def test_partial_payload_returns_new_unmasked_bytes_at_every_split(self):
        payload = b"0123456789abcdefghijklmnopqrstuvwxyz"
        for require_mask in (True, False):
            data = frame(OP_TEXT, payload, True, KEY if require_mask else None)
            hl = header_len(len(payload), require_mask)
            for i in range(len(data) + 1):
                for j in range(i, len(data) + 1):
                    with self.subTest(server=require_mask, i=i, j=j):
                        pieces, final = self.collect((data[:i], data[i:j], data[j:]), require_mask)
                        self.assertEqual(final, [payload])
                        early = b"".join(pieces)
                        self.assertEqual(early, payload[:len(early)])
                        # Early bytes are those present after the last chunk that left the frame incomplete.
                        last = j if j < len(data) else (i if i < len(data) else 0)
                        self.assertEqual(len(early), max(0, last - hl))

    def test_partial_payload_one_byte_at_a_time_keeps_the_mask_phase(self):
        payload = b"phase 0 1 2 3 0 1 2 3"
        data = frame(OP_TEXT, payload, True, KEY)
        pieces, final = self.collect([data[i:i + 1] for i in range(len(data))], True)
        self.assertEqual(b"".join(pieces), payload[:-1])
        self.assertEqual(final, [payload])

    def test_partial_payload_is_none_without_a_parsed_header(self):
        rx = RxBuffer(32)
        p = FrameParser(True, 16)
        self.assertIsNone(p.partial_payload(rx))
        rx.write(b"\x81")
        self.assertIsNone(p.parse(rx))
        self.assertIsNone(p.partial_payload(rx))

    def test_partial_payload_is_none_with_header_but_no_payload_yet(self):
        rx = RxBuffer(32)
        p = FrameParser(True, 16)
        rx.write(b"\x81\x83" + KEY)
        self.assertIsNone(p.parse(rx))
        self.assertEqual((p.pending_opcode, p.pending_length), (OP_TEXT, 3))
        self.assertIsNone(p.partial_payload(rx))

    def test_parser_sets_need_to_the_unit_it_waits_for(self):
        rx = RxBuffer(214)
        p = FrameParser(True, 200)
        rx.write(b"\x82")
        self.assertIsNone(p.parse(rx))
        self.assertEqual((rx.need, p.pending_opcode), (2, -1))
        rx.write(b"\xfe")
        self.assertIsNone(p.parse(rx))
        self.assertEqual((rx.need, p.pending_opcode), (8, -1))  # 2 + 16-bit length + key
        rx.write(b"\x00\x7e" + KEY)
        self.assertIsNone(p.parse(rx))
        self.assertEqual((rx.need, p.pending_opcode, p.pending_length), (134, OP_BINARY, 126))
        rx.write(bytes(126))
        f = p.parse(rx)
        self.assertEqual((f.length, rx.need, p.pending_opcode), (126, 0, -1))


class ControlFrameTests(_FrameCase):
    """5.5. Control Frames: at most 125 bytes and never fragmented."""

    def test_parser_receives_125_byte_control_frames(self):
        for op in (OP_CLOSE, OP_PING, OP_PONG):
            with self.subTest(opcode=op):
                payload = b"\x03\xe8" + b"r" * 123 if op == OP_CLOSE else b"p" * 125
                self.assertFrames(frame(op, payload, True, KEY), [(op, True, payload)], True)

    def test_parser_closes_1002_on_control_frame_over_125_bytes(self):
        for op in (OP_CLOSE, OP_PING, OP_PONG):
            for n, code in ((126, 126), (200, 126), (0x10000, 127)):
                with self.subTest(opcode=op, n=n):
                    head = frame(op, b"", True, None)[:1] + bytes([code])
                    # Refused on the first two bytes, whatever follows.
                    self.assertParseFails(head + b"\x00" * 12, ProtocolError, 1002,
                                          "control frame over 125 bytes", False)

    def test_parser_closes_1002_on_fragmented_control_frame(self):
        for op in (OP_CLOSE, OP_PING, OP_PONG):
            for require_mask in (True, False):
                with self.subTest(opcode=op, server=require_mask):
                    data = frame(op, b"x", False, KEY if require_mask else None)
                    self.assertParseFails(data, ProtocolError, 1002, "fragmented control frame",
                                          require_mask)


class WriterTests(_FrameCase):
    """5.2. Base Framing Protocol, sending side: write_header, build_frame, remask."""

    def test_header_len_covers_every_length_encoding(self):
        cases = ((0, 2), (125, 2), (126, 4), (0xFFFF, 4), (0x10000, 10), (1 << 40, 10))
        for n, hl in cases:
            with self.subTest(n=n):
                self.assertEqual(header_len(n, False), hl)
                self.assertEqual(header_len(n, True), hl + 4)

    def test_write_header_writes_each_length_encoding(self):
        cases = (
            (0, b"\x82\x00"),
            (125, b"\x82\x7d"),
            (126, b"\x82\x7e\x00\x7e"),
            (0xFFFF, b"\x82\x7e\xff\xff"),
            (0x10000, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
        )
        for n, head in cases:
            for key in (None, KEY):
                with self.subTest(n=n, masked=key is not None):
                    out = bytearray(20)
                    at = write_header(out, 3, OP_BINARY, True, n, key)
                    want = head if key is None else head[:1] + bytes([head[1] | 0x80]) + head[2:] + KEY
                    self.assertEqual(at, 3 + len(want))
                    self.assertEqual(bytes(out[3:at]), want)
                    self.assertEqual(bytes(out[:3]), b"\x00\x00\x00")

    def test_write_header_clears_fin_for_fragments(self):
        out = bytearray(2)
        write_header(out, 0, OP_TEXT, False, 3)
        self.assertEqual(bytes(out), b"\x01\x03")

    def test_build_frame_matches_the_rfc_examples(self):
        self.assertEqual(bytes(build_frame(OP_TEXT, b"Hello")), b"\x81\x05Hello")
        self.assertEqual(bytes(build_frame(OP_TEXT, b"Hello", True, KEY)),
                         b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")
        self.assertEqual(bytes(build_frame(OP_TEXT, b"Hel", False)), b"\x01\x03Hel")
        self.assertEqual(bytes(build_frame(OP_CONT, b"lo")), b"\x80\x02lo")
        self.assertEqual(bytes(build_frame(OP_PING, b"Hello")), b"\x89\x05Hello")
        self.assertEqual(bytes(build_frame(OP_PONG, b"Hello", True, KEY)),
                         b"\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")
        self.assertEqual(bytes(build_frame(OP_BINARY, bytes(256))[:4]), b"\x82\x7e\x01\x00")
        self.assertEqual(bytes(build_frame(OP_BINARY, bytes(0x10000))[:10]),
                         b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00")

    def test_build_frame_does_not_touch_the_payload(self):
        payload = bytearray(b"keep me")
        build_frame(OP_BINARY, payload, True, KEY)
        self.assertEqual(bytes(payload), b"keep me")

    def test_build_frame_round_trips_through_the_parser(self):
        for n in (0, 1, 125, 126, 1000, 0xFFFF, 0x10000):
            for fin in (True, False):
                with self.subTest(n=n, fin=fin):
                    payload = bytes((i * 31) & 0xFF for i in range(n))
                    for key in (None, KEY):
                        data = bytes(build_frame(OP_BINARY, payload, fin, key))
                        self.assertEqual(data, frame(OP_BINARY, payload, fin, key))
                        points = sampled_splits(len(data)) if n > 1000 else None
                        self.assertFrames(data, [(OP_BINARY, fin, payload)], key is not None, 0x10000, points)

    def test_remask_rewrites_a_parsed_client_frame_for_forwarding(self):
        payload = b"relay me without a copy"
        data = frame(OP_TEXT, payload, False, KEY)
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                rx = RxBuffer(64)
                p = FrameParser(True, 50)
                rx.write(data[:i])
                f = p.parse(rx)
                rx.write(data[i:])
                f = f or p.parse(rx)
                remask(rx.buf, f.pstart, f.pend, KEY2)
                out = bytes(rx.buf[f.hstart:f.pend])
                self.assertEqual(out, frame(OP_TEXT, payload, False, KEY2))
        self.assertFrames(out, [(OP_TEXT, False, payload)], True, 50)
