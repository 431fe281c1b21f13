"""The admission part of the config: per-route policy, credentials, and connection-request limits.

routes[i]: ``origins`` (allow-list, ``"*"`` for any), ``allow_missing_origin``,
``subprotocols`` (allow-list), ``require_subprotocol``, ``max_conns``, and
``auth`` {``methods``: jwt / api_key / client_cert (any one suffices; none set:
an open route), ``query_param`` (a token in the query, only if named),
``protocol_prefix`` (a token carried as a Sec-WebSocket-Protocol entry,
default ``bearer.``), ``api_key_header`` (default x-api-key), ``refresh``
{``field``, ``value``, ``token_field``}: a one-frame text message that is a
JSON object whose ``field`` equals ``value`` carries a fresh JWT in
``token_field``; it extends the session and is not forwarded}.
Top level: ``auth.jwt`` {keys: [{kid, alg, secret_file | public_key_file}],
jwks_file, issuer, audience, leeway_s, grace_s}, ``auth.api_keys`` [{id,
sha256}] (hashes only: a key is never stored), and ``admission`` (rates, caps,
bans). Key files are read by the I/O layer.
"""

from edgegate.rt import json_dumps

from .model import ConfigError, _expect_dict, _int, _str

METHODS = ("jwt", "api_key", "client_cert")
JWT_ALGS = ("HS256", "HS384", "HS512", "RS256", "ES256")


class RoutePolicy:
    def __init__(self, origins, allow_missing_origin, subprotocols, require_subprotocol, max_conns,
                 methods, query_param, protocol_prefix, api_key_header, refresh=None):
        self.refresh = refresh  # (field, value, token_field) or None
        self.origins = origins
        self.allow_missing_origin = allow_missing_origin
        self.subprotocols = subprotocols
        self.require_subprotocol = require_subprotocol
        self.max_conns = max_conns
        self.methods = methods
        self.query_param = query_param
        self.protocol_prefix = protocol_prefix
        self.api_key_header = api_key_header


class JwtSettings:
    def __init__(self, keys, jwks_file, issuer, audience, leeway_s, grace_s):
        self.keys = keys  # [(kid, alg, "secret"|"public", path)]
        self.jwks_file = jwks_file
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        self.grace_s = grace_s


class AdmissionSettings:
    def __init__(self, d):
        self.ip_rate_per_s = d["upgrades_per_ip_per_s"]
        self.ip_burst = d["upgrades_per_ip_burst"]
        self.principal_rate_per_s = d["upgrades_per_principal_per_s"]
        self.principal_burst = d["upgrades_per_principal_burst"]
        self.max_conns_per_ip = d["max_conns_per_ip"]
        self.max_conns_per_principal = d["max_conns_per_principal"]
        self.ban_after_failures = d["ban_after_failures"]
        self.ban_window_s = d["ban_window_s"]
        self.ban_s = d["ban_s"]


ADMISSION_DEFAULTS = {
    "upgrades_per_ip_per_s": 20,
    "upgrades_per_ip_burst": 40,
    "upgrades_per_principal_per_s": 10,
    "upgrades_per_principal_burst": 20,
    "max_conns_per_ip": 256,
    "max_conns_per_principal": 64,
    "ban_after_failures": 20,
    "ban_window_s": 60,
    "ban_s": 300,
}


def _bool(v, path):
    if type(v) is not bool:
        raise ConfigError(path, "must be true or false")
    return v


def _strlist(v, path):
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(path, "must be a list of non-empty strings")
    return v


_SCHEME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789+.-"
_HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~"
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_ORIGIN_FORM = "a browser sends scheme://host[:port], lowercase, with no default port and no path"


