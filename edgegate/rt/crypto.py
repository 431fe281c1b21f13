"""Randomness and secrets: ``rand_bytes``, ``pbkdf2_sha256``, ``const_eq``, ``hmac_digest``, ``verify_signature``.

``rand_bytes`` serves the OS entropy source from a pooled read. ``const_eq``
compares secrets in constant time. ``hmac_digest`` is HMAC-SHA256/384/512 on
CPython, HMAC-SHA256 only on MicroPython. ``verify_signature(alg, key, msg,
sig)`` checks RS256/ES256 through python-mbedtls where it is installed, and is
``None`` on runtimes without it (the core then refuses those algorithms).
"""

from . import IS_MICROPYTHON, const

try:
    from os import urandom as _urandom
except ImportError:  # pragma: no cover - MicroPython ports without os.urandom
    from random import getrandbits as _grb  # type: ignore[assignment]

    def _urandom(n):
        return bytes(_grb(8) for _ in range(n))


POOL_BYTES = const(4096)
_pool = bytearray(0)
_pool_at = 0


def rand_bytes(n):
    """n bytes from the OS entropy source, served from a pooled read.

    One ``urandom`` call per 4 KiB instead of one per mask key keeps the hot
    path free of syscalls.
    """
    global _pool, _pool_at
    if n > POOL_BYTES:
        return _urandom(n)
    if _pool_at + n > len(_pool):
        _pool = bytearray(_urandom(POOL_BYTES))
        _pool_at = 0
    out = bytes(_pool[_pool_at:_pool_at + n])
    _pool_at += n
    return out


if IS_MICROPYTHON:  # pragma: no cover - MicroPython
    import hashlib as _hashlib

    def _hmac_sha256(key, msg):
        if len(key) > 64:
            key = _hashlib.sha256(key).digest()
        key = key + b"\x00" * (64 - len(key))
        inner = _hashlib.sha256(bytes(k ^ 0x36 for k in key) + msg).digest()
        return _hashlib.sha256(bytes(k ^ 0x5C for k in key) + inner).digest()

    def pbkdf2_sha256(password, salt, iterations):
        """PBKDF2-HMAC-SHA256 (RFC 8018) of bytes, 32-byte result (one block)."""
        u = _hmac_sha256(password, salt + b"\x00\x00\x00\x01")
        out = bytearray(u)
        for _ in range(iterations - 1):
            u = _hmac_sha256(password, u)
            for i in range(32):
                out[i] ^= u[i]
        return bytes(out)

    def const_eq(a, b):
        """Compare two byte strings in time independent of where they differ."""
        if len(a) != len(b):
            return False
        d = 0
        for i in range(len(a)):
            d |= a[i] ^ b[i]
        return d == 0

    def hmac_digest(hash_name, key, msg):
        """HMAC-SHA256 (the only one the portable core promises on MicroPython)."""
        if hash_name != "sha256":
            raise ValueError("only sha256 here")
        return _hmac_sha256(key, msg)

    verify_signature = None

else:  # pragma: no cover - CPython (covered by every CPython test run)
    import hmac as _hmac
    from hashlib import pbkdf2_hmac as _pbkdf2_hmac
    from hmac import compare_digest as _compare_digest

    def pbkdf2_sha256(password, salt, iterations):
        """PBKDF2-HMAC-SHA256 (RFC 8018) of bytes, 32-byte result."""
        return _pbkdf2_hmac("sha256", password, salt, iterations)

    def const_eq(a, b):
        """Compare two byte strings in time independent of where they differ."""
        return _compare_digest(bytes(a), bytes(b))

    def hmac_digest(hash_name, key, msg):
        """HMAC of msg under key with sha256, sha384 or sha512."""
        return _hmac.new(key, msg, hash_name).digest()

    def _verify_mbedtls(alg, public_key, msg, sig):
        # public_key: a python-mbedtls pk object (RSA or ECC), loaded by the I/O layer.
        try:
            if alg == "ES256":
                if len(sig) != 64:
                    return False
                sig = _der_ecdsa(sig[:32], sig[32:])
            return bool(public_key.verify(msg, sig, "sha256"))
        except Exception:  # noqa: BLE001 - any failure to verify is a refusal
            return False

    def _der_int(b):
        b = bytes(b).lstrip(b"\x00") or b"\x00"
        if b[0] & 0x80:
            b = b"\x00" + b
        return b"\x02" + bytes([len(b)]) + b

    def _der_ecdsa(r, s):
        # RFC 7518 3.4: a JWS ES256 signature is raw r||s; Mbed TLS wants DER.
        body = _der_int(r) + _der_int(s)
        return b"\x30" + bytes([len(body)]) + body

    try:
        import mbedtls.pk  # noqa: F401

        verify_signature = _verify_mbedtls
    except ImportError:  # pragma: no cover - CPython without python-mbedtls
        verify_signature = None
