"""The configuration document: listeners, routes, limits and timeouts, checked field by field.

Unknown keys, wrong types, out-of-range numbers and unusable URLs are errors
naming their path. A listener is TLS (``tls: {...}``) unless ``plaintext: true``
is written; one with neither is refused (deny by default). Certificate and key
files are named here and read by the I/O layer, which reports a bad file by name.
"""

from edgegate.errors import FieldError

from . import limits as _limits


class ConfigError(FieldError):
    """The document is invalid; ``path`` names the field."""

    def __init__(self, path, msg):
        super().__init__("%s: %s" % (path, msg))
        self.path = path


class SniEntry:
    def __init__(self, names, cert, key):
        self.names = names
        self.cert = cert
        self.key = key


class TlsSettings:
    """A listener's TLS: which engine, its certificate(s), and client certificates."""

    def __init__(self, backend, cert, key, sni, client_ca, client_cert, handshake_ms):
        self.backend = backend
        self.cert = cert
        self.key = key
        self.sni = sni
        self.client_ca = client_ca
        self.client_cert = client_cert
        self.handshake_ms = handshake_ms

    def key_tuple(self):
        return (self.backend, self.cert, self.key, self.client_ca, self.client_cert, self.handshake_ms,
                tuple((tuple(e.names), e.cert, e.key) for e in self.sni))


class BackendTls:
    """How a wss:// backend is verified: a CA bundle and the name its certificate must carry."""

    def __init__(self, ca, server_name):
        self.ca = ca
        self.server_name = server_name


class Listener:
    def __init__(self, host, port, plaintext, tls=None):
        self.host = host
        self.port = port
        self.plaintext = plaintext
        self.tls = tls

    def key(self):
        return (self.host, self.port, self.plaintext, self.tls.key_tuple() if self.tls else None)

    def __repr__(self):
        return "Listener(%s:%d%s)" % (self.host, self.port, " plaintext" if self.plaintext else " tls")


class Route:
    """A path (exact or prefix) and the backend it relays to."""

    def __init__(self, path, exact, backend_url, backend_tls=None):
        self.path = path
        self.exact = exact
        self.backend_url = backend_url
        self.backend_host, self.backend_port, self.backend_path = parse_ws_url(backend_url)
        self.backend_tls = backend_tls  # set for wss:// backends
        self.policy = None  # a RoutePolicy (edgegate.config.policy), set by parse
        self.messages = None  # the message policy's name, or None: client messages pass unchecked
        self.messages_by_subprotocol = {}  # negotiated sub-protocol -> message policy name
        self.messages_to_client = None  # the same, for what the backend sends the client
        self.messages_to_client_by_subprotocol = {}

    def pipeline_for(self, direction, protocol):
        """The message policy (pipeline) name for ``direction`` ("client": what the client sends the
        backend; "backend": what the backend sends the client) of a session that negotiated
        ``protocol``, or None: those messages pass unchecked."""
        if direction == "client":
            name, by = self.messages, self.messages_by_subprotocol
        elif direction == "backend":
            name, by = self.messages_to_client, self.messages_to_client_by_subprotocol
        else:
            raise ValueError("direction is client or backend")
        return by.get(protocol, name) if protocol else name

    def message_policy_for(self, protocol):
        """The message policy name for what a client that negotiated ``protocol`` sends (or None)."""
        return self.pipeline_for("client", protocol)

    def matches(self, path):
        if self.exact:
            return path == self.path
        p = self.path
        if p == "/" or path == p:
            return True
        return path.startswith(p if p.endswith("/") else p + "/")

    def backend_target(self, path, query):
        """The request target to send the backend for a client's path and query."""
        if self.backend_path == "/":
            target = path
        elif self.exact:
            target = self.backend_path
        else:
            rest = path[len(self.path.rstrip("/")):]
            target = self.backend_path.rstrip("/") + rest if rest else self.backend_path
        return target + ("?" + query if query else "")

    def __repr__(self):
        return "Route(%s%s -> %s)" % (self.path, "" if self.exact else "*", self.backend_url)


class Console:
    """Console login settings; ``password_hash`` None means nobody can log in."""

    def __init__(self, password_hash, max_failures, lockout_ms, idle_logout_ms):
        self.password_hash = password_hash
        self.max_failures = max_failures
        self.lockout_ms = lockout_ms
        self.idle_logout_ms = idle_logout_ms


CONSOLE_DEFAULTS = {"max_failures": 5, "lockout_ms": 60000, "idle_logout_ms": 600000}


