"""JWT (RFC 7519, JWS compact) verification with the algorithm pinned by the key, never by the token.

``verify(token, keys, now_s, issuer, audience, leeway_s)`` returns the claims
or raises ``AuthError``. A key is a ``JwtKey`` (kid, alg, material): HS256/384/512
use a secret (bytes) through ``rt.hmac_digest``; RS256/ES256 use a public key
object through ``rt.verify_signature`` (python-mbedtls; absent on MicroPython,
where such keys refuse every token). ``alg: none`` and any alg other than the
selected key's are refused. The NumericDate claims exp, nbf and iat, when
present, must be numbers (not bools) from 0 to ``MAX_DATE_S``: NaN, infinities
and huge integers are refused rather than scheduled. Error messages never
include the token.
"""

import binascii

from edgegate import rt

from .errors import AuthError

HMAC_ALGS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}
PK_ALGS = ("RS256", "ES256")
ALGS = tuple(HMAC_ALGS) + PK_ALGS
MAX_TOKEN_BYTES = 8192
# exp, nbf and iat above this (9999-12-31T23:59:59Z) are refused: a session's
# expiry must stay a number the clock arithmetic can hold.
MAX_DATE_S = 253402300799


class JwtKey:
    def __init__(self, kid, alg, material):
        if alg not in ALGS:
            raise ValueError("alg %s is not one of %s" % (alg, ", ".join(ALGS)))
        self.kid = kid
        self.alg = alg
        self.material = material


def b64url_decode(s):
    if isinstance(s, str):
        s = s.encode()
    for c in s:
        if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in (45, 95)):
            raise ValueError("not base64url")
    s = s.replace(b"-", b"+").replace(b"_", b"/")
    return binascii.a2b_base64(s + b"=" * (-len(s) % 4))


def _json(part, what):
    try:
        obj = rt.json_loads(b64url_decode(part).decode("utf-8"))
    except (ValueError, UnicodeError):
        raise AuthError("%s is not base64url JSON" % what) from None
    if not isinstance(obj, dict):
        raise AuthError("%s is not a JSON object" % what)
    return obj


def _pick_key(header, keys):
    kid = header.get("kid")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise AuthError("alg none or missing")
    if kid is not None:
        for k in keys:
            if k.kid == kid:
                if k.alg != alg:
                    raise AuthError("alg %s does not match the key's pinned %s" % (alg[:10], k.alg))
                return k
        raise AuthError("unknown kid")
    same = [k for k in keys if k.alg == alg]
    if len(same) != 1:
        raise AuthError("no kid and %d keys for alg %s" % (len(same), alg[:10]))
    return same[0]


def _date(claims, name):
    """A NumericDate claim (or None when absent): a finite number of seconds from 0 to MAX_DATE_S.

    Raises:
        AuthError: a bool, a non-number, NaN, an infinity or a value out of range.
    """
    v = claims.get(name)
    if v is None:
        return None
    # bool is an int on CPython (not on MicroPython): refused on both.
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise AuthError("%s is not a number" % name)
    # NaN fails every comparison; inf and 10**400 fail the upper bound.
    if not (0 <= v <= MAX_DATE_S):
        raise AuthError("%s out of range" % name)
    return v


def verify(token, keys, now_s, issuer=None, audience=None, leeway_s=0):
    """Claims of a valid token; raises AuthError (expired, not yet valid, wrong iss/aud, bad signature...)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        raise AuthError("token missing or over %d bytes" % MAX_TOKEN_BYTES)
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("not a compact JWS")
    header = _json(parts[0], "header")
    if header.get("crit") is not None:
        raise AuthError("crit header not supported")
    key = _pick_key(header, keys)
    try:
        sig = b64url_decode(parts[2])
    except ValueError:
        raise AuthError("signature is not base64url") from None
    signing_input = (parts[0] + "." + parts[1]).encode()
    if key.alg in HMAC_ALGS:
        try:
            mac = rt.hmac_digest(HMAC_ALGS[key.alg], key.material, signing_input)
        except ValueError:  # MicroPython: HMAC-SHA256 only
            raise AuthError("%s not available on this runtime" % key.alg) from None
        ok = rt.const_eq(mac, sig)
    elif rt.verify_signature is None:
        raise AuthError("%s not available on this runtime" % key.alg)
    else:
        ok = rt.verify_signature(key.alg, key.material, signing_input, sig)
    if not ok:
        raise AuthError("bad signature")
    claims = _json(parts[1], "payload")
    exp = _date(claims, "exp")
    nbf = _date(claims, "nbf")
    _date(claims, "iat")
    if exp is not None and now_s >= exp + leeway_s:
        raise AuthError("expired")
    if nbf is not None and now_s + leeway_s < nbf:
        raise AuthError("not yet valid")
    if issuer is not None and claims.get("iss") != issuer:
        raise AuthError("wrong issuer")
    if audience is not None:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if audience not in auds:
            raise AuthError("wrong audience")
    return claims
