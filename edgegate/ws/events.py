"""Events the WebSocket core emits: small plain classes compared by value."""


class _Event:
    _fields = ()

    def __eq__(self, o):
        if type(o) is not type(self):
            return False
        for f in self._fields:
            if getattr(self, f) != getattr(o, f):
                return False
        return True

    def __repr__(self):
        return "%s(%s)" % (
            type(self).__name__,
            ", ".join(repr(getattr(self, f)) for f in self._fields),
        )


class TextMessage(_Event):
    """A whole text message (assembling connections only)."""

    _fields = ("data",)

    def __init__(self, data):
        self.data = data


class BinaryMessage(_Event):
    """A whole binary message (assembling connections only)."""

    _fields = ("data",)

    def __init__(self, data):
        self.data = data


class Fragment(_Event):
    """One validated data frame (relaying connections only).

    ``opcode`` is the frame's own (text, binary or continuation); ``text`` says
    which message kind it belongs to. ``payload`` is a view into the receive
    buffer and ``hstart``/``pend`` bound the whole frame there: valid until the
    next receive call.
    """

    _fields = ("opcode", "fin", "payload")

    def __init__(self, opcode, fin, payload, text, hstart=0, pend=0, masked=False):
        self.masked = masked  # payload still under the peer's mask (raw_binary relays)
        self.opcode = opcode
        self.fin = fin
        self.payload = payload
        self.text = text
        self.hstart = hstart
        self.pend = pend


class Ping(_Event):
    """A ping arrived (the pong is already queued)."""

    _fields = ("payload",)

    def __init__(self, payload):
        self.payload = payload


class Pong(_Event):
    """A pong arrived."""

    _fields = ("payload",)

    def __init__(self, payload):
        self.payload = payload


class CloseReceived(_Event):
    """The peer started or answered the closing handshake (1005: no status)."""

    _fields = ("code", "reason")

    def __init__(self, code, reason=""):
        self.code = code
        self.reason = reason


class ConnectionFailed(_Event):
    """The peer broke the protocol; a close with ``code`` is queued, input is discarded."""

    _fields = ("code", "reason")

    def __init__(self, code, reason):
        self.code = code
        self.reason = reason


class UpgradeRequest(_Event):
    """A valid WebSocket upgrade request (server side)."""

    _fields = ("path", "query", "key", "protocols")

    def __init__(self, method, path, query, headers, key, protocols):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.key = key
        self.protocols = protocols

    def header(self, name, default=None):
        """The value of the first header called ``name`` (lowercase), or default."""
        for k, v in self.headers:
            if k == name:
                return v
        return default
