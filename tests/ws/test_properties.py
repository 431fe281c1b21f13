"""Property tests of the WebSocket core (CPython only: pytest + hypothesis).

Hostile bytes in any chunking never make the core raise: peer errors become a
``ConnectionFailed`` with 1002, 1007 or 1009, and what a connection reports
does not depend on how its input was cut into reads.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgegate.ws.buffer import RxBuffer
from edgegate.ws.connection import Connection
from edgegate.ws.errors import HandshakeError, LocalProtocolError
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
from edgegate.ws.frames import OP_BINARY, OP_CONT, OP_TEXT, build_frame
from edgegate.ws.handshake import client_request, parse_upgrade

PEER_CODES = {1002, 1007, 1009}
MAX_FRAME = 128
MAX_MESSAGE = 160
RX = MAX_FRAME + 14

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rand4(n):
    return bytes(range(0x11, 0x11 + n))


def make(is_client, assemble):
    return Connection(is_client, RX, MAX_FRAME, MAX_MESSAGE, assemble, rand4 if is_client else None)


def cut(data, points):
    points = sorted(set(p for p in points if 0 < p < len(data)))
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    out.append(data[last:])
    return out


def drain(conn, events, sent):
    for e in conn.events():
        events.append(("fragment", e.opcode, e.fin, bytes(e.payload), e.text) if isinstance(e, Fragment) else e)
    sent.extend(bytes(b) for b in conn.data_to_send())


def run(conn, chunks):
    """Feed chunks, snapshotting events after each read; return (events, bytes sent)."""
    events = []
    sent = []
    for c in chunks:
        conn.receive_data(c)
        drain(conn, events, sent)
    return events, sent


def run_zero_copy(conn, chunks):
    """The gateway's path: read into rx_tail(), then rx_commit()."""
    events = []
    sent = []
    for c in chunks:
        while c:
            tail = conn.rx_tail()
            n = min(len(tail), len(c))
            assert n > 0
            tail[:n] = c[:n]
            conn.rx_commit(n)
            drain(conn, events, sent)
            c = c[n:]
    return events, sent


# ---- strategies -------------------------------------------------------------

payloads = st.one_of(
    st.binary(max_size=40),
    st.binary(min_size=100, max_size=200),  # around MAX_FRAME and, in fragments, MAX_MESSAGE
    st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xc3", b"\xe2\x82"]),
)
close_payloads = st.one_of(
    st.sampled_from([b"", b"\x03\xe8", b"\x03\xe9bye", b"\x0f\xa0\xc3\xa9", b"\x03", b"\x03\xed",
                     b"\x03\xe8\xff", b"\x03\xe8\xed\xa0\x80"]),
    st.binary(max_size=8),
)
BREAKS = ["rsv", "opcode", "mask", "length16", "length64", "msb", "truncate", "fin"]


@st.composite
def raw_frames(draw, masked):
    """One frame: well-formed most of the time, else broken in one chosen way."""
    opcode = draw(st.sampled_from([OP_TEXT, OP_BINARY, OP_CONT, OP_TEXT, OP_CONT, 8, 9, 10]))
    if opcode == 8:
        payload = draw(close_payloads)
    elif opcode > 8:
        payload = draw(st.binary(max_size=125))
    else:
        payload = draw(payloads)
    fin = draw(st.booleans()) if opcode < 8 else True
    broken = draw(st.one_of(st.none(), st.none(), st.none(), st.none(), st.none(), st.sampled_from(BREAKS)))
    rsv = draw(st.sampled_from([0x10, 0x20, 0x40])) if broken == "rsv" else 0
    if broken == "opcode":
        opcode = draw(st.sampled_from([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]))
    if broken == "fin":
        fin = not fin
    mask_it = masked != (broken == "mask")
    n = len(payload)
    head = bytearray([(0x80 if fin else 0) | rsv | opcode])
    mbit = 0x80 if mask_it else 0
    if n < 126 and broken not in ("length16", "length64", "msb"):
        head.append(mbit | n)
    elif n < 0x10000 and broken not in ("length64", "msb"):
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        length = n | (1 << 63) if broken == "msb" else n
        head += bytes([mbit | 127]) + length.to_bytes(8, "big")
    if mask_it:
        key = draw(st.binary(min_size=4, max_size=4))
        head += key
        payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    data = bytes(head) + payload
    if broken == "truncate":
        data = data[:draw(st.integers(0, len(data)))]  # the stream ends mid-frame
    return data