class Config:
    def __init__(self, board, listeners, routes, limits, timeouts, console=None, jwt=None, api_keys=None,
                 admission=None, message_policies=None):
        self.board = board
        self.listeners = listeners
        self.routes = routes
        self.limits = limits
        self.timeouts = timeouts
        self.console = console or Console(None, 5, 60000, 600000)
        self.jwt = jwt
        self.api_keys = api_keys or {}
        if admission is None:
            from .policy import admission as _adm

            admission = _adm({})
        self.admission = admission
        self.message_policies = message_policies or {}  # name -> messages.MessageSettings

    def route_for(self, path):
        """The route a path selects: an exact match first, then the longest prefix."""
        best = None
        for r in self.routes:
            if r.matches(path):
                if r.exact:
                    return r
                if best is None or len(r.path) > len(best.path):
                    best = r
        return best


def parse_ws_url(url):
    """Return (host, port, path) of a ws:// or wss:// URL, or raise ValueError."""
    if not isinstance(url, str) or not (url.startswith("ws://") or url.startswith("wss://")):
        raise ValueError("not a ws:// or wss:// URL")
    secure = url.startswith("wss://")
    rest = url[6:] if secure else url[5:]
    i = rest.find("/")
    hostport, path = (rest, "/") if i < 0 else (rest[:i], rest[i:])
    if hostport.startswith("["):
        j = hostport.find("]")
        if j < 0:
            raise ValueError("unclosed [ in host")
        host, portpart = hostport[1:j], hostport[j + 1:]
    else:
        j = hostport.rfind(":")
        host, portpart = (hostport, "") if j < 0 else (hostport[:j], hostport[j:])
    if portpart:
        if portpart[0] != ":" or not portpart[1:].isdigit():
            raise ValueError("bad port")
        port = int(portpart[1:])
    else:
        port = 443 if secure else 80
    if not host or not 0 < port < 65536:
        raise ValueError("bad host or port")
    for c in host:
        if not (c.isalpha() or c.isdigit() or c in ".-:_"):
            raise ValueError("bad character %r in host" % c)
    for c in path:
        if c in " \r\n\t":
            raise ValueError("whitespace in path")
    return host, port, path


def _expect_dict(v, path, keys):
    if not isinstance(v, dict):
        raise ConfigError(path, "must be an object")
    for k in v:
        if k not in keys:
            raise ConfigError("%s.%s" % (path, k) if path else k, "unknown key")


def _int(v, path, lo, hi):
    if type(v) is not int or v < lo or v > hi:
        raise ConfigError(path, "must be an integer from %d to %d" % (lo, hi))
    return v


def _str(v, path):
    if not isinstance(v, str) or not v:
        raise ConfigError(path, "must be a non-empty string")
    return v


