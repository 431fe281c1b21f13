"""RFC 6455 section 5 frames: incremental parser over an RxBuffer, and a header writer.

The parser peeks at the head of the buffer, validates the header in wire order
(RSV, opcode, mask, control rules, minimal length, 64-bit MSB, max_frame_bytes)
before reserving payload space, and yields a complete frame as offsets into the
buffer with its payload unmasked in place. A frame never exceeds
``max_frame_bytes``, which the caller keeps below the buffer size minus 14.
The parser reuses one ``Frame`` object: its fields are valid until the next call.
"""

from edgegate.rt import apply_mask, const

from .errors import PayloadTooBig, ProtocolError

OP_CONT = const(0x0)
OP_TEXT = const(0x1)
OP_BINARY = const(0x2)
OP_CLOSE = const(0x8)
OP_PING = const(0x9)
OP_PONG = const(0xA)

MAX_HEADER_BYTES = const(14)
MAX_CONTROL_PAYLOAD = const(125)


class Frame:
    """A parsed frame: absolute offsets into the buffer it was parsed from."""

    __slots__ = ("fin", "opcode", "hstart", "pstart", "pend", "masked")

    def __init__(self):
        self.masked = False  # payload left masked (FrameParser.unmask_binary off)
        self.fin = True
        self.opcode = 0
        self.hstart = 0
        self.pstart = 0
        self.pend = 0

    @property
    def length(self):
        return self.pend - self.pstart

    def __repr__(self):
        return "Frame(op=%d, fin=%s, len=%d)" % (self.opcode, self.fin, self.pend - self.pstart)


class FrameParser:
    """Parses frames for one direction.

    ``require_mask`` is True on the server side (RFC 6455 5.1: client frames are
    masked) and False on the client side (server frames must not be).
    With ``unmask_binary`` False, binary payloads (and continuations of a
    binary message: the caller keeps ``text_cont`` current) stay masked and the
    frame says so: a relay that does not look at them re-masks them in one pass.
    """

    __slots__ = ("require_mask", "max_frame_bytes", "frame", "key", "pending_opcode", "_hlen", "_plen",
                 "_unmasked", "unmask_binary", "text_cont")

    def __init__(self, require_mask, max_frame_bytes):
        if max_frame_bytes <= 0:
            raise ValueError("max_frame_bytes must be > 0")
        self.require_mask = require_mask
        self.max_frame_bytes = max_frame_bytes
        self.frame = Frame()
        self.key = bytearray(4)
        # The incomplete frame at the head of the buffer, once its header is valid.
        self.pending_opcode = -1
        self._hlen = 0
        self._plen = 0
        self._unmasked = 0
        self.unmask_binary = True
        self.text_cont = False

    @property
    def pending_length(self):
        """Payload length of the incomplete frame whose header is parsed."""
        return self._plen

    def parse(self, rx):
        """Return the next complete frame at the head of rx, or None if more bytes are needed.

        The frame's bytes stay in rx until the caller calls ``rx.skip(frame.pend - rx.start)``.
        Raises:
            ProtocolError, PayloadTooBig: the header breaks RFC 6455 or the limits.
        """
        if self.pending_opcode < 0 and not self._header(rx):
            return None
        total = self._hlen + self._plen
        if rx.end - rx.start < total:
            rx.need = total
            return None
        f = self.frame
        f.hstart = rx.start
        f.pstart = rx.start + self._hlen
        f.pend = rx.start + total
        f.masked = False
        if self.require_mask and self._unmasked < self._plen:
            op = self.pending_opcode
            if not self.unmask_binary and (op == OP_BINARY or (op == OP_CONT and not self.text_cont)):
                f.masked = True
            else:
                apply_mask(rx.buf, self.key, f.pstart + self._unmasked, f.pend, self._unmasked & 3)
        self.pending_opcode = -1
        self._unmasked = 0
        rx.need = 0
        return f

    def partial_payload(self, rx):
        """Unmask and return the newly arrived payload bytes of the incomplete frame.

        Lets text validation fail before a large frame has fully arrived.
        Returns None when no new payload bytes are available.
        """
        if self.pending_opcode < 0:
            return None
        pstart = rx.start + self._hlen
        avail = min(rx.end - pstart, self._plen)
        if avail <= self._unmasked:
            return None
        a = pstart + self._unmasked
        b = pstart + avail
        if self.require_mask:
            apply_mask(rx.buf, self.key, a, b, self._unmasked & 3)
        self._unmasked = avail
        return rx.mv[a:b]

    def _header(self, rx):
        n = rx.end - rx.start
        if n < 2:
            rx.need = 2
            return False
        buf = rx.buf
        s = rx.start
        b0 = buf[s]
        b1 = buf[s + 1]
        # RFC 6455 5.2: RSV1-3 MUST be 0 unless an extension is negotiated (none are).
        if b0 & 0x70:
            raise ProtocolError("reserved bits set")
        opcode = b0 & 0x0F
        if opcode > OP_BINARY and opcode < OP_CLOSE or opcode > OP_PONG:
            raise ProtocolError("reserved opcode %d" % opcode)
        masked = b1 & 0x80
        if self.require_mask and not masked:
            # RFC 6455 5.1: a server MUST close on an unmasked frame.
            raise ProtocolError("unmasked frame")
        if masked and not self.require_mask:
            # RFC 6455 5.1: a client MUST close on a masked frame.
            raise ProtocolError("masked frame from server")
        fin = b0 & 0x80
        length = b1 & 0x7F
        if opcode >= OP_CLOSE:
            # RFC 6455 5.5: control frames are unfragmented and at most 125 bytes.
            if not fin:
                raise ProtocolError("fragmented control frame")
            if length > MAX_CONTROL_PAYLOAD:
                raise ProtocolError("control frame over %d bytes" % MAX_CONTROL_PAYLOAD)
        hlen = 2
        if length == 126:
            hlen = 4
        elif length == 127:
            hlen = 10
        if masked:
            hlen += 4
        if n < hlen:
            rx.need = hlen
            return False
        if length == 126:
            length = (buf[s + 2] << 8) | buf[s + 3]
            if length < 126:
                raise ProtocolError("non-minimal length encoding")
        elif length == 127:
            if buf[s + 2] & 0x80:
                raise ProtocolError("64-bit length with the most significant bit set")
            length = int.from_bytes(rx.mv[s + 2:s + 10], "big")
            if length < 0x10000:
                raise ProtocolError("non-minimal length encoding")
        if length > self.max_frame_bytes:
            raise PayloadTooBig(
                "frame of %d bytes exceeds max_frame_bytes=%d" % (length, self.max_frame_bytes)
            )
        if masked:
            k = s + hlen - 4
            self.key[:] = rx.mv[k:k + 4]
        f = self.frame
        f.fin = bool(fin)
        f.opcode = opcode
        self.pending_opcode = opcode
        self._hlen = hlen
        self._plen = length
        self._unmasked = 0
        return True


