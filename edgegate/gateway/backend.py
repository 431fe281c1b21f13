"""Connecting to a ws:// backend: TCP, the client handshake, and the 502 answers.

The caller bounds the whole of ``open_backend`` with the route's deadline and
answers 504 when it expires.
"""

from edgegate import rt
from edgegate.policy.target import TargetError, normalise_path
from edgegate.rt import net
from edgegate.ws.errors import HandshakeError
from edgegate.ws.handshake import client_request, new_key, parse_response


def header_value_ok(value):
    """True when ``value`` can be written as a header value as is: a string with no C0 or C1 control
    (CR, LF and NUL among them), no DEL and no surrogate (it has no UTF-8)."""
    if not isinstance(value, str):
        return False
    for c in value:
        o = ord(c)
        if o < 0x20 or 0x7F <= o <= 0x9F or 0xD800 <= o <= 0xDFFF:
            return False
    return True


def host_header(host, port):
    h = "[%s]" % host if ":" in host else host
    return h if port == 80 else "%s:%d" % (h, port)


async def open_backend(route, req, limits, forwarded_for, rings, tls_ctx=None, proto="ws", accept=None):
    """Open the backend of ``route`` for upgrade request ``req``.

    ``rings`` lends the receive buffer (see ``edgegate.rt.net``); ``tls_ctx``
    (an Mbed TLS ClientContext) makes it wss://, verified against the route's
    CA with its pinned server name. ``proto`` is the client's scheme (ws/wss).
    ``accept`` (the admission decision) gives the sub-protocols to offer, the
    normalised path the route was chosen on (never the raw one: the backend
    reads the path admission judged), the query to forward (the token
    parameter removed in every spelling) and the principal, sent as
    ``X-Edgegate-Principal``; credentials themselves are never forwarded.
    Admission lets only printable principals through; a principal that still
    holds a control character (CR, LF, NUL...) is refused here with 500
    before the backend is dialled, never written.
    Returns (stream, chosen sub-protocol or None).
    Raises:
        HandshakeError: status 502 when the backend is unreachable or refuses; 500 when the
            principal cannot be sent as a header value.
    """
    if accept is not None and accept.principal is not None and not header_value_ok(accept.principal):
        raise HandshakeError("principal cannot be sent in a header", 500)
    path = accept.path if accept is not None else None
    if path is None:
        try:
            path = normalise_path(req.path)
        except TargetError as e:
            raise HandshakeError("request target: %s" % e, 400) from None
    kw = {}
    if tls_ctx is not None:
        from .tls import MbedTlsStream

        kw = {"stream_class": MbedTlsStream, "stream_args": (tls_ctx, route.backend_tls.server_name)}
    try:
        stream = await net.connect(route.backend_host, route.backend_port, rings, limits["write_buffer_bytes"],
                                   **kw)
    except OSError as e:
        raise HandshakeError("backend %s unreachable: %s" % (route.backend_url, e), 502) from None
    try:
        if tls_ctx is not None:
            from .tls import TlsError

            try:
                await stream.handshake()
            except TlsError as e:
                raise HandshakeError("backend %s: %s" % (route.backend_url, e), 502) from None
        key = new_key(rt.rand_bytes)
        headers = [("X-Forwarded-For", forwarded_for), ("X-Forwarded-Proto", proto)]
        origin = req.header("origin")
        if origin is not None:
            headers.append(("Origin", origin))
        protocols, query = req.protocols, req.query
        if accept is not None:
            protocols, query = accept.forward_protocols, accept.query
            if accept.principal is not None:
                headers.append(("X-Edgegate-Principal", accept.principal))
        target = route.backend_target(path, query)
        stream.write(client_request(host_header(route.backend_host, route.backend_port),
                                    target, key, protocols, headers))
        while True:
            if await stream.fill() == 0:
                raise HandshakeError("backend closed during the handshake", 502)
            res = parse_response(stream.rx, key, protocols, limits["max_header_bytes"],
                                 limits["max_headers"])
            if res is not None:
                stream.release_rx()
                return stream, res[0]
    except BaseException:
        stream.abort()
        raise
