"""What the relay core asks the pump to do: small typed actions, performed in order.

``side`` is ``CLIENT`` or ``BACKEND``: the stream the action is for. A
``Forward`` is a view into the *other* side's receive buffer (frames relayed
as they arrived, re-masked in place when bound for the backend): the pump
writes ``rx.mv[start:end]`` of the buffer it handed in, before that buffer is
touched again. Nothing here knows sockets or time.
"""

CLIENT = 0
BACKEND = 1
SIDE_NAMES = ("client", "backend")


class Forward:
    """Write bytes ``start:end`` of the other side's receive buffer to ``side`` (no copy)."""

    __slots__ = ("side", "start", "end")

    def __init__(self, side, start, end):
        self.side = side
        self.start = start
        self.end = end


class Write:
    """Write ``data`` (a close, a pong, a ping, a message rebuilt or rewritten) to ``side``."""

    __slots__ = ("side", "data")

    def __init__(self, side, data):
        self.side = side
        self.data = data


class EndWrite:
    """Nothing more will be written to ``side``: half-close it (the closing handshake is done or failed)."""

    __slots__ = ("side",)

    def __init__(self, side):
        self.side = side


class Close:
    """Close ``side`` once what was written to it is flushed."""

    __slots__ = ("side",)

    def __init__(self, side):
        self.side = side


class Abort:
    """Cut ``side`` now (it never answered its close)."""

    __slots__ = ("side",)

    def __init__(self, side):
        self.side = side


class Note:
    """A counter to bump (``count``) and/or a log record (``event`` with ``fields``)."""

    __slots__ = ("count", "event", "fields")

    def __init__(self, count=None, event=None, fields=None):
        self.count = count
        self.event = event
        self.fields = fields


class PeerFault:
    """The client broke the protocol (``code``): it counts towards a ban of its address."""

    __slots__ = ("code",)

    def __init__(self, code):
        self.code = code