def _serialised(origin):
    """What a browser would send for ``origin`` (RFC 6454 section 6.2), or raise ValueError saying why not."""
    for c in origin:
        if ord(c) <= 32 or ord(c) >= 127:
            raise ValueError("a space, control or non-ASCII character (a browser sends an international"
                             " name in its xn-- form)")
    if "*" in origin:
        raise ValueError('"*" is a wildcard only alone (any origin)')
    i = origin.find("://")
    if i <= 0:
        raise ValueError("no scheme: " + _ORIGIN_FORM)
    scheme = origin[:i].lower()
    if scheme[0] not in "abcdefghijklmnopqrstuvwxyz" or any(c not in _SCHEME_CHARS for c in scheme):
        raise ValueError("not a scheme: " + _ORIGIN_FORM)
    rest = origin[i + 3:]
    for sep in "/?#":
        j = rest.find(sep)
        if j >= 0:
            rest = rest[:j]
    rest = rest[rest.rfind("@") + 1:].lower()  # userinfo is never part of an origin
    if rest.startswith("["):
        j = rest.find("]")
        host, port = rest[:j + 1], rest[j + 1:]
        ok = j > 1 and all(c in "0123456789abcdef:." for c in host[1:-1])
    else:
        j = rest.rfind(":")
        host, port = (rest, "") if j < 0 else (rest[:j], rest[j:])
        ok = bool(host) and all(c in _HOST_CHARS for c in host)
    if not ok:
        raise ValueError("no host: " + _ORIGIN_FORM)
    if port:
        digits = port[1:]
        if not digits or any(c not in "0123456789" for c in digits) or not 0 < int(digits) < 65536:
            raise ValueError("not a port from 1 to 65535")
        digits = str(int(digits))
        port = "" if _DEFAULT_PORTS.get(scheme) == digits else ":" + digits
    return scheme + "://" + host + port


def _origins(v, path):
    """routes[i].origins: "*", "null" or serialised origins; anything else could never match."""
    origins = _strlist(v, path)
    for i, o in enumerate(origins):
        if o in ("*", "null"):
            continue
        try:
            s = _serialised(o)
        except ValueError as e:
            raise ConfigError("%s[%d]" % (path, i), "%s never matches: %s" % (json_dumps(o), e)) from None
        if s != o:
            raise ConfigError("%s[%d]" % (path, i), "%s never matches: %s; write %s"
                              % (json_dumps(o), _ORIGIN_FORM, json_dumps(s)))
    return origins


def route_policy(v, path, max_conns):
    """The policy fields of routes[i] (``v`` is the whole route object)."""
    origins = _origins(v["origins"], path + ".origins") if "origins" in v else []
    allow_missing = _bool(v.get("allow_missing_origin", True), path + ".allow_missing_origin")
    subs = _strlist(v["subprotocols"], path + ".subprotocols") if "subprotocols" in v else None
    require = _bool(v.get("require_subprotocol", False), path + ".require_subprotocol")
    if require and not subs:
        raise ConfigError(path + ".require_subprotocol", "set, but subprotocols is empty or missing")
    mc = _int(v.get("max_conns", max_conns), path + ".max_conns", 1, 1 << 30)
    a = v.get("auth", {})
    _expect_dict(a, path + ".auth", ("methods", "query_param", "protocol_prefix", "api_key_header", "refresh"))
    methods = _strlist(a.get("methods", []), path + ".auth.methods")
    for m in methods:
        if m not in METHODS:
            raise ConfigError(path + ".auth.methods", "%s is not one of %s" % (m, ", ".join(METHODS)))
    qp = a.get("query_param")
    if qp is not None:
        _str(qp, path + ".auth.query_param")
    prefix = a.get("protocol_prefix", "bearer.")
    if not isinstance(prefix, str):
        raise ConfigError(path + ".auth.protocol_prefix", "must be a string ('' turns the carrier off)")
    header = _str(a.get("api_key_header", "x-api-key"), path + ".auth.api_key_header").lower()
    refresh = None
    if "refresh" in a:
        rp = path + ".auth.refresh"
        r = a["refresh"]
        _expect_dict(r, rp, ("field", "value", "token_field"))
        if "jwt" not in methods:
            raise ConfigError(rp, "set, but jwt is not among auth.methods")
        refresh = (_str(r.get("field", "type"), rp + ".field"), _str(r.get("value", "refresh"), rp + ".value"),
                   _str(r.get("token_field", "token"), rp + ".token_field"))
    return RoutePolicy(origins, allow_missing, subs, require, mc, methods, qp, prefix, header, refresh)


