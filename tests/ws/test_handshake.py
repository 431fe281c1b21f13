"""edgegate.ws.handshake: the HTTP/1.1 upgrade, server and client sides (RFC 6455 section 4).

The request parser is fed every request split at every offset.
"""

from edgegate.ws.buffer import RxBuffer
from edgegate.ws.errors import HandshakeError, LocalProtocolError
from edgegate.ws.handshake import (
    accept_key,
    client_request,
    new_key,
    parse_response,
    parse_upgrade,
    response_101,
    response_error,
)
from tests.portable import TestCase

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 1.3
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
MAX_HEADER_BYTES = 1024
MAX_HEADERS = 16
MAX_REQUEST_LINE = 256
UPGRADE_HEADERS = (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"))

BASE = (
    ("Host", "server.example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Version", "13"),
)

# RFC 6455 1.2, the opening handshake from the client.
RFC_REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def fixed_rand(n):
    return bytes(range(1, n + 1))


def request(line="GET /chat HTTP/1.1", drop=(), add=(), replace=()):
    """A request head from BASE, dropping, replacing (by name) and adding header lines."""
    rep = dict(replace)
    lines = [line]
    for name, value in BASE:
        if name in drop:
            continue
        lines.append("%s: %s" % (name, rep.get(name, value)))
    for h in add:
        lines.append(h if isinstance(h, str) else "%s: %s" % h)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def parse_split(data, i, size=4096):
    """Feed data[:i], parse, feed the rest, parse again; return (result, rx)."""
    rx = RxBuffer(size)
    rx.write(data[:i])
    r = parse_upgrade(rx, MAX_HEADER_BYTES, MAX_HEADERS, MAX_REQUEST_LINE)
    if r is None:
        rx.write(data[i:])
        r = parse_upgrade(rx, MAX_HEADER_BYTES, MAX_HEADERS, MAX_REQUEST_LINE)
    else:
        rx.write(data[i:])
    return r, rx


def response_split(data, i, key=KEY, protocols=(), size=2048):
    rx = RxBuffer(size)
    rx.write(data[:i])
    r = parse_response(rx, key, protocols, 512, 16)
    if r is None:
        rx.write(data[i:])
        r = parse_response(rx, key, protocols, 512, 16)
    else:
        rx.write(data[i:])
    return r, rx


class _HandshakeCase(TestCase):
    def assertAccepts(self, data, path="/chat", query="", protocols=(), rest=b""):
        for i in range(len(data) + len(rest) + 1):
            with self.subTest(split=i):
                req, rx = parse_split(data + rest, i)
                self.assertTrue(req is not None)
                self.assertEqual((req.method, req.path, req.query, req.key, req.protocols),
                                 ("GET", path, query, KEY, list(protocols)))
                self.assertEqual(bytes(rx.view(rx.start, rx.end)), rest)
                self.assertEqual(rx.need, 0)
        return req

    def assertRejects(self, data, status, msg, headers=()):
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                with self.assertRaises(HandshakeError) as cm:
                    parse_split(data, i)
                e = cm.exception
                self.assertEqual((e.status, str(e), tuple(e.headers)), (status, msg, tuple(headers)))


class UpgradeRequestTests(_HandshakeCase):
    """4.2.1. Reading the Client's Opening Handshake: a valid request."""

    def test_server_accepts_the_rfc_example_request(self):
        req = self.assertAccepts(RFC_REQUEST, protocols=("chat", "superchat"))
        self.assertEqual(req.header("origin"), "http://example.com")
        self.assertEqual(req.header("host"), "server.example.com")
        self.assertIsNone(req.header("cookie"))
        self.assertEqual(req.header("cookie", ""), "")
        self.assertEqual(req.headers[0], ("host", "server.example.com"))

    def test_server_splits_path_and_query(self):
        self.assertAccepts(request("GET /a/b?x=1&y=%20 HTTP/1.1"), path="/a/b", query="x=1&y=%20")
        self.assertAccepts(request("GET /? HTTP/1.1"), path="/", query="")

    def test_server_keeps_the_bytes_after_the_head_in_the_buffer(self):
        frame = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
        self.assertAccepts(request(), rest=frame)

    def test_server_returns_none_and_consumes_nothing_while_the_head_is_incomplete(self):
        data = request()
        for i in range(len(data)):
            with self.subTest(i=i):
                rx = RxBuffer(2048)
                rx.write(data[:i])
                self.assertIsNone(parse_upgrade(rx, MAX_HEADER_BYTES, MAX_HEADERS, MAX_REQUEST_LINE))
                self.assertEqual((rx.start, rx.end), (0, i))

    def test_server_accepts_header_names_in_any_case_and_token_lists(self):
        data = (b"GET /chat HTTP/1.1\r\nhOsT: h\r\nUPGRADE: WebSocket\r\n"
                b"connection: keep-alive, Upgrade\r\nsec-websocket-key: " + KEY.encode()
                + b"\r\nSEC-WEBSOCKET-VERSION: 13\r\nSec-WebSocket-Protocol: a,b\r\n"
                b"Sec-WebSocket-Protocol: c\r\n\r\n")
        self.assertAccepts(data, protocols=("a", "b", "c"))

    def test_server_accepts_connection_upgrade_spread_over_two_headers(self):
        data = request(drop=("Connection",), add=(("Connection", "keep-alive"), ("Connection", "upgrade")))
        self.assertAccepts(data)

    def test_server_accepts_an_empty_body_length(self):
        self.assertAccepts(request(add=(("Content-Length", "0"),)))

    def test_server_accepts_a_head_of_exactly_max_header_bytes(self):
        base = request()
        pad = MAX_HEADER_BYTES - len(base) - len("X-Pad: \r\n")
        data = request(add=(("X-Pad", "p" * pad),))
        self.assertEqual(len(data), MAX_HEADER_BYTES)
        self.assertAccepts(data)

    def test_server_accepts_max_headers_headers(self):
        data = request(add=[("X-%d" % i, "v") for i in range(MAX_HEADERS - len(BASE))])
        self.assertAccepts(data)

    def test_server_accepts_a_request_line_of_exactly_max_request_line(self):
        line = "GET /" + "a" * (MAX_REQUEST_LINE - 14) + " HTTP/1.1"
        self.assertEqual(len(line), MAX_REQUEST_LINE)
        self.assertAccepts(request(line), path="/" + "a" * (MAX_REQUEST_LINE - 14))


class UpgradeRejectionTests(_HandshakeCase):
    """4.2.1 and 4.2.2: each refusal answers its exact status (400, 405, 414, 426, 431)."""

    def test_server_answers_400_on_a_malformed_request_line(self):
        for line in ("GET /chat", "GET  /chat HTTP/1.1", "GET /chat HTTP/1.1 x", ""):
            with self.subTest(line=line):
                self.assertRejects(request(line), 400, "malformed request line")

    def test_server_answers_400_on_a_version_other_than_http_1_1(self):
        for version in ("HTTP/1.0", "HTTP/2", "http/1.1"):
            with self.subTest(version=version):
                self.assertRejects(request("GET /chat " + version), 400, "version %s is not HTTP/1.1" % version)

    def test_server_answers_400_on_a_target_that_is_not_an_absolute_path(self):
        for target in ("chat", "http://server.example.com/chat", "*"):
            with self.subTest(target=target):
                self.assertRejects(request("GET %s HTTP/1.1" % target), 400,
                                   "request target is not an absolute path")

    def test_server_answers_400_on_control_or_non_ascii_characters_in_the_target(self):
        # A bare LF would reach the backend's request line: header injection.
        for target in ("/a\nX-Injected:1", "/a\x00", "/a\tb", "/a\x7f", "/a\rb", "/caf\u00e9"):
            with self.subTest(target=target):
                self.assertRejects(request("GET %s HTTP/1.1" % target), 400, "malformed request target")

    def test_server_answers_400_without_host(self):
        self.assertRejects(request(drop=("Host",)), 400, "no Host header")

    def test_server_answers_400_on_repeated_host(self):
        self.assertRejects(request(add=(("Host", "evil.example"),)), 400, "repeated host header")

    def test_server_answers_400_on_a_missing_or_malformed_key(self):
        cases = (
            request(drop=("Sec-WebSocket-Key",)),
            request(replace=(("Sec-WebSocket-Key", "c2hvcnQ="),)),
            request(replace=(("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=x"),)),
            request(replace=(("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZ!=="),)),
            request(replace=(("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==="),)),
            request(replace=(("Sec-WebSocket-Key", ""),)),
        )
        for n, data in enumerate(cases):
            with self.subTest(case=n):
                self.assertRejects(data, 400, "missing or malformed Sec-WebSocket-Key")

    def test_server_answers_400_on_two_keys(self):
        self.assertRejects(request(add=(("Sec-WebSocket-Key", KEY),)), 400, "repeated sec-websocket-key header")

    def test_server_answers_400_on_a_request_with_a_body(self):
        for h in (("Content-Length", "5"), ("Transfer-Encoding", "chunked"), ("Content-Length", "00")):
            with self.subTest(header=h[0]):
                self.assertRejects(request(add=(h,)), 400, "upgrade request with a body")

    def test_server_answers_400_on_malformed_header_lines(self):
        cases = (
            ("no colon", "NoColonHere", "malformed header line"),
            ("empty name", ": value", "malformed header line"),
            ("space in name", "Bad Name: x", "malformed header line"),
            ("space before colon", "X-A : x", "malformed header line"),
            ("folding with space", " continued", "obsolete header line folding"),
            ("folding with tab", "\tcontinued", "obsolete header line folding"),
            ("bare LF", "X-A: b\nc", "bare CR or LF in the head"),
            ("bare CR", "X-A: b\rc", "bare CR or LF in the head"),
        )
        for name, line, msg in cases:
            with self.subTest(name=name):
                self.assertRejects(request(add=(line,)), 400, msg)

    def test_server_answers_400_on_bytes_that_are_not_utf8(self):
        data = request(add=(("X-A", "v"),)).replace(b"X-A: v", b"X-A: \xff")
        self.assertRejects(data, 400, "non-ascii bytes in the head")

    def test_server_answers_400_on_a_malformed_subprotocol(self):
        self.assertRejects(request(add=(("Sec-WebSocket-Protocol", "chat, bad/proto"),)), 400,
                           "malformed Sec-WebSocket-Protocol")

    def test_server_answers_405_with_allow_on_other_methods(self):
        for method in ("POST", "HEAD", "PUT", "get"):
            with self.subTest(method=method):
                self.assertRejects(request(method + " /chat HTTP/1.1"), 405, "method is not GET",
                                   (("Allow", "GET"),))

    def test_server_answers_414_on_a_long_request_line(self):
        line = "GET /" + "a" * (MAX_REQUEST_LINE - 13) + " HTTP/1.1"
        self.assertRejects(request(line), 414, "request line over max_request_line=%d" % MAX_REQUEST_LINE)

    def test_server_answers_414_before_the_long_request_line_ends(self):
        data = b"GET /" + b"a" * MAX_REQUEST_LINE
        self.assertRejects(data, 414, "request line over max_request_line=%d" % MAX_REQUEST_LINE)

    def test_server_answers_426_without_upgrade_websocket(self):
        cases = (
            request(drop=("Upgrade",)),
            request(replace=(("Upgrade", "h2c"),)),
            request(replace=(("Upgrade", ""),)),
        )
        for n, data in enumerate(cases):
            with self.subTest(case=n):
                self.assertRejects(data, 426, "no Upgrade: websocket", UPGRADE_HEADERS)

    def test_server_answers_426_without_connection_upgrade(self):
        for value in (None, "keep-alive", "upgraded"):
            with self.subTest(value=value):
                data = (request(drop=("Connection",)) if value is None
                        else request(replace=(("Connection", value),)))
                self.assertRejects(data, 426, "no Connection: upgrade", UPGRADE_HEADERS)

    def test_server_answers_426_with_version_13_on_another_version(self):
        cases = (
            request(drop=("Sec-WebSocket-Version",)),
            request(replace=(("Sec-WebSocket-Version", "8"),)),
            request(replace=(("Sec-WebSocket-Version", "13, 8"),)),
        )
        for n, data in enumerate(cases):
            with self.subTest(case=n):
                self.assertRejects(data, 426, "Sec-WebSocket-Version is not 13", UPGRADE_HEADERS)

    def test_server_answers_426_with_upgrade_headers_on_repeated_upgrade_headers(self):
        self.assertRejects(request(add=(("Upgrade", "websocket"),)), 426, "repeated upgrade header",
                           UPGRADE_HEADERS)
        self.assertRejects(request(add=(("Sec-WebSocket-Version", "13"),)), 426,
                           "repeated sec-websocket-version header", UPGRADE_HEADERS)

    def test_server_answers_431_on_too_many_headers(self):
        data = request(add=[("X-%d" % i, "v") for i in range(MAX_HEADERS - len(BASE) + 1)])
        self.assertRejects(data, 431, "more than max_headers=%d headers" % MAX_HEADERS)

    def test_server_answers_431_on_a_head_over_max_header_bytes(self):
        base = request()
        pad = MAX_HEADER_BYTES - len(base) - len("X-Pad: \r\n") + 1
        data = request(add=(("X-Pad", "p" * pad),))
        self.assertEqual(len(data), MAX_HEADER_BYTES + 1)
        self.assertRejects(data, 431, "head over max_header_bytes=%d" % MAX_HEADER_BYTES)

    def test_server_answers_431_before_an_endless_head_ends(self):
        data = request()[:-2] + b"X-Pad: " + b"p" * MAX_HEADER_BYTES
        self.assertRejects(data, 431, "head over max_header_bytes=%d" % MAX_HEADER_BYTES)


class ServerResponseTests(TestCase):
    """4.2.2. Sending the Server's Opening Handshake, and refusals."""

    def test_accept_key_matches_the_rfc_example(self):
        self.assertEqual(accept_key(KEY), ACCEPT)
        self.assertEqual(accept_key(KEY.encode()), ACCEPT)

    def test_response_101_carries_the_accept_key(self):
        self.assertEqual(response_101(KEY), (
            b"HTTP/1.1 101 Switching Protocols\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            b"\r\n"))

    def test_response_101_names_the_chosen_subprotocol_and_extra_headers(self):
        self.assertEqual(response_101(KEY, "chat", (("X-Gw", "1"),)), (
            b"HTTP/1.1 101 Switching Protocols\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            b"Sec-WebSocket-Protocol: chat\r\n"
            b"X-Gw: 1\r\n"
            b"\r\n"))

    def test_response_refuses_headers_that_would_split_the_response(self):
        for h in (("X-A", "a\r\nSet-Cookie: x"), ("X-A", "a\nb"), ("Bad Name", "v"), ("", "v")):
            with self.subTest(name=h[0]):
                with self.assertRaises(LocalProtocolError) as cm:
                    response_101(KEY, None, (h,))
                self.assertEqual(str(cm.exception), "header %r cannot be sent" % h[0])

    def test_response_error_is_a_complete_plain_text_answer(self):
        self.assertEqual(response_error(400), (
            b"HTTP/1.1 400 Bad Request\r\n"
            b"Content-Type: text/plain\r\n"
            b"Content-Length: 16\r\n"
            b"Connection: close\r\n"
            b"\r\n"
            b"400 Bad Request\n"))

    def test_response_error_carries_the_error_headers(self):
        self.assertEqual(response_error(426, UPGRADE_HEADERS), (
            b"HTTP/1.1 426 Upgrade Required\r\n"
            b"Content-Type: text/plain\r\n"
            b"Content-Length: 21\r\n"
            b"Connection: close\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\n"
            b"\r\n"
            b"426 Upgrade Required\n"))

    def test_response_error_has_a_reason_for_every_status_it_is_given(self):
        for status in (400, 403, 404, 405, 408, 414, 426, 429, 431, 500, 502, 503, 504):
            with self.subTest(status=status):
                head = response_error(status).split(b"\r\n")[0]
                self.assertTrue(head.startswith(("HTTP/1.1 %d " % status).encode()))
                self.assertNotEqual(head, ("HTTP/1.1 %d Error" % status).encode())
        self.assertTrue(response_error(499).startswith(b"HTTP/1.1 499 Error\r\n"))

    def test_response_error_body_never_echoes_request_bytes(self):
        marker = "EVIL<script>"
        cases = (
            request("GET /%s HTTP/1.0" % marker),
            request("POST /%s HTTP/1.1" % marker),
            request("GET %s HTTP/1.1" % marker),
            request(replace=(("Upgrade", marker),)),
            request(replace=(("Sec-WebSocket-Version", marker),)),
            request(replace=(("Sec-WebSocket-Key", marker),)),
            request(add=(marker,)),
            request(add=(("Sec-WebSocket-Protocol", marker + "/"),)),
            request("GET /" + marker * 40 + " HTTP/1.1"),
        )
        for n, data in enumerate(cases):
            with self.subTest(case=n):
                with self.assertRaises(HandshakeError) as cm:
                    parse_split(data, len(data))
                e = cm.exception
                out = response_error(e.status, e.headers)
                self.assertTrue(marker.encode() not in out)
                self.assertTrue(b"EVIL" not in out)


class ClientHandshakeTests(TestCase):
    """4.1. Client Requirements: the request edgegate sends a backend and its checks of the answer."""

    def test_new_key_is_base64_of_16_random_bytes(self):
        self.assertEqual(new_key(fixed_rand), "AQIDBAUGBwgJCgsMDQ4PEA==")

    def test_client_request_is_a_complete_upgrade_request(self):
        self.assertEqual(client_request("backend:9000", "/chat?x=1", KEY, ("chat", "v2"), (("X-Gw", "1"),)), (
            b"GET /chat?x=1 HTTP/1.1\r\n"
            b"Host: backend:9000\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: chat, v2\r\n"
            b"X-Gw: 1\r\n"
            b"\r\n"))

    def test_client_request_without_subprotocols_offers_none(self):
        self.assertEqual(client_request("h", "/", KEY), (
            b"GET / HTTP/1.1\r\n"
            b"Host: h\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n"
            b"\r\n"))

    def test_client_request_refuses_a_target_that_would_split_the_request(self):
        for target in ("/a\nX-Injected: 1", "/a b", "/a\r\n", "chat", ""):
            with self.subTest(target=target):
                with self.assertRaises(LocalProtocolError) as cm:
                    client_request("backend", target, KEY)
                self.assertEqual(str(cm.exception), "request target %r cannot be sent" % target)

    def test_client_request_round_trips_through_the_server_parser(self):
        data = client_request("backend:9000", "/chat?x=1", KEY, ("chat",))
        req, _ = parse_split(data, len(data))
        self.assertEqual((req.path, req.query, req.key, req.protocols), ("/chat", "x=1", KEY, ["chat"]))
        self.assertEqual(req.header("host"), "backend:9000")

    def test_client_accepts_a_valid_101_at_every_split(self):
        frame = b"\x81\x02hi"
        for protocols, chosen in (((), None), (("chat", "v2"), "v2")):
            data = response_101(KEY, chosen) + frame
            for i in range(len(data) + 1):
                with self.subTest(chosen=chosen, split=i):
                    r, rx = response_split(data, i, KEY, protocols)
                    self.assertEqual(r[0], chosen)
                    self.assertIn(("sec-websocket-accept", ACCEPT), r[1])
                    self.assertEqual(bytes(rx.view(rx.start, rx.end)), frame)

    def test_client_returns_none_while_the_response_is_incomplete(self):
        data = response_101(KEY)
        rx = RxBuffer(512)
        rx.write(data[:-1])
        self.assertIsNone(parse_response(rx, KEY, (), 256, 16))
        self.assertEqual(len(rx), len(data) - 1)

    def assertBadGateway(self, data, msg, upstream_status, protocols=()):
        for i in range(len(data) + 1):
            with self.subTest(split=i):
                with self.assertRaises(HandshakeError) as cm:
                    response_split(data, i, KEY, protocols)
                e = cm.exception
                self.assertEqual((e.status, str(e), e.upstream_status), (502, msg, upstream_status))

    def test_client_fails_502_on_a_wrong_accept_key(self):
        self.assertBadGateway(response_101("x3JJHMbDL1EzLkh9GBhXDw=="), "wrong Sec-WebSocket-Accept", 101)
        missing = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        self.assertBadGateway(missing, "wrong Sec-WebSocket-Accept", 101)
        twice = response_101(KEY, None, (("Sec-WebSocket-Accept", ACCEPT),))
        self.assertBadGateway(twice, "wrong Sec-WebSocket-Accept", 101)

    def test_client_fails_502_with_the_upstream_status_on_a_non_101_answer(self):
        for status in (200, 400, 403, 426, 503):
            with self.subTest(status=status):
                self.assertBadGateway(response_error(status), "backend answered %d" % status, status)

    def test_client_fails_502_on_an_answer_that_is_not_http_1_1(self):
        for head in (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"HTTP/1.0 101 Switching Protocols\r\n\r\n",
                     b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1\r\n\r\n"):
            with self.subTest(head=head):
                self.assertBadGateway(head, "response is not HTTP/1.1", 0)

    def test_client_fails_502_on_101_without_upgrade_websocket(self):
        base = "HTTP/1.1 101 Switching Protocols\r\n%sSec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n"
        for extra in ("Connection: Upgrade\r\n", "Upgrade: websocket\r\n",
                      "Upgrade: h2c\r\nConnection: Upgrade\r\n",
                      "Upgrade: websocket\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"):
            with self.subTest(extra=extra):
                self.assertBadGateway((base % extra).encode(), "101 without Upgrade: websocket", 101)

    def test_client_fails_502_on_an_extension_it_did_not_offer(self):
        data = response_101(KEY, None, (("Sec-WebSocket-Extensions", "permessage-deflate"),))
        self.assertBadGateway(data, "extension negotiated without an offer", 101)

    def test_client_fails_502_on_a_subprotocol_it_did_not_offer(self):
        self.assertBadGateway(response_101(KEY, "chat"), "sub-protocol not offered", 101)
        self.assertBadGateway(response_101(KEY, "other"), "sub-protocol not offered", 101, ("chat",))
        two = response_101(KEY, "chat", (("Sec-WebSocket-Protocol", "chat"),))
        self.assertBadGateway(two, "sub-protocol not offered", 101, ("chat",))

    def test_client_fails_502_on_a_malformed_or_oversized_head(self):
        self.assertBadGateway(b"HTTP/1.1 101 OK\r\nbad line\r\n\r\n", "malformed response: malformed header line", 0)
        self.assertBadGateway(b"HTTP/1.1 101 OK\r\nX: " + b"x" * 600,
                              "malformed response: head over max_header_bytes=512", 0)

    def test_handshake_round_trips_between_client_and_server(self):
        key = new_key(fixed_rand)
        data = client_request("h", "/chat", key, ("a", "b"))
        req, _ = parse_split(data, len(data))
        answer = response_101(req.key, req.protocols[1])
        r, _ = response_split(answer, len(answer), key, ("a", "b"))
        self.assertEqual(r[0], "b")