def header_len(length, masked):
    """Bytes the header of a frame with this payload length takes."""
    n = 2 if length < 126 else (4 if length < 0x10000 else 10)
    return n + 4 if masked else n


def write_header(out, at, opcode, fin, length, mask_key=None):
    """Write a frame header into the preallocated ``out`` at offset ``at``.

    Returns the offset just past the header. ``mask_key`` (4 bytes) sets the
    mask bit; the caller masks the payload with ``apply_mask``.
    """
    out[at] = (0x80 if fin else 0) | opcode
    mbit = 0x80 if mask_key is not None else 0
    if length < 126:
        out[at + 1] = mbit | length
        at += 2
    elif length < 0x10000:
        out[at + 1] = mbit | 126
        out[at + 2] = length >> 8
        out[at + 3] = length & 0xFF
        at += 4
    else:
        out[at + 1] = mbit | 127
        out[at + 2:at + 10] = length.to_bytes(8, "big")
        at += 10
    if mask_key is not None:
        out[at:at + 4] = mask_key
        at += 4
    return at


def build_frame(opcode, payload, fin=True, mask_key=None):
    """A whole frame as a new bytearray (control frames and app sends; not the relay path)."""
    n = len(payload)
    out = bytearray(header_len(n, mask_key is not None) + n)
    at = write_header(out, 0, opcode, fin, n, mask_key)
    out[at:] = payload
    if mask_key is not None:
        apply_mask(out, mask_key, at, at + n)
    return out


def remask(buf, pstart, pend, new_key, masked=False):
    """Re-mask a parsed client frame for forwarding as a client.

    Overwrites the frame's own key bytes (just before ``pstart``) and masks its
    payload in place, so the frame is written on as-is: no header rebuilt, no
    copy. A payload still ``masked`` with its old key takes old XOR new in one pass.
    """
    key = new_key
    if masked:
        key = _KEY
        k = pstart - 4
        for i in range(4):  # small ints: no allocation
            key[i] = buf[k + i] ^ new_key[i]
    buf[pstart - 4:pstart] = new_key
    apply_mask(buf, key, pstart, pend)


_KEY = bytearray(4)  # scratch for remask: used and finished within one call