def streams(masked):
    return st.one_of(
        st.binary(max_size=400),
        st.lists(raw_frames(masked), max_size=8).map(b"".join),
    )


cut_points = st.lists(st.integers(0, 2000), max_size=12)


# ---- properties -------------------------------------------------------------


def check_connection(is_client, assemble, data, points):
    conn = make(is_client, assemble)
    events, sent = run(conn, cut(data, points))
    failures = [e for e in events if isinstance(e, ConnectionFailed)]
    assert len(failures) <= 1
    if failures:
        f = failures[0]
        assert f.code in PEER_CODES, f
        assert events[-1] is f  # nothing after the failure
        assert conn.failure is not None and conn.failure.close_code == f.code
        assert sent[-1] == b""
    for e in events:
        assert isinstance(e, (TextMessage, BinaryMessage, Ping, Pong, CloseReceived, ConnectionFailed, tuple))
        if isinstance(e, TextMessage):
            assert isinstance(e.data, str)
            assert len(e.data.encode("utf-8")) <= MAX_MESSAGE
        if isinstance(e, BinaryMessage):
            assert len(e.data) <= MAX_MESSAGE
    # What a connection reports does not depend on how its input was cut.
    whole_events, whole_sent = run(make(is_client, assemble), [data])
    assert events == whole_events
    assert b"".join(sent) == b"".join(whole_sent)
    zc_events, zc_sent = run_zero_copy(make(is_client, assemble), cut(data, points))
    assert zc_events == whole_events
    assert b"".join(zc_sent) == b"".join(whole_sent)
    # EOF after anything is still not an exception.
    conn.receive_eof()
    for e in conn.events():
        assert isinstance(e, ConnectionFailed) and e.code == 1006
    conn.data_to_send()


@SETTINGS
@given(data=streams(masked=True), points=cut_points, assemble=st.booleans())
def test_server_survives_arbitrary_bytes_in_any_chunking(data, points, assemble):
    check_connection(False, assemble, data, points)


@SETTINGS
@given(data=streams(masked=False), points=cut_points, assemble=st.booleans())
def test_client_survives_arbitrary_bytes_in_any_chunking(data, points, assemble):
    check_connection(True, assemble, data, points)


# ---- handshake --------------------------------------------------------------

header_names = st.sampled_from(["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                                "Sec-WebSocket-Protocol", "Content-Length", "Transfer-Encoding", "X-A", "Bad Name",
                                ""])
header_values = st.one_of(
    st.sampled_from(["websocket", "Upgrade", "13", "8", "dGhlIHNhbXBsZSBub25jZQ==", "chat, x", "0", "5", "h"]),
    st.text(max_size=30),
)