def _tls(v, path):
    _expect_dict(v, path, ("backend", "cert", "key", "sni", "client_ca", "client_cert", "handshake_ms"))
    backend = v.get("backend", "mbedtls")
    if backend not in ("mbedtls", "ssl"):
        raise ConfigError(path + ".backend", "must be mbedtls or ssl")
    for k in ("cert", "key"):
        if k not in v:
            raise ConfigError(path + "." + k, "missing")
    cert = _str(v["cert"], path + ".cert")
    key = _str(v["key"], path + ".key")
    client_cert = v.get("client_cert", "none")
    if client_cert not in ("none", "optional", "required"):
        raise ConfigError(path + ".client_cert", "must be none, optional or required")
    if client_cert == "optional" and backend == "mbedtls":
        raise ConfigError(path + ".client_cert",
                          "optional needs backend ssl (python-mbedtls verifies either required or none)")
    client_ca = v.get("client_ca")
    if client_cert != "none" and client_ca is None:
        raise ConfigError(path + ".client_ca", "missing: client certificates are verified against it")
    if client_ca is not None:
        _str(client_ca, path + ".client_ca")
    hs = _int(v.get("handshake_ms", 5000), path + ".handshake_ms", 1, 600000)
    sni = []
    entries = v.get("sni", [])
    if not isinstance(entries, list):
        raise ConfigError(path + ".sni", "must be a list")
    for i, e in enumerate(entries):
        p = "%s.sni[%d]" % (path, i)
        _expect_dict(e, p, ("names", "cert", "key"))
        names = e.get("names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(p + ".names", "must be a non-empty list of names")
        for k in ("cert", "key"):
            if k not in e:
                raise ConfigError(p + "." + k, "missing")
        sni.append(SniEntry(names, _str(e["cert"], p + ".cert"), _str(e["key"], p + ".key")))
    return TlsSettings(backend, cert, key, sni, client_ca, client_cert, hs)


def _listener(v, path):
    _expect_dict(v, path, ("host", "port", "plaintext", "tls"))
    host = v.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host:
        raise ConfigError(path + ".host", "must be a non-empty string")
    if "port" not in v:
        raise ConfigError(path + ".port", "missing")
    port = _int(v["port"], path + ".port", 0, 65535)  # 0: the OS picks (tests)
    plaintext = v.get("plaintext", False)
    if type(plaintext) is not bool:
        raise ConfigError(path + ".plaintext", "must be true or false")
    tls = v.get("tls")
    if plaintext and tls is not None:
        raise ConfigError(path + ".tls", "set, but plaintext is true: choose one")
    if not plaintext and tls is None:
        raise ConfigError(path + ".tls", "missing: a listener is TLS unless plaintext: true is written")
    return Listener(host, port, plaintext, _tls(tls, path + ".tls") if tls is not None else None)


def _route(v, path):
    _expect_dict(v, path, ("path", "match", "backend", "origins", "allow_missing_origin", "subprotocols",
                           "require_subprotocol", "max_conns", "auth", "messages", "messages_by_subprotocol",
                           "messages_to_client", "messages_to_client_by_subprotocol"))
    p = v.get("path")
    if not isinstance(p, str) or p[:1] != "/":
        raise ConfigError(path + ".path", "must be a string starting with /")
    # Requests are routed on their normalised path: a route path that normalisation would change
    # can never match, and one it refuses is a path every request with it gets 400 for.
    from edgegate.policy.target import TargetError, normalise_path
    from edgegate.rt import json_dumps

    try:
        n = normalise_path(p)
    except TargetError as e:
        # Written with raw non-ASCII or spaces: percent-encoded (UTF-8) it may have a normal form.
        try:
            n = normalise_path("".join(c if " " < c < "\x7f" else "".join("%%%02X" % b for b in c.encode())
                                       for c in p))
        except (TargetError, UnicodeError):  # UnicodeError: a lone surrogate has no UTF-8
            n = None
        if n is None:
            raise ConfigError(path + ".path", "%s never matches: %s, and a request with it gets 400"
                              % (json_dumps(p), e)) from None
    if n != p:
        raise ConfigError(path + ".path", "%s never matches: a request's path is normalised before routing; write %s"
                          % (json_dumps(p), json_dumps(n)))
    match = v.get("match", "prefix")
    if match not in ("prefix", "exact"):
        raise ConfigError(path + ".match", "must be prefix or exact")
    b = v.get("backend")
    _expect_dict(b, path + ".backend", ("url", "tls"))
    url = b.get("url")
    try:
        route = Route(p, match == "exact", url)
    except ValueError as e:
        raise ConfigError(path + ".backend.url", str(e)) from None
    t = b.get("tls")
    tp = path + ".backend.tls"
    if url.startswith("wss://"):
        if t is None:
            raise ConfigError(tp, "missing: a wss:// backend is verified against tls.ca")
        _expect_dict(t, tp, ("ca", "server_name"))
        if "ca" not in t:
            raise ConfigError(tp + ".ca", "missing")
        name = t.get("server_name", route.backend_host)
        route.backend_tls = BackendTls(_str(t["ca"], tp + ".ca"), _str(name, tp + ".server_name"))
    elif t is not None:
        raise ConfigError(tp, "set, but the backend is ws:// (plaintext)")
    return route


def _console(v):
    _expect_dict(v, "console", ("password_hash",) + tuple(CONSOLE_DEFAULTS))
    ph = v.get("password_hash")
    if ph is not None:
        from .secrets import parse_hash

        try:
            parse_hash(ph)
        except ValueError as e:
            raise ConfigError("console.password_hash", str(e)) from None
    vals = dict(CONSOLE_DEFAULTS)
    for k in CONSOLE_DEFAULTS:
        if k in v:
            vals[k] = _int(v[k], "console." + k, 1, 86400000)
    return Console(ph, vals["max_failures"], vals["lockout_ms"], vals["idle_logout_ms"])


def safe_defaults(board):
    """What a box runs when no stored config is usable: no listener, no route (deny all)."""
    lim = dict(_limits.LIMIT_DEFAULTS)
    lim.update(board.get("limits", {}))
    _limits.derive(lim, board.get("mem_budget_bytes", 64 << 20), False)
    tmo = dict(_limits.TIMEOUT_DEFAULTS)
    return Config(board.get("name", "?"), [], [], lim, tmo)


def _json_kind(v):
    if isinstance(v, list):
        return "an array"
    if isinstance(v, str):
        return "a string"
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    return "a number"


def _bare(host):
    h = host.lower()
    return h[1:-1] if h[:1] == "[" and h[-1:] == "]" else h


def _same_address(a, b):
    """Whether two listen hosts take the same address (literals only; names are resolved by the I/O side)."""
    a, b = _bare(a), _bare(b)
    if a == b:
        return True
    for wild, other in ((a, b), (b, a)):
        if wild == "0.0.0.0" and len(other.split(".")) == 4 and all(p.isdigit() for p in other.split(".")):
            return True
        if wild == "::" and ":" in other:
            return True
    return False


def _one_listener_per_address(listeners):
    for j, b in enumerate(listeners):
        for i in range(j):
            a = listeners[i]
            if a.port and a.port == b.port and _same_address(a.host, b.host):
                raise ConfigError("listen[%d]" % j, "%s:%d takes the address of listen[%d] (%s:%d): one listener"
                                  " per address and port" % (b.host, b.port, i, a.host, a.port))


def parse(doc, board, name="document"):
    """Validate ``doc`` (a dict) for ``board`` (a profile dict) and return a Config.

    ``name`` is what an error calls the document itself (a file name, say).

    Raises:
        ConfigError: naming the first invalid field.
    """
    if not isinstance(doc, dict):
        raise ConfigError(name, "must be a JSON object, not %s" % _json_kind(doc))
    _expect_dict(doc, "", ("listen", "routes", "limits", "timeouts", "console", "auth", "admission", "message_policies"))
    ls = doc.get("listen")
    if not isinstance(ls, list) or not ls:
        raise ConfigError("listen", "must be a non-empty list")
    listeners = [_listener(v, "listen[%d]" % i) for i, v in enumerate(ls)]
    _one_listener_per_address(listeners)
    rs = doc.get("routes", [])
    if not isinstance(rs, list):
        raise ConfigError("routes", "must be a list")
    routes = [_route(v, "routes[%d]" % i) for i, v in enumerate(rs)]
    from . import messages as _messages
    from . import policy as _policy
    lim = dict(_limits.LIMIT_DEFAULTS)
    lim.update(board.get("limits", {}))
    budget = board.get("mem_budget_bytes", 64 << 20)
    over = doc.get("limits", {})
    _expect_dict(over, "limits", tuple(lim) + ("max_conns", "ring_pool_rings", "assembly_pool_bytes"))
    for k, v in over.items():
        _int(v, "limits." + k, 1, 1 << 40)
    lim.update(over)
    lim["tls_sides"] = (1 if any(ln.tls is not None for ln in listeners) else 0) + \
        (1 if any(r.backend_tls is not None for r in routes) else 0)
    _limits.derive(lim, budget, bool(doc.get("message_policies")))
    bad = _limits.check(lim, budget)
    if bad is not None:
        raise ConfigError(bad[0], bad[1])
    tmo = dict(_limits.TIMEOUT_DEFAULTS)
    tmo.update(board.get("timeouts", {}))
    t_over = doc.get("timeouts", {})
    _expect_dict(t_over, "timeouts", tuple(tmo))
    for k, v in t_over.items():
        tmo[k] = _int(v, "timeouts." + k, 1, 86400000)
    console = _console(doc.get("console", {}))
    _expect_dict(doc, "", ("listen", "routes", "limits", "timeouts", "console", "auth", "admission", "message_policies"))
    mps = _messages.message_policies(doc, lim["max_message_bytes"], lim["admission_table_entries"])
    for i, r in enumerate(routes):
        r.policy = _policy.route_policy(rs[i], "routes[%d]" % i, lim["max_conns"])
        r.messages, r.messages_by_subprotocol = _messages.route_messages(
            rs[i], "routes[%d]" % i, mps, r.policy.subprotocols)
        r.messages_to_client, r.messages_to_client_by_subprotocol = _messages.route_messages(
            rs[i], "routes[%d]" % i, mps, r.policy.subprotocols, "messages_to_client")
    jwt, api = _policy.auth(doc)
    _policy.check_routes(routes, jwt, api, lambda i: "routes[%d]" % i)
    return Config(board.get("name", "?"), listeners, routes, lim, tmo, console, jwt, api, _policy.admission(doc),
                  mps)
