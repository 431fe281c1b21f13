"""Typed errors of the WebSocket core; each carries its wire outcome.

``ProtocolError`` subclasses carry the close code to send; ``HandshakeError``
carries the HTTP status. ``reason`` is the fixed text put on the wire (never
peer-controlled); the exception message, with numbers, goes to logs only.
They are members of the families in ``edgegate.errors`` (``EdgegateError`` is
re-exported here under its old import path).
"""

from edgegate.errors import EdgegateError, Refusal, Rejection

__all__ = ("EdgegateError", "HandshakeError", "InvalidUtf8", "LocalProtocolError", "PayloadTooBig", "ProtocolError")


class ProtocolError(Refusal):
    """The peer broke RFC 6455; close with ``close_code``."""

    close_code = 1002
    reason = "protocol error"

    def __init__(self, msg, close_code=0):
        super().__init__(msg)
        if close_code:
            self.close_code = close_code


class PayloadTooBig(ProtocolError):
    """A frame or message is over its configured limit (RFC 6455 7.4.1: 1009)."""

    close_code = 1009
    reason = "message too big"


class InvalidUtf8(ProtocolError):
    """Text payload or close reason is not UTF-8 (RFC 6455 8.1: 1007)."""

    close_code = 1007
    reason = "invalid utf-8"


class HandshakeError(Rejection):
    """The HTTP upgrade failed; answer (server) or report (client) ``status``."""

    status = 400

    def __init__(self, msg, status=0, headers=()):
        super().__init__(msg)
        if status:
            self.status = status
        self.headers = headers


class LocalProtocolError(EdgegateError):
    """The caller misused the API (e.g. sent data after close); a bug, not the peer."""
