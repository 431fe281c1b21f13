"""Admission at the upgrade (portable, no I/O): accept (route, principal, sub-protocol) or refuse.

``Admission.decide(facts, now_ms, now_s)`` runs the checks cheapest first: ban
(403), upgrade rate per address (429 + Retry-After), the request target (400
when it cannot be normalised safely, ``target.py``), route on the normalised
path (404; ``Accept.path`` is what the backend is sent), Origin (400
when repeated or not a serialised origin, RFC 6454 section 6.2; 403 when not
allowed), sub-protocol (400), authentication (401; failures count towards a ban),
upgrade rate per principal (429), connections per address / principal (429)
and per route (503). An accepted upgrade holds its place in the count tables
until ``release``. Every refusal is counted and reported through ``audit``
with a fixed reason; no credential is ever part of it.

The principal (``jwt:`` + the token's ``sub``, ``key:`` + the API key's id,
``cert:`` + the client certificate's first SAN, else subject, else
fingerprint) is sent to the backend in a header and written to the logs:
its name must be a string of 1 to ``MAX_PRINCIPAL`` printable characters
(``principal_name``), else the upgrade gets 401 saying why. A token without
``sub``, or with one that is not a string, is refused too: every principal
names one identity, and no two sources share a name.
"""

import hashlib

from edgegate.rt import ticks_add

from . import jwt, target
from .bans import BanTable
from .buckets import BucketTable, CountTable
from .errors import AuthError, Reject


class Facts:
    """What the upgrade request says (the I/O layer fills it in)."""

    def __init__(self, path, query, headers, protocols, peer, identity=None):
        self.path = path
        self.query = query
        self.headers = headers  # [(lowercase name, value)]
        self.protocols = protocols
        self.peer = peer
        self.identity = identity  # verified client certificate facts, or None

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None


class Accept:
    def __init__(self, route, principal, protocol, forward_protocols, query, expires_s, method, path=None):
        self.route = route
        self.path = path  # the normalised path the route was chosen on: what the backend is sent
        self.principal = principal
        self.protocol = protocol  # chosen for the client, or None
        self.forward_protocols = forward_protocols  # offered to the backend (carrier removed)
        self.query = query  # forwarded to the backend (token parameter removed)
        self.expires_s = expires_s  # the credential's exp (wall clock), or None
        self.method = method  # jwt, api_key, client_cert, none


class KeySet:
    """Credentials loaded by the I/O layer: JWT keys, API key hashes (id -> sha256 bytes)."""

    def __init__(self, jwt_keys=(), api_keys=None):
        self.jwt_keys = list(jwt_keys)
        self.api_keys = api_keys or {}


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SCHEME = _ALNUM + "+-."
_HOST = _ALNUM + "-._"
_HEX = "0123456789abcdefABCDEF"
MAX_HOST = 253
MAX_PRINCIPAL = 256  # characters of the name after "jwt:", "key:" or "cert:"


def _printable(c):
    """Not a C0 or C1 control, DEL, a surrogate (no UTF-8 for it), a line or paragraph separator, or an
    invisible format character (zero-width, bidi override, BOM, noncharacters U+FFFE/U+FFFF)."""
    o = ord(c)
    if o < 0x20 or 0x7F <= o <= 0x9F:
        return False
    if o < 0x200B:
        return True
    return not (0xD800 <= o <= 0xDFFF or 0x200B <= o <= 0x200F or 0x2028 <= o <= 0x202E
                or 0x2060 <= o <= 0x206F or o in (0xFEFF, 0xFFFE, 0xFFFF))


def principal_name(value, what):
    """``value`` when it can name a principal (sent in a header, logged); else raise ``AuthError``.

    It must be a string of 1 to ``MAX_PRINCIPAL`` printable characters
    (``_printable``) that neither begins nor ends with a space (an HTTP
    parser trims those from a header value: "alice " would reach the backend
    as "alice"). ``what`` names the source in the error (e.g. "sub").
    """
    if value is None:
        raise AuthError("%s missing" % what)
    if not isinstance(value, str):
        raise AuthError("%s is not a string" % what)
    if not value:
        raise AuthError("%s is empty" % what)
    if len(value) > MAX_PRINCIPAL:
        raise AuthError("%s over %d characters" % (what, MAX_PRINCIPAL))
    if value[0] == " " or value[-1] == " ":
        raise AuthError("%s begins or ends with a space" % what)
    for c in value:
        if not _printable(c):
            raise AuthError("%s holds a control or non-printable character" % what)
    return value


