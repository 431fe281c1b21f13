"""The HTTP/1.1 upgrade (RFC 6455 section 4): server request parser and responses,
client request builder and response parser.

Heads are read from an RxBuffer with bounds on the request line, the header
count and the whole head; a failure is a ``HandshakeError`` whose ``status`` is
the answer to give (400, 405, 414, 426, 431) and whose ``headers`` go with it.
No extension is ever negotiated (RSV bits stay reserved).
"""

import binascii
import hashlib

from edgegate.rt import find

from .errors import HandshakeError, LocalProtocolError
from .events import UpgradeRequest

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CRLF2 = b"\r\n\r\n"
_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

REASONS = {
    101: "Switching Protocols",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    414: "URI Too Long",
    426: "Upgrade Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_UPGRADE_HEADERS = (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"))


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (str or bytes)."""
    if isinstance(key, str):
        key = key.encode()
    return binascii.b2a_base64(hashlib.sha1(key + GUID).digest()).strip().decode()


def _is_token(s):
    if not s:
        return False
    for c in s:
        if c not in _TCHAR:
            return False
    return True


def _is_target(s):
    # RFC 7230 5.3.1 origin-form: visible ASCII only. A CR, LF or NUL here would
    # reach the request line a gateway sends its backend.
    if s[:1] != "/":
        return False
    for c in s:
        if c <= " " or c >= "\x7f":
            return False
    return True


def _tokens(value):
    return [t.strip() for t in value.split(",") if t.strip()]


def _valid_key(key):
    # RFC 6455 4.1: base64 of 16 random bytes is 24 characters ending in "==".
    if len(key) != 24 or key[22:] != "==":
        return False
    for c in key[:22]:
        if c not in _B64:
            return False
    return True


def _read_head(rx, max_header_bytes, max_request_line):
    """Return the head as str and consume it, or None when incomplete."""
    limit = min(rx.end, rx.start + max_header_bytes)
    end = find(rx.buf, _CRLF2, rx.start, limit)
    if end < 0:
        line_end = find(rx.buf, b"\r\n", rx.start, min(rx.end, rx.start + max_request_line + 2))
        # No CRLF in max_request_line + 2 bytes (a line of exactly the limit may
        # have only its CR here yet).
        if line_end < 0 and rx.end - rx.start >= max_request_line + 2:
            raise HandshakeError("request line over max_request_line=%d" % max_request_line, 414)
        if rx.end - rx.start >= max_header_bytes:
            raise HandshakeError("head over max_header_bytes=%d" % max_header_bytes, 431)
        rx.need = max_header_bytes
        return None
    raw = bytes(rx.mv[rx.start:end])
    rx.skip(end + 4 - rx.start)
    rx.need = 0
    try:
        return raw.decode("utf-8")
    except ValueError:
        raise HandshakeError("non-ascii bytes in the head") from None


def _split_head(head, max_headers, max_request_line):
    lines = head.split("\r\n")
    if len(lines[0]) > max_request_line:
        raise HandshakeError("request line over max_request_line=%d" % max_request_line, 414)
    if len(lines) - 1 > max_headers:
        raise HandshakeError("more than max_headers=%d headers" % max_headers, 431)
    headers = []
    for line in lines[1:]:
        if "\n" in line or "\r" in line:
            raise HandshakeError("bare CR or LF in the head")
        if line[:1] in (" ", "\t"):
            raise HandshakeError("obsolete header line folding")
        i = line.find(":")
        name = line[:i]
        if i <= 0 or not _is_token(name):
            raise HandshakeError("malformed header line")
        headers.append((name.lower(), line[i + 1:].strip(" \t")))
    return lines[0], headers


def _only(headers, name, status=400):
    found = None
    for k, v in headers:
        if k == name:
            if found is not None:
                # RFC 7231 6.5.15: a 426 names the protocol to upgrade to.
                raise HandshakeError("repeated %s header" % name, status,
                                     _UPGRADE_HEADERS if status == 426 else ())
            found = v
    return found


def parse_upgrade(rx, max_header_bytes, max_headers, max_request_line):
    """Parse and consume an upgrade request at the head of rx.

    Returns an ``UpgradeRequest``, or None while the head is incomplete. Bytes
    after the head stay in rx (a client may send frames right behind it).
    Raises:
        HandshakeError: with the status to answer and any headers to send with it.
    """
    head = _read_head(rx, max_header_bytes, max_request_line)
    if head is None:
        return None
    request_line, headers = _split_head(head, max_headers, max_request_line)
    parts = request_line.split(" ")
    if len(parts) != 3:
        raise HandshakeError("malformed request line")
    method, target, version = parts
    if version != "HTTP/1.1":
        raise HandshakeError("version %s is not HTTP/1.1" % version[:16])
    if method != "GET":
        raise HandshakeError("method is not GET", 405, (("Allow", "GET"),))
    if target[:1] != "/":
        raise HandshakeError("request target is not an absolute path")
    if not _is_target(target):
        raise HandshakeError("malformed request target")
    q = target.find("?")
    path, query = (target, "") if q < 0 else (target[:q], target[q + 1:])
    if _only(headers, "host") is None:
        raise HandshakeError("no Host header")
    te = _only(headers, "transfer-encoding")
    cl = _only(headers, "content-length")
    if te is not None or (cl is not None and cl != "0"):
        raise HandshakeError("upgrade request with a body")
    upgrade = _only(headers, "upgrade", 426) or ""
    if "websocket" not in [t.lower() for t in _tokens(upgrade)]:
        raise HandshakeError("no Upgrade: websocket", 426, _UPGRADE_HEADERS)
    connection = ",".join(v for k, v in headers if k == "connection")
    if "upgrade" not in [t.lower() for t in _tokens(connection)]:
        raise HandshakeError("no Connection: upgrade", 426, _UPGRADE_HEADERS)
    if _only(headers, "sec-websocket-version", 426) != "13":
        raise HandshakeError("Sec-WebSocket-Version is not 13", 426, _UPGRADE_HEADERS)
    key = _only(headers, "sec-websocket-key")
    if key is None or not _valid_key(key):
        raise HandshakeError("missing or malformed Sec-WebSocket-Key")
    protocols = []
    for k, v in headers:
        if k == "sec-websocket-protocol":
            for t in _tokens(v):
                if not _is_token(t):
                    raise HandshakeError("malformed Sec-WebSocket-Protocol")
                protocols.append(t)
    return UpgradeRequest(method, path, query, headers, key, protocols)


def _header_lines(headers):
    out = []
    for k, v in headers:
        if not _is_token(k) or "\r" in v or "\n" in v:
            raise LocalProtocolError("header %r cannot be sent" % k)
        out.append("%s: %s\r\n" % (k, v))
    return "".join(out)


def response_101(key, protocol=None, headers=()):
    """The 101 Switching Protocols answer to a valid request."""
    h = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept_key(key))]
    if protocol:
        h.append(("Sec-WebSocket-Protocol", protocol))
    h.extend(headers)
    return ("HTTP/1.1 101 Switching Protocols\r\n" + _header_lines(h) + "\r\n").encode()


def response_error(status, headers=()):
    """A complete plain-text HTTP error answer that closes the connection.

    The body is the standard reason phrase only: nothing from the request.
    """
    reason = REASONS.get(status, "Error")
    body = "%d %s\n" % (status, reason)
    h = [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("Connection", "close")]
    h.extend(headers)
    return ("HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, reason, _header_lines(h), body)).encode()


def new_key(rand_bytes):
    """A fresh Sec-WebSocket-Key from 16 random bytes."""
    return binascii.b2a_base64(rand_bytes(16)).strip().decode()


def client_request(host, target, key, protocols=(), headers=()):
    """The upgrade request a client (the gateway, towards a backend) sends.

    Raises:
        LocalProtocolError: the target is not an absolute path of visible ASCII.
    """
    if not _is_target(target):
        raise LocalProtocolError("request target %r cannot be sent" % target)
    h = [("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
         ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
    if protocols:
        h.append(("Sec-WebSocket-Protocol", ", ".join(protocols)))
    h.extend(headers)
    return ("GET %s HTTP/1.1\r\n%s\r\n" % (target, _header_lines(h))).encode()


def parse_response(rx, key, protocols, max_header_bytes, max_headers):
    """Parse and consume the server's answer to ``client_request``.

    Returns (protocol or None, headers) on a valid 101, or None while incomplete.
    Raises:
        HandshakeError: status 502, with ``upstream_status`` set to the server's
            status (0 when the answer was not HTTP at all).
    """
    try:
        head = _read_head(rx, max_header_bytes, max_header_bytes)
        if head is None:
            return None
        status_line, headers = _split_head(head, max_headers, max_header_bytes)
    except HandshakeError as e:
        raise _bad_gateway("malformed response: %s" % e, 0) from None
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or parts[0] != "HTTP/1.1" or not parts[1].isdigit():
        raise _bad_gateway("response is not HTTP/1.1", 0)
    status = int(parts[1])
    if status != 101:
        raise _bad_gateway("backend answered %d" % status, status)
    try:
        upgrade = _only(headers, "upgrade") or ""
    except HandshakeError:
        upgrade = ""
    connection = ",".join(v for k, v in headers if k == "connection")
    if upgrade.lower() != "websocket" or "upgrade" not in [t.lower() for t in _tokens(connection)]:
        raise _bad_gateway("101 without Upgrade: websocket", status)
    accept = [v for k, v in headers if k == "sec-websocket-accept"]
    if accept != [accept_key(key)]:
        raise _bad_gateway("wrong Sec-WebSocket-Accept", status)
    if [v for k, v in headers if k == "sec-websocket-extensions"]:
        raise _bad_gateway("extension negotiated without an offer", status)
    chosen = [v for k, v in headers if k == "sec-websocket-protocol"]
    if len(chosen) > 1 or (chosen and chosen[0] not in protocols):
        raise _bad_gateway("sub-protocol not offered", status)
    return (chosen[0] if chosen else None), headers


def _bad_gateway(msg, upstream_status):
    e = HandshakeError(msg, 502)
    e.upstream_status = upstream_status
    return e
