"""One root for every error edgegate raises on purpose, in families by what happens next.

``EdgegateError`` is the root. Below it, each family says what its errors turn
into, so a caller catches the family and never re-wraps one error in another:

- ``Rejection``: the HTTP upgrade is answered with ``status`` (and ``headers``)
  and no WebSocket opens. ``ws.errors.HandshakeError`` (the request or the
  backend's answer broke RFC 6455 / RFC 7230), ``policy.errors.Reject``
  (admission said no: ban, rate, route, origin, authentication, capacity).
- ``Refusal``: an open WebSocket is closed with ``close_code`` (RFC 6455 7.4).
  ``ws.errors.ProtocolError`` and its ``PayloadTooBig`` (1009) and
  ``InvalidUtf8`` (1007), ``policy.errors.MessageRefused`` (a message rule;
  ``drop`` discards the message instead, and ``close_code`` is what a close
  would have said).
- ``FieldError``: a configuration is refused; ``path`` names the field
  (``config.model.ConfigError``).
- ``MaterialError``: a file the configuration names (certificate, private key,
  CA, JWT secret or public key, JWKS) cannot be used; the message names the
  file, and ``file`` holds its path where the reader knew it (else None).
  ``gateway.tls.TlsError`` (which also reports a failed TLS handshake, with
  ``file`` None) and ``gateway.keys.KeyFileError``.

Outside the families, directly under the root: ``ws.errors.LocalProtocolError``
(the caller misused the API: a bug, never the peer's doing),
``policy.errors.AuthError`` (a credential was refused; its caller decides what
that means: 401 before the upgrade, 1008 for a token refreshed in session) and
``console.ops.OpsError`` (a console command failed; the shell prints it).

Every message is for logs and operators; what goes on the wire is only the
status or close code and a fixed reason, never peer-controlled text.
Portable: no imports, compiles with mpy-cross.
"""


class EdgegateError(Exception):
    """Root of every error edgegate raises on purpose."""


class Rejection(EdgegateError):
    """The HTTP upgrade is refused: answer ``status`` with ``headers`` (name, value pairs)."""

    status = 400
    headers = ()


class Refusal(EdgegateError):
    """The WebSocket is closed with ``close_code`` (RFC 6455 7.4.1)."""

    close_code = 1008


class FieldError(EdgegateError):
    """A configuration is refused; ``path`` names the field (``listen[0].tls``, ``limits.max_conns``)."""

    path = ""


class MaterialError(EdgegateError):
    """A file the configuration names cannot be used; the message names it (never its content).

    ``file`` is its path where the raiser passed it, else None.
    """

    def __init__(self, msg, file=None):
        super().__init__(msg)
        self.file = file