def _all_in(s, chars):
    for c in s:
        if c not in chars:
            return False
    return True


def serialised_origin(value):
    """True when ``value`` is an origin as a browser serialises it (RFC 6454 section 6.2):
    ``null``, or scheme ``://`` host [``:`` port] with an ASCII scheme, a host of
    letters, digits, ``-._`` (IDNs arrive as punycode) or a bracketed IPv6
    literal, and a port of at most 5 digits up to 65535. No path, no userinfo,
    no percent-encoding, nothing outside visible ASCII."""
    if value == "null":
        return True
    i = value.find("://")
    scheme, rest = value[:i], value[i + 3:]
    if i <= 0 or scheme[0] not in _ALNUM[:52] or not _all_in(scheme, _SCHEME):
        return False
    if rest[:1] == "[":
        j = rest.find("]")
        host, rest = rest[1:j], rest[j + 1:]
        if j < 0 or not host or not _all_in(host, _HEX + ":.") or ":" not in host:
            return False
    else:
        j = rest.find(":")
        host, rest = (rest, "") if j < 0 else (rest[:j], rest[j:])
        if not host or len(host) > MAX_HOST or not _all_in(host, _HOST):
            return False
    if rest:
        port = rest[1:]
        if rest[0] != ":" or not 1 <= len(port) <= 5 or not _all_in(port, "0123456789") or int(port) > 65535:
            return False
    return True


