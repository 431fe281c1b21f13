"""Preflight: what ``run`` needs from the host beyond a valid document, checked before it serves.

``edgegate run`` calls ``preflight`` before it opens a listener, and
``edgegate check`` calls the same function, so both refuse the same configs
with the same words. The config core has already checked the document
without I/O; this checks the rest with the loaders the gateway itself uses:
every listen host resolves as the listener will bind it (``check_hosts``), no
two listeners take one address once names are resolved, and every
certificate, key and credential file the config names loads
(``check_files``: ``prepare_tls`` and ``load_keys``). A problem is a
``ConfigError`` naming the field; the loader's own message names the file.
"""

import socket

from edgegate.config import ConfigError


class _Part:
    """A Config cut down to one listener or one route, so a failure names its field."""

    def __init__(self, listeners=(), routes=()):
        self.listeners = list(listeners)
        self.routes = list(routes)


def _addresses(host, port):
    # As asyncio's create_server resolves a listen host: any family, passive, stream.
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    return set((family, sockaddr[0]) for family, _, _, _, sockaddr in infos)


_ANY = ("0.0.0.0", "::")


def _shared(a, b):
    """An address two listeners would both take, or None (a wildcard takes its whole family)."""
    for fa, ha in a:
        for fb, hb in b:
            if fa == fb and (ha == hb or ha in _ANY or hb in _ANY):
                return hb if ha in _ANY else ha
    return None


def check_hosts(cfg):
    """Every listen host resolves, and no two listeners take one address (raises ConfigError)."""
    resolved = []
    for i, ln in enumerate(cfg.listeners):
        try:
            addrs = _addresses(ln.host, ln.port)
        except (OSError, UnicodeError) as e:
            raise ConfigError("listen[%d].host" % i, "%s does not resolve (%s)"
                              % (ln.host, getattr(e, "strerror", None) or e)) from None
        for j, (other, other_addrs) in enumerate(resolved):
            if ln.port and ln.port == other.port:
                shared = _shared(addrs, other_addrs)
                if shared is not None:
                    raise ConfigError("listen[%d]" % i, "%s:%d takes the address of listen[%d] (%s:%d) on %s:"
                                      " one listener per address and port"
                                      % (ln.host, ln.port, j, other.host, other.port, shared))
        resolved.append((ln, addrs))


def check_files(cfg):
    """Every certificate, key and credential file loads as ``run`` loads it (raises ConfigError)."""
    from .keys import KeyFileError, load_keys
    from .server import prepare_tls
    from edgegate.errors import MaterialError

    def load(part, field):
        try:
            prepare_tls(part)
        except MaterialError as e:
            raise ConfigError(field, str(e)) from None
        except ImportError as e:
            raise ConfigError(field, "cannot load its TLS engine (%s)" % e) from None

    for i, ln in enumerate(cfg.listeners):
        if ln.tls is not None:
            load(_Part(listeners=[ln]), "listen[%d].tls" % i)
    for i, r in enumerate(cfg.routes):
        if r.backend_tls is not None:
            load(_Part(routes=[r]), "routes[%d].backend.tls.ca" % i)
    try:
        load_keys(cfg)
    except KeyFileError as e:
        raise ConfigError("auth.jwt", str(e)) from None


def preflight(cfg):
    """Everything ``run`` would trip over in the host before serving ``cfg`` (raises ConfigError)."""
    check_hosts(cfg)
    check_files(cfg)
