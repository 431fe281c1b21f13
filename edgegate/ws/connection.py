"""Sans-I/O WebSocket connection: bytes in, events and bytes out (RFC 6455 5-7).

``receive_data``/``rx_commit`` feed bytes, ``events()`` drains what they produced,
``data_to_send()`` drains the bytes to write (``b""`` means: close the TCP
connection now). Peer errors never raise out of ``receive_*``: they queue a close
frame and a ``ConnectionFailed`` event, and input is discarded from then on.

Two modes: ``assemble=True`` yields whole ``TextMessage``/``BinaryMessage``
events (buffered up to ``max_message_bytes``); ``assemble=False`` yields each
validated data frame as a ``Fragment`` whose payload is a view into the receive
buffer (the relay path: nothing is copied). Text is validated incrementally,
including the partial payload of a frame still arriving.
"""

from edgegate.rt import const

from .buffer import RxBuffer
from .close import ABNORMAL, NO_STATUS, close_payload, parse_close, valid_close_code
from .errors import LocalProtocolError, PayloadTooBig, ProtocolError
from .events import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Fragment,
    Ping,
    Pong,
    TextMessage,
)
from .frames import (
    MAX_HEADER_BYTES,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameParser,
    build_frame,
)
from .utf8 import Utf8Validator

_NO_MESSAGE = const(-1)
# Pongs queued and not yet taken by data_to_send(); past this the last one is
# replaced by the newest (a peer's burst of a few pings still gets each answered).
MAX_PENDING_PONGS = const(16)