def auth(doc):
    """(JwtSettings or None, {api key id: sha256 hex}) from the top-level ``auth``."""
    a = doc.get("auth", {})
    _expect_dict(a, "auth", ("jwt", "api_keys"))
    j = None
    if "jwt" in a:
        v = a["jwt"]
        _expect_dict(v, "auth.jwt", ("keys", "jwks_file", "issuer", "audience", "leeway_s", "grace_s"))
        keys = []
        ks = v.get("keys", [])
        if not isinstance(ks, list):
            raise ConfigError("auth.jwt.keys", "must be a list")
        for i, k in enumerate(ks):
            p = "auth.jwt.keys[%d]" % i
            _expect_dict(k, p, ("kid", "alg", "secret_file", "public_key_file"))
            alg = k.get("alg")
            if alg not in JWT_ALGS:
                raise ConfigError(p + ".alg", "must be one of %s (pinned: never read from the token)"
                                  % ", ".join(JWT_ALGS))
            kid = k.get("kid")
            if kid is not None:
                _str(kid, p + ".kid")
            if alg.startswith("HS"):
                if "secret_file" not in k:
                    raise ConfigError(p + ".secret_file", "missing: an HMAC secret is referenced by file")
                keys.append((kid, alg, "secret", _str(k["secret_file"], p + ".secret_file")))
            else:
                if "public_key_file" not in k:
                    raise ConfigError(p + ".public_key_file", "missing")
                keys.append((kid, alg, "public", _str(k["public_key_file"], p + ".public_key_file")))
        jwks = v.get("jwks_file")
        if jwks is not None:
            _str(jwks, "auth.jwt.jwks_file")
        if not keys and jwks is None:
            raise ConfigError("auth.jwt.keys", "no keys and no jwks_file")
        iss = v.get("issuer")
        aud = v.get("audience")
        for name, val in (("issuer", iss), ("audience", aud)):
            if val is not None:
                _str(val, "auth.jwt." + name)
        j = JwtSettings(keys, jwks, iss, aud, _int(v.get("leeway_s", 30), "auth.jwt.leeway_s", 0, 3600),
                        _int(v.get("grace_s", 0), "auth.jwt.grace_s", 0, 3600))
    api = {}
    ks = a.get("api_keys", [])
    if not isinstance(ks, list):
        raise ConfigError("auth.api_keys", "must be a list")
    for i, k in enumerate(ks):
        p = "auth.api_keys[%d]" % i
        _expect_dict(k, p, ("id", "sha256"))
        kid = _str(k.get("id"), p + ".id")
        h = k.get("sha256")
        if not isinstance(h, str) or len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
            raise ConfigError(p + ".sha256", "must be 64 lowercase hex digits (the key's SHA-256; never the key)")
        api[kid] = h
    return j, api


def admission(doc):
    v = doc.get("admission", {})
    _expect_dict(v, "admission", tuple(ADMISSION_DEFAULTS))
    d = dict(ADMISSION_DEFAULTS)
    for k in ADMISSION_DEFAULTS:
        if k in v:
            d[k] = _int(v[k], "admission." + k, 1, 1 << 30)
    return AdmissionSettings(d)


def check_routes(routes, jwt_settings, api_keys, path_of):
    """Cross-references: a route asking for jwt needs auth.jwt, api_key needs auth.api_keys."""
    for i, r in enumerate(routes):
        for m in r.policy.methods:
            if m == "jwt" and jwt_settings is None:
                raise ConfigError(path_of(i) + ".auth.methods", "jwt, but auth.jwt is not configured")
            if m == "api_key" and not api_keys:
                raise ConfigError(path_of(i) + ".auth.methods", "api_key, but auth.api_keys is empty")
