"""Loading credentials named by the config: JWT secrets and public keys (files, JWKS), API key hashes.

HMAC secrets are read from their files (a trailing newline is dropped); RSA and
EC public keys from PEM files or a JWKS document (RFC 7517: kty RSA, EC P-256,
oct) become python-mbedtls key objects. A file that cannot be used is a
``KeyError_`` naming it; nothing read here is ever logged.
"""

import binascii

from edgegate.errors import MaterialError
from edgegate.policy.admission import KeySet
from edgegate.policy.jwt import JwtKey, b64url_decode

from .files import read_material


class KeyFileError(MaterialError):
    """A credential file could not be used; the message names it (never its content)."""


def _read(path, what):
    return read_material(path, what, KeyFileError)


def _pk_from_pem(raw, path):
    from mbedtls import pk

    for cls in (pk.RSA, pk.ECC):
        try:
            return cls.from_buffer(raw)
        except Exception:  # noqa: BLE001 - try the other kind
            continue
    raise KeyFileError("public key %s: not a PEM RSA or EC public key" % path)


def _der_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der(tag, body):
    return bytes([tag]) + _der_len(len(body)) + body


def _der_uint(b):
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return _der(0x02, b)


_RSA_OID = bytes.fromhex("06092a864886f70d0101010500")  # rsaEncryption, NULL
_EC_OID = bytes.fromhex("06072a8648ce3d0201") + bytes.fromhex("06082a8648ce3d030107")  # ecPublicKey, P-256


def _spki_rsa(n, e):
    key = _der(0x30, _der_uint(n) + _der_uint(e))
    return _der(0x30, _der(0x30, _RSA_OID) + _der(0x03, b"\x00" + key))


def _spki_ec(x, y):
    point = b"\x04" + x.rjust(32, b"\x00") + y.rjust(32, b"\x00")
    return _der(0x30, _der(0x30, _EC_OID) + _der(0x03, b"\x00" + point))


def _jwk(k, path):
    from mbedtls import pk

    kty = k.get("kty")
    kid = k.get("kid")
    alg = k.get("alg")
    try:
        if kty == "RSA":
            der = _spki_rsa(b64url_decode(k["n"]), b64url_decode(k["e"]))
            return JwtKey(kid, alg or "RS256", pk.RSA.from_DER(der))
        if kty == "EC":
            if k.get("crv") != "P-256":
                raise KeyFileError("jwks %s: kid %s: only EC P-256" % (path, kid))
            der = _spki_ec(b64url_decode(k["x"]), b64url_decode(k["y"]))
            return JwtKey(kid, alg or "ES256", pk.ECC.from_DER(der))
        if kty == "oct":
            return JwtKey(kid, alg or "HS256", b64url_decode(k["k"]))
    except KeyFileError:
        raise
    except (KeyError, ValueError, binascii.Error, TypeError) as e:
        raise KeyFileError("jwks %s: kid %s: %s" % (path, kid, type(e).__name__)) from None
    except Exception as e:  # noqa: BLE001 - mbedtls parse errors
        raise KeyFileError("jwks %s: kid %s: unusable key (%s)" % (path, kid, type(e).__name__)) from None
    raise KeyFileError("jwks %s: kid %s: kty %s not supported" % (path, kid, kty))


def load_keys(cfg):
    """The KeySet for ``cfg`` (raises KeyFileError naming the file)."""
    import json

    jwt_keys = []
    j = cfg.jwt
    if j is not None:
        for kid, alg, kind, path in j.keys:
            raw = _read(path, "jwt secret" if kind == "secret" else "jwt public key")
            if kind == "secret":
                secret = raw.rstrip(b"\r\n")
                if len(secret) < 32:
                    raise KeyFileError("jwt secret %s: under 32 bytes" % path)
                jwt_keys.append(JwtKey(kid, alg, secret))
            else:
                jwt_keys.append(JwtKey(kid, alg, _pk_from_pem(raw, path)))
        if j.jwks_file:
            raw = _read(j.jwks_file, "jwks")
            try:
                doc = json.loads(raw)
                ks = doc["keys"]
            except (ValueError, KeyError, TypeError):
                raise KeyFileError("jwks %s: not a JWKS document" % j.jwks_file) from None
            for k in ks:
                if isinstance(k, dict) and k.get("use", "sig") == "sig":
                    jwt_keys.append(_jwk(k, j.jwks_file))
    api = {kid: bytes.fromhex(h) for kid, h in cfg.api_keys.items()}
    return KeySet(jwt_keys, api)