class Connection:
    """One side of one WebSocket connection.

    Args:
        is_client: True when this side is the client (it masks what it sends).
        rx_bytes: receive buffer size; must exceed max_frame_bytes + 14.
        max_frame_bytes: largest frame accepted (1009 above it).
        max_message_bytes: largest message accepted, across fragments (1009).
        assemble: yield whole messages (True) or validated fragments (False).
        rand_bytes: callable giving n random bytes; required for clients (mask keys).
        rx: the receive buffer to parse, instead of one of its own; with
            ``own_rx=False`` it may be None or swapped between receive calls (a
            buffer lent from a pool while bytes are in flight).
        raw_binary: in relay mode, leave binary payloads masked (``Fragment.masked``)
            for a relay that forwards them unread (see ``frames.remask``).
        defer_fail_close: on a peer error, do not queue the close frame; the caller
            sends it with ``send_close(conn.failure.close_code, ...)`` when ready
            (a gateway first lets the backend answer what the peer sent before
            the bad frame). Input is discarded from the error on either way.
    """

    __slots__ = ("is_client", "rx", "parser", "max_message_bytes", "assemble", "rand_bytes",
                 "defer_fail_close", "_events", "_out", "close_sent", "close_rcvd", "failure", "eof",
                 "_discard", "_eof_queued", "_msg_op", "_msg_bytes", "_fed", "_utf8", "_parts", "_pong_at", "_pongs")

    def __init__(self, is_client, rx_bytes, max_frame_bytes, max_message_bytes,
                 assemble=True, rand_bytes=None, rx=None, defer_fail_close=False, own_rx=True, raw_binary=False):
        if max_frame_bytes + MAX_HEADER_BYTES > rx_bytes:
            raise ValueError(
                "rx_bytes=%d must hold max_frame_bytes=%d plus a %d-byte header"
                % (rx_bytes, max_frame_bytes, MAX_HEADER_BYTES)
            )
        if max_message_bytes <= 0:
            raise ValueError("max_message_bytes must be > 0")
        if is_client and rand_bytes is None:
            raise ValueError("a client needs rand_bytes for mask keys")
        self.is_client = is_client
        self.rx = rx if rx is not None or not own_rx else RxBuffer(rx_bytes)
        self.parser = FrameParser(not is_client, max_frame_bytes)
        if raw_binary:
            if assemble:
                raise ValueError("raw_binary is for relaying connections (assemble=False)")
            self.parser.unmask_binary = False
        self.max_message_bytes = max_message_bytes
        self.assemble = assemble
        self.rand_bytes = rand_bytes
        self.defer_fail_close = defer_fail_close
        self._events = []
        self._out = []
        self._pong_at = -1  # where in _out the last unsent pong is
        self._pongs = 0  # unsent pongs (at most MAX_PENDING_PONGS)
        self.close_sent = False
        self.close_rcvd = 0  # the code received, 0 until then
        self.failure = None
        self.eof = False
        self._discard = False
        self._eof_queued = False
        self._msg_op = _NO_MESSAGE
        self._msg_bytes = 0
        self._fed = 0  # payload bytes of the pending frame already validated
        self._utf8 = None  # made at the first text message
        self._parts = bytearray() if assemble else None

    # ---- receiving -------------------------------------------------------

    def receive_data(self, data):
        """Feed bytes read from the peer (copies them into the receive buffer).

        Data larger than the free buffer is written in several goes; a
        ``Fragment`` reported before the last go then carries a copy of its
        payload and ``hstart == pend == 0`` (the next go may overwrite its frame).
        """
        mv = memoryview(data)
        i = 0
        n = len(mv)
        while i < n and not self._discard:
            if i and self._parts is None:
                self._detach_fragments()
            k = self.rx.write(mv[i:])
            if k == 0:  # pragma: no cover - impossible while rx_bytes > max_frame_bytes + 14
                self._fail(PayloadTooBig("receive buffer full"))
                return
            i += k
            self._parse()

    def _detach_fragments(self):
        # The next write may compact the buffer over frames already reported.
        for e in self._events:
            if type(e) is Fragment and type(e.payload) is memoryview:
                e.payload = bytes(e.payload)
                e.hstart = e.pend = 0

    def rx_tail(self):
        """Writable view to read into directly (zero-copy path); then call ``rx_commit``."""
        return self.rx.tail()

    def rx_commit(self, n):
        """Parse n bytes that were read into ``rx_tail()``."""
        self.rx.commit(n)
        self.receive_buffered()

    def receive_buffered(self):
        """Parse bytes a zero-copy reader already committed into ``rx``."""
        if self.rx is None:
            return
        if self._discard:
            self.rx.clear()
            return
        self._parse()

    def receive_eof(self):
        """The peer closed the TCP connection."""
        if self.eof:
            return
        self.eof = True
        if not self.close_rcvd and self.failure is None:
            self._discard = True
            self._events.append(ConnectionFailed(ABNORMAL, "connection closed without a close frame"))

    def events(self):
        """Return and clear the events produced so far ([] means: need more bytes)."""
        ev = self._events
        if ev:
            self._events = []
            return ev
        return []  # not the queue itself: later events must not appear in it

    def _parse(self):
        rx = self.rx
        parser = self.parser
        try:
            while not self._discard:
                f = parser.parse(rx)
                if f is None:
                    if parser.pending_opcode >= 0:
                        self._check_pending()
                    return
                self._on_frame(f)
                rx.skip(f.pend - rx.start)
        except ProtocolError as e:
            self._fail(e)

    def _check_pending(self):
        # A data frame whose header is valid but whose payload is still arriving:
        # enforce the message limit and UTF-8 now rather than after it has all come.
        parser = self.parser
        op = parser.pending_opcode
        if op >= OP_CLOSE:
            return
        self._check_sequence(op)
        total = (self._msg_bytes if op == OP_CONT else 0) + parser.pending_length
        if total > self.max_message_bytes:
            self._too_big(total)
        if op == OP_TEXT or (op == OP_CONT and self._msg_op == OP_TEXT):
            view = parser.partial_payload(self.rx)
            if view is not None:
                if op == OP_TEXT and self._fed == 0:
                    self._new_text()
                self._utf8.feed(view, False)
                self._fed += len(view)

    def _check_sequence(self, op):
        if op == OP_CONT:
            if self._msg_op == _NO_MESSAGE:
                raise ProtocolError("continuation frame without a message to continue")
        elif self._msg_op != _NO_MESSAGE:
            raise ProtocolError("new message inside a fragmented message")

    def _too_big(self, n):
        raise PayloadTooBig(
            "message of %d bytes exceeds max_message_bytes=%d" % (n, self.max_message_bytes)
        )

    def _on_frame(self, f):
        op = f.opcode
        if op >= OP_CLOSE:
            payload = self.rx.mv[f.pstart:f.pend]
            if op == OP_CLOSE:
                code, reason = parse_close(payload)
                self.close_rcvd = code
                self._discard = True
                self._events.append(CloseReceived(code, reason))
            elif op == OP_PING:
                data = bytes(payload)
                if not self.close_sent:
                    # RFC 6455 5.5.3: a pong may answer only the most recent ping, so
                    # a ping flood costs a few pending pongs, not one per ping.
                    pong = self._frame(OP_PONG, data, True)
                    if self._pongs >= MAX_PENDING_PONGS:
                        self._out[self._pong_at] = pong
                    else:
                        self._pongs += 1
                        self._pong_at = len(self._out)
                        self._out.append(pong)
                self._events.append(Ping(data))
            else:
                self._events.append(Pong(bytes(payload)))
            return
        self._check_sequence(op)
        fed = self._fed
        self._fed = 0
        if op != OP_CONT:
            self._msg_op = op
            self._msg_bytes = 0
            if op == OP_TEXT and fed == 0:
                self._new_text()
        n = f.pend - f.pstart
        self._msg_bytes += n
        if self._msg_bytes > self.max_message_bytes:
            self._too_big(self._msg_bytes)
        text = self._msg_op == OP_TEXT
        if text:
            self._utf8.feed(self.rx.mv[f.pstart + fed:f.pend], f.fin)
        if f.fin:
            self._msg_op = _NO_MESSAGE
        self.parser.text_cont = self._msg_op == OP_TEXT
        if self._parts is None:
            self._events.append(Fragment(op, f.fin, None, text, f.hstart, f.pend, f.masked, self.rx.mv, f.pstart))
            return
        self._parts += self.rx.mv[f.pstart:f.pend]
        if f.fin:
            data = bytes(self._parts)
            self._parts = bytearray()
            self._events.append(TextMessage(data.decode("utf-8")) if text else BinaryMessage(data))

    def _new_text(self):
        if self._utf8 is None:
            self._utf8 = Utf8Validator()
        else:
            self._utf8.reset()

    def _fail(self, e):
        self.failure = e
        self._discard = True
        self.rx.clear()
        if not self.close_sent and not self.defer_fail_close:
            self._queue_close(e.close_code, e.reason)
        self._events.append(ConnectionFailed(e.close_code, str(e)))

    # ---- sending ---------------------------------------------------------

    def _frame(self, opcode, payload, fin):
        key = self.rand_bytes(4) if self.is_client else None
        return build_frame(opcode, payload, fin, key)

    def _check_can_send(self):
        if self.close_sent:
            raise LocalProtocolError("cannot send after the close frame")

    def send_text(self, data):
        """Queue a text message (str or UTF-8 bytes) as one frame."""
        self._check_can_send()
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._out.append(self._frame(OP_TEXT, data, True))

    def send_binary(self, data):
        """Queue a binary message as one frame."""
        self._check_can_send()
        self._out.append(self._frame(OP_BINARY, data, True))

    def send_frame(self, opcode, payload, fin):
        """Queue one data frame (text, binary or continuation) as given."""
        self._check_can_send()
        if opcode >= OP_CLOSE:
            raise LocalProtocolError("send_frame is for data frames")
        self._out.append(self._frame(opcode, payload, fin))

    def send_ping(self, payload=b""):
        """Queue a ping (payload of at most 125 bytes)."""
        self._check_can_send()
        if len(payload) > 125:
            raise LocalProtocolError("ping payload over 125 bytes")
        self._out.append(self._frame(OP_PING, payload, True))

    def send_close(self, code=1000, reason=""):
        """Start or answer the closing handshake; 1005 sends an empty close.

        Raises:
            LocalProtocolError: a code no endpoint may send (1006, 1015, <1000, ...).
        """
        self._check_can_send()
        if code != NO_STATUS and not valid_close_code(code):
            raise LocalProtocolError("close code %d may not be sent" % code)
        self._queue_close(code, reason)

    def _queue_close(self, code, reason):
        self.close_sent = True
        self._out.append(self._frame(OP_CLOSE, close_payload(code, reason), True))

    def data_to_send(self):
        """Return and clear the bytes to write; a trailing b"" means: close TCP now.

        The server closes TCP first once the closing handshake is complete or
        the connection failed (RFC 6455 7.1.1); a client waits for the server.
        """
        out = self._out
        self._pong_at = -1
        self._pongs = 0
        if out:
            self._out = []
        else:
            out = []  # not the queue itself: later output must not appear in it
        if not self._eof_queued and self.close_sent and (
            self.failure is not None or (self.close_rcvd and not self.is_client) or self.eof
        ):
            self._eof_queued = True
            out.append(b"")
        return out

    @property
    def can_send(self):
        """True while data frames may still be sent (no close sent yet)."""
        return not self.close_sent

    def close_expected(self):
        """True once the I/O layer should arm a timer to drop TCP if the peer stalls."""
        return self.close_sent or self.failure is not None or self.eof
