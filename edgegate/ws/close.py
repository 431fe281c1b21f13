"""Close frame payloads (RFC 6455 5.5.1, 7.4): validate what arrives, build what leaves."""

from .errors import ProtocolError
from .utf8 import decode_utf8

NO_STATUS = 1005
ABNORMAL = 1006
MAX_REASON_BYTES = 123


def valid_close_code(code):
    """True for codes a peer may send: 1000-1003, 1007-1014 and 3000-4999."""
    if 1000 <= code <= 1003 or 1007 <= code <= 1014:
        return True
    return 3000 <= code <= 4999


def parse_close(payload):
    """Return (code, reason) of a received close payload; 1005 when it is empty.

    Raises:
        ProtocolError: one-byte payload or a code a peer must not send (1002).
        InvalidUtf8: the reason is not UTF-8 (1007).
    """
    n = len(payload)
    if n == 0:
        return NO_STATUS, ""
    if n == 1:
        raise ProtocolError("close frame with a 1-byte payload")
    code = (payload[0] << 8) | payload[1]
    if not valid_close_code(code):
        raise ProtocolError("invalid close code %d" % code)
    return code, decode_utf8(payload[2:])


def close_payload(code, reason=""):
    """The payload of a close frame we send; 1005 means an empty payload.

    The reason is truncated to 123 bytes at a character boundary.
    """
    if code == NO_STATUS:
        return b""
    r = reason.encode("utf-8") if isinstance(reason, str) else bytes(reason)
    if len(r) > MAX_REASON_BYTES:
        r = r[:MAX_REASON_BYTES]
        # Drop the last character only if the cut split it.
        i = len(r) - 1
        while i > 0 and (r[i] & 0xC0) == 0x80:
            i -= 1
        lead = r[i]
        if len(r) - i < (1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4):
            r = r[:i]
    return bytes(((code >> 8) & 0xFF, code & 0xFF)) + r
