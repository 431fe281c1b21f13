"""Events the WebSocket core emits: small plain classes compared by value."""


class _Event:
    __slots__ = ()  # no per-event dict: an event is one allocation
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

    __slots__ = ("data",)
    _fields = ("data",)

    def __init__(self, data):
        self.data = data


class BinaryMessage(_Event):
    """A whole binary message (assembling connections only)."""

    __slots__ = ("data",)
    _fields = ("data",)

    def __init__(self, data):
        self.data = data


class Fragment(_Event):
    """One validated data frame (relaying connections only).

    ``opcode`` is the frame's own (text, binary or continuation); ``text`` says
    which message kind it belongs to. ``payload`` is a view into the receive
    buffer (made only when asked for) and ``hstart``/``pstart``/``pend`` bound
    the frame there: valid until the next receive call. ``masked``: the payload
    is still under the peer's mask (raw_binary relays).
    """

    __slots__ = ("opcode", "fin", "text", "hstart", "pstart", "pend", "masked", "_mv", "_payload")
    _fields = ("opcode", "fin", "payload")

    def __init__(self, opcode, fin, payload, text, hstart=0, pend=0, masked=False, mv=None, pstart=0):
        # With ``mv``, the payload is ``mv[pstart:pend]``, made only when asked for.
        self.opcode = opcode
        self.fin = fin
        self.text = text
        self.hstart = hstart
        self.pend = pend
        self.masked = masked
        self._mv = mv
        if mv is None:
            self.pstart = pend - len(payload)
            self._payload = payload
        else:
            self.pstart = pstart
            self._payload = None

    @property
    def payload(self):
        p = self._payload
        if p is None:
            p = self._payload = self._mv[self.pstart:self.pend]
        return p

    @payload.setter
    def payload(self, value):
        self._payload = value


class Ping(_Event):
    """A ping arrived (the pong is already queued)."""

    __slots__ = ("payload",)
    _fields = ("payload",)

    def __init__(self, payload):
        self.payload = payload


class Pong(_Event):
    """A pong arrived."""

    __slots__ = ("payload",)
    _fields = ("payload",)

    def __init__(self, payload):
        self.payload = payload


class CloseReceived(_Event):
    """The peer started or answered the closing handshake (1005: no status)."""

    __slots__ = ("code", "reason")
    _fields = ("code", "reason")

    def __init__(self, code, reason=""):
        self.code = code
        self.reason = reason


class ConnectionFailed(_Event):
    """The peer broke the protocol; a close with ``code`` is queued, input is discarded."""

    __slots__ = ("code", "reason")
    _fields = ("code", "reason")

    def __init__(self, code, reason):
        self.code = code
        self.reason = reason


class UpgradeRequest(_Event):
    """A valid WebSocket upgrade request (server side)."""

    __slots__ = ("method", "path", "query", "headers", "key", "protocols")
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
