"""Refusals at the upgrade: an HTTP status, a fixed reason for the audit log, headers to send."""

from edgegate.ws.errors import EdgegateError


class Reject(EdgegateError):
    """The upgrade is refused with ``status``; ``reason`` is a fixed word list, never peer text."""

    def __init__(self, status, reason, headers=(), kind="policy"):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers
        self.kind = kind  # auth, origin, subprotocol, rate, capacity, ban, route


class AuthError(EdgegateError):
    """A credential was refused; the message says why (it never contains the credential)."""