class Admission:
    def __init__(self, cfg, keys, audit=None):
        a = cfg.admission
        n = cfg.limits["admission_table_entries"]
        self.cfg = cfg
        self.keys = keys
        self.audit = audit
        self.counters = {}
        self.bans = BanTable(n)
        self.per_ip = BucketTable(a.ip_rate_per_s, 1, a.ip_burst, n)
        self.per_principal = BucketTable(a.principal_rate_per_s, 1, a.principal_burst, n)
        # "after N failures within W seconds": a bucket of N refilled N per W s.
        self.failures = BucketTable(a.ban_after_failures, a.ban_window_s, a.ban_after_failures, n)
        m = cfg.limits["max_conns"]
        self.conns_ip = CountTable(m)
        self.conns_principal = CountTable(m)
        self.conns_route = CountTable(max(1, len(cfg.routes)))

    def reconfigure(self, cfg, keys):
        """A commit: new rules and keys for new upgrades; bans and live counts carry over."""
        a = cfg.admission
        n = cfg.limits["admission_table_entries"]
        self.cfg = cfg
        self.keys = keys
        self.per_ip = BucketTable(a.ip_rate_per_s, 1, a.ip_burst, n)
        self.per_principal = BucketTable(a.principal_rate_per_s, 1, a.principal_burst, n)
        self.failures = BucketTable(a.ban_after_failures, a.ban_window_s, a.ban_after_failures, n)
        m = cfg.limits["max_conns"]
        if m > self.conns_ip.max_entries:
            self.conns_ip.max_entries = m
            self.conns_principal.max_entries = m
        self.conns_route.max_entries = max(self.conns_route.max_entries, len(cfg.routes))

    def _count(self, name):
        self.counters[name] = self.counters.get(name, 0) + 1

    def _refuse(self, status, reason, kind, facts, headers=()):
        self._count("refused_%s" % kind)
        if self.audit is not None:
            self.audit("refused", status=status, reason=reason, kind=kind, peer=facts.peer, path=facts.path)
        return Reject(status, reason, headers, kind)

    def decide(self, facts, now_ms, now_s):
        """An ``Accept`` (hold it until ``release``) or raise ``Reject``."""
        a = self.cfg.admission
        peer = facts.peer
        if self.bans.banned(peer, now_ms):
            raise self._refuse(403, "banned", "ban", facts)
        if not self.per_ip.take(peer, now_ms):
            raise self._refuse(429, "upgrade rate per address", "rate", facts,
                               (("Retry-After", str(self.per_ip.retry_after_s(peer))),))
        try:
            path = target.normalise_path(facts.path)
            target.check_query(facts.query)
        except target.TargetError as e:
            raise self._refuse(400, "request target: %s" % e, "target", facts) from None
        route = self.cfg.route_for(path)
        if route is None:
            raise self._refuse(404, "no route", "route", facts)
        p = route.policy
        origin = facts.header("origin")
        if origin is not None:
            if len([k for k, _ in facts.headers if k == "origin"]) > 1:
                raise self._refuse(400, "repeated Origin header", "origin", facts)
            if not serialised_origin(origin):
                raise self._refuse(400, "origin is not a serialised origin", "origin", facts)
        if origin is None:
            if not p.allow_missing_origin:
                raise self._refuse(403, "origin missing", "origin", facts)
        elif "*" not in p.origins and origin not in p.origins:
            raise self._refuse(403, "origin not allowed", "origin", facts)
        carrier = None
        offered = []
        for proto in facts.protocols:
            if p.protocol_prefix and proto.startswith(p.protocol_prefix) and len(proto) > len(p.protocol_prefix):
                carrier = proto[len(p.protocol_prefix):]
            else:
                offered.append(proto)
        allowed = [x for x in offered if x in p.subprotocols] if p.subprotocols is not None else offered
        if p.require_subprotocol and not allowed:
            raise self._refuse(400, "no acceptable sub-protocol", "subprotocol", facts)
        query, qtoken = facts.query, None
        if p.query_param:
            # The named parameter is a credential: never forwarded in any spelling, whichever
            # method authenticates; a second spelling is refused (which one would the backend read?).
            try:
                qtoken, query = target.pop_param(query, p.query_param)
            except target.TargetError as e:
                raise self._refuse(400, "request target: %s" % e, "target", facts) from None
        principal, expires_s, method = None, None, "none"
        if p.methods:
            try:
                principal, expires_s, method = self._authenticate(p, facts, carrier, qtoken, now_s)
            except AuthError as e:
                self._auth_failed(facts, now_ms)
                raise self._refuse(401, "authentication failed: %s" % e, "auth", facts,
                                   (("WWW-Authenticate", 'Bearer realm="edgegate"'),)) from None
        if principal is not None and not self.per_principal.take(principal, now_ms):
            raise self._refuse(429, "upgrade rate per principal", "rate", facts,
                               (("Retry-After", str(self.per_principal.retry_after_s(principal))),))
        if self.conns_ip.count(peer) >= a.max_conns_per_ip:
            raise self._refuse(429, "connections per address", "rate", facts, (("Retry-After", "5"),))
        if principal is not None and self.conns_principal.count(principal) >= a.max_conns_per_principal:
            raise self._refuse(429, "connections per principal", "rate", facts, (("Retry-After", "5"),))
        rkey = route.path
        if self.conns_route.count(rkey) >= p.max_conns:
            raise self._refuse(503, "route at capacity", "capacity", facts, (("Retry-After", "1"),))
        if not self.conns_ip.add(peer) or not self.conns_route.add(rkey):
            self.conns_ip.remove(peer)
            raise self._refuse(503, "admission tables full", "capacity", facts, (("Retry-After", "1"),))
        if principal is not None:
            self.conns_principal.add(principal)
        self._count("accepted_%s" % method)
        # A selected sub-protocol is the first allowed one the client offered;
        # the backend is offered exactly those allowed ones.
        chosen = allowed[0] if allowed else None
        return Accept(route, principal, chosen, allowed, query, expires_s, method, path)

    def refresh(self, accept, message, now_s):
        """A route's in-band refresh: the new exp when ``message`` (bytes) carries a valid
        token for the same principal, None when it is not a refresh message at all.

        Raises:
            AuthError: it is a refresh message, but its token is refused.
        """
        shape = accept.route.policy.refresh
        if shape is None or accept.method != "jwt" or len(message) > jwt.MAX_TOKEN_BYTES + 256:
            return None
        field, value, token_field = shape
        try:
            from edgegate.rt import json_loads

            obj = json_loads(bytes(message).decode("utf-8"))
        except (ValueError, UnicodeError, RuntimeError):
            return None  # RuntimeError: nested past the parser's recursion limit
        if not isinstance(obj, dict) or obj.get(field) != value:
            return None
        j = self.cfg.jwt
        claims = jwt.verify(obj.get(token_field), self.keys.jwt_keys, now_s, j.issuer, j.audience, j.leeway_s)
        if "jwt:" + principal_name(claims.get("sub"), "sub") != accept.principal:
            raise AuthError("refresh token for another principal")
        exp = claims.get("exp")
        if exp is None:
            raise AuthError("refresh token without exp")
        self._count("refreshed")
        return exp

    def release(self, accept, peer):
        """The session of ``accept`` ended: free its places in the count tables."""
        self.conns_ip.remove(peer)
        self.conns_route.remove(accept.route.path)
        if accept.principal is not None:
            self.conns_principal.remove(accept.principal)

    def _auth_failed(self, facts, now_ms):
        a = self.cfg.admission
        # The Nth failure within the window empties the allowance and bans.
        if not self.failures.take(facts.peer, now_ms) or self.failures.empty(facts.peer):
            key = self.bans.ban_auto(facts.peer, ticks_add(now_ms, a.ban_s * 1000), "authentication failures",
                                     now_ms)
            if key is None:
                # The table is full of bans that stay: this one is not recorded (bans.py says why).
                self._count("bans_dropped")
                if self.audit is not None:
                    self.audit("ban_dropped", peer=facts.peer, reason="ban table full")
                return
            self._count("bans")
            if self.audit is not None:
                if key == facts.peer:
                    self.audit("banned", peer=facts.peer, seconds=a.ban_s, reason="authentication failures")
                else:
                    self.audit("banned", peer=facts.peer, prefix=key, seconds=a.ban_s,
                               reason="authentication failures")

    def protocol_failure(self, peer, now_ms):
        """A session broke the protocol: counts towards a ban like a failed authentication."""
        self._auth_failed(Facts("", "", [], [], peer), now_ms)

    def _authenticate(self, p, facts, carrier, qtoken, now_s):
        errors = []
        for method in p.methods:
            if method == "jwt":
                token = None
                auth = facts.header("authorization")
                if auth is not None and auth[:7].lower() == "bearer ":
                    token = auth[7:].strip()
                elif carrier is not None:
                    token = carrier
                elif qtoken is not None:
                    token = qtoken
                if token is None:
                    errors.append("no bearer token")
                    continue
                j = self.cfg.jwt
                claims = jwt.verify(token, self.keys.jwt_keys, now_s, j.issuer, j.audience, j.leeway_s)
                principal = "jwt:" + principal_name(claims.get("sub"), "sub")
                exp = claims.get("exp")
                return principal, exp, "jwt"
            if method == "api_key":
                presented = facts.header(p.api_key_header)
                if presented is None:
                    errors.append("no api key")
                    continue
                digest = hashlib.sha256(presented.encode("utf-8")).digest()
                found = None
                for kid, h in self.keys.api_keys.items():  # every key compared: no early exit
                    if _eq(digest, h) and found is None:
                        found = kid
                if found is None:
                    raise AuthError("unknown api key")
                return "key:" + principal_name(found, "api key id"), None, "api_key"
            if method == "client_cert":
                ident = facts.identity
                if ident is None:
                    errors.append("no client certificate")
                    continue
                if ident.get("sans"):
                    name, what = ident["sans"][0], "client certificate SAN"
                elif ident.get("subject"):
                    name, what = ident["subject"], "client certificate subject"
                else:
                    name, what = ident["fingerprint_sha256"], "client certificate fingerprint"
                return "cert:" + principal_name(name, what), None, "client_cert"
        raise AuthError(", ".join(errors) or "no method")


def _eq(a, b):
    from edgegate.rt import const_eq

    return const_eq(a, b)