VALID_HEAD = [
    ("Host", "h"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]


@st.composite
def heads(draw):
    """A valid upgrade request with a few random mutations."""
    method = draw(st.sampled_from(["GET"] * 6 + ["POST", "get", ""]))
    target = draw(st.one_of(st.sampled_from(["/", "/chat?x=1", "/chat"] * 2 + ["*", "/a\nb", "/a\x00"]),
                            st.text(max_size=40)))
    version = draw(st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", ""]))
    headers = [h for h in VALID_HEAD if draw(st.integers(0, 9))]
    for _ in range(draw(st.integers(0, 4))):
        headers.insert(draw(st.integers(0, len(headers))), (draw(header_names), draw(header_values)))
    lines = ["%s %s %s" % (method, target, version)] + ["%s: %s" % h for h in headers]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass")
    return head + draw(st.binary(max_size=20))


def parse_chunks(chunks):
    rx = RxBuffer(2048)
    result = None
    for i, c in enumerate(chunks):
        rx.write(c)
        try:
            result = parse_upgrade(rx, 512, 12, 128)
        except HandshakeError as e:
            return ("error", e.status, str(e), tuple(e.headers))
        if result is not None:
            # Bytes after the head that had not arrived yet are the first frames' bytes.
            for later in chunks[i + 1:]:
                rx.write(later)
            return ("request", result, bytes(rx.view(rx.start, rx.end)))
    return None


@SETTINGS
@given(data=st.one_of(st.binary(max_size=700), heads()), points=cut_points)
def test_parse_upgrade_raises_only_handshake_errors(data, points):
    got = parse_chunks(cut(data, points))  # any other exception fails the test
    if got is not None and got[0] == "error":
        assert got[1] in (400, 405, 414, 426, 431)
    if got is not None and got[0] == "request":
        assert isinstance(got[1], UpgradeRequest)
        assert got[1].path.startswith("/")
    # The verdict does not depend on how the head was cut.
    assert got == parse_chunks([data])


@SETTINGS
@given(target=st.text(max_size=30), protocols=st.lists(st.sampled_from(["chat", "v2", "x"]), max_size=3),
       points=cut_points)
def test_client_request_is_parsed_back_or_refused_locally(target, protocols, points):
    try:
        data = client_request("backend:9000", "/" + target, "dGhlIHNhbXBsZSBub25jZQ==", protocols)
    except LocalProtocolError:
        return
    got = parse_chunks(cut(data, points))
    assert got[0] == "request", got
    req = got[1]
    assert (req.path + ("?" + req.query if "?" in "/" + target else "")) == "/" + target
    assert req.protocols == protocols


# ---- round trips ------------------------------------------------------------

messages = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(max_size=200)),
        st.tuples(st.just("binary"), st.binary(max_size=200)),
        st.tuples(st.just("fragments"), st.lists(st.binary(max_size=80), min_size=1, max_size=4)),
        st.tuples(st.just("text fragments"), st.text(min_size=1, max_size=60), st.lists(st.integers(0, 240), max_size=3)),
        st.tuples(st.just("ping"), st.binary(max_size=125)),
    ),
    max_size=6,
)


def send_all(conn, msgs):
    expected = []
    for m in msgs:
        kind = m[0]
        if kind == "text":
            conn.send_text(m[1])
            expected.append(TextMessage(m[1]))
        elif kind == "binary":
            conn.send_binary(m[1])
            expected.append(BinaryMessage(m[1]))
        elif kind == "fragments":
            parts = m[1]
            for i, p in enumerate(parts):
                conn.send_frame(OP_BINARY if i == 0 else OP_CONT, p, i == len(parts) - 1)
            expected.append(BinaryMessage(b"".join(parts)))
        elif kind == "text fragments":
            raw = m[1].encode("utf-8")
            parts = cut(raw, m[2])  # cuts may split characters: still one valid message
            for i, p in enumerate(parts):
                conn.send_frame(OP_TEXT if i == 0 else OP_CONT, p, i == len(parts) - 1)
            expected.append(TextMessage(m[1]))
        else:
            conn.send_ping(m[1])
            expected.append(Ping(m[1]))
    conn.send_close(1000, "done")
    expected.append(CloseReceived(1000, "done"))
    return b"".join(bytes(b) for b in conn.data_to_send()), expected


def big(is_client):
    return Connection(is_client, 1024 + 14, 1024, 4096, True, rand4 if is_client else None)


@SETTINGS
@given(msgs=messages, points=cut_points)
def test_client_messages_reach_a_server_intact_in_any_chunking(msgs, points):
    data, expected = send_all(big(True), msgs)
    events, _ = run(big(False), cut(data, points))
    assert events == expected


@SETTINGS
@given(msgs=messages, points=cut_points)
def test_server_messages_reach_a_client_intact_in_any_chunking(msgs, points):
    data, expected = send_all(big(False), msgs)
    events, _ = run(big(True), cut(data, points))
    assert events == expected


def test_build_frame_and_connection_agree_on_a_masked_frame():
    # A sanity anchor for the strategies above: a hand-made masked frame is accepted.
    data = bytes(build_frame(OP_TEXT, b"ok", True, b"\x01\x02\x03\x04"))
    events, _ = run(make(False, True), [data])
    assert events == [TextMessage("ok")]
