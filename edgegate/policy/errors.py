"""Refusals: of an upgrade (an HTTP status) and of a client message (a close code or a drop)."""

from edgegate.errors import EdgegateError, Refusal, Rejection


class Reject(Rejection):
    """The upgrade is refused with ``status``; ``reason`` is a fixed word list, never peer text."""

    def __init__(self, status, reason, headers=(), kind="policy"):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers
        self.kind = kind  # auth, origin, subprotocol, rate, capacity, ban, route


class AuthError(EdgegateError):
    """A credential was refused; the message says why (it never contains the credential).

    Not a ``Rejection`` nor a ``Refusal``: the caller decides what it becomes
    (admission: ``Reject`` 401; a token refreshed in session: close 1008).
    """


class MessageRefused(Refusal):
    """A client message the chain refuses: close with ``code`` unless ``drop`` (discard it, go on).

    ``rule`` is type, size, rate, json, shape, signature or capacity (the
    gateway-wide assembly pool is full: 1013); ``detail`` says
    where and which, never the message's content.
    """

    def __init__(self, code, rule, detail, drop=False):
        super().__init__("%s: %s" % (rule, detail))
        self.code = code
        self.rule = rule
        self.detail = detail
        self.drop = drop

    @property
    def close_code(self):
        """``code``, under the name every ``Refusal`` carries it."""
        return self.code
