"""Runtime shim: the one place that asks which interpreter edgegate runs on.

Exports what the portable core needs and nothing else: ``const``, the tick
clock (``ticks_ms``, ``ticks_diff``, ``ticks_add``), ``json_loads``/``json_dumps``
(ujson when present, stdlib json otherwise), ``apply_mask`` (the one hot loop),
``rand_bytes``, ``find`` (substring search in a buffer range), ``alloc_buffer``
(a fixed-size zeroed buffer that gives its memory back when dropped) and
``utf8_decoder`` (an incremental strict UTF-8 decoder factory, or ``None`` where
the runtime has none and the core falls back to its own state machine),
``pbkdf2_sha256`` and ``const_eq`` (constant-time comparison of secrets),
``hmac_digest`` (HMAC-SHA256/384/512) and ``verify_signature`` (RS256/ES256
through python-mbedtls where it exists; ``None`` on runtimes without it).
For the message chain: ``lower_ws`` (ASCII lowercase, whitespace to spaces),
``present_bytes`` (which of some byte values a text holds) and
``literal_search`` (one compiled search for many literal byte patterns, or
``None`` where the runtime has no regex engine fit for it).
"""

try:
    from micropython import const  # type: ignore[import-not-found]

    IS_MICROPYTHON = True
except ImportError:  # pragma: no cover - CPython
    IS_MICROPYTHON = False

    def const(x):  # type: ignore[no-redef]
        return x


try:
    import ujson as _json  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - CPython without ujson
    import json as _json


def json_loads(text):
    """Parse JSON text; raises ValueError on malformed input (both runtimes)."""
    return _json.loads(text)


def json_dumps(obj):
    """Serialise to compact JSON text."""
    return _json.dumps(obj)


def json_loads_strict(text):
    """Parse JSON text as RFC 8259 has it, for judging what a client sent.

    On CPython a duplicate member name and the non-JSON constants NaN,
    Infinity and -Infinity are refused (ValueError). On MicroPython it is
    ``json_loads``, and that parser is looser: it keeps the last of duplicate
    members and takes missing separators, trailing commas and leading zeros.
    """
    return _json.loads(text)


try:
    from time import ticks_add, ticks_diff, ticks_ms  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython
    from time import monotonic_ns as _monotonic_ns

    def ticks_ms():
        """Milliseconds from an arbitrary origin, never going backwards."""
        return _monotonic_ns() // 1_000_000

    def ticks_diff(a, b):
        """Signed difference a - b in milliseconds."""
        return a - b

    def ticks_add(t, delta):
        """The tick value delta milliseconds after t."""
        return t + delta


from time import time as _time


def wall_s():
    """Seconds since the Unix epoch (credential expiry is wall-clock time)."""
    return _time()


try:
    from os import urandom as _urandom
except ImportError:  # pragma: no cover - MicroPython ports without os.urandom
    from random import getrandbits as _grb  # type: ignore[assignment]

    def _urandom(n):
        return bytes(_grb(8) for _ in range(n))


_POOL_BYTES = const(4096)
_pool = bytearray(0)
_pool_at = 0


def rand_bytes(n):
    """n bytes from the OS entropy source, served from a pooled read.

    One ``urandom`` call per 4 KiB instead of one per mask key keeps the hot
    path free of syscalls.
    """
    global _pool, _pool_at
    if n > _POOL_BYTES:
        return _urandom(n)
    if _pool_at + n > len(_pool):
        _pool = bytearray(_urandom(_POOL_BYTES))
        _pool_at = 0
    out = bytes(_pool[_pool_at:_pool_at + n])
    _pool_at += n
    return out


_keys = []


def mask_key():
    """A fresh random 4-byte mask key (RFC 6455 5.3), from keys drawn 1024 at a time.

    Popping a ready bytes object allocates nothing on the relay path.
    """
    global _keys
    if not _keys:
        raw = _urandom(_POOL_BYTES)
        _keys = [raw[i:i + 4] for i in range(0, _POOL_BYTES, 4)]
    return _keys.pop()


if IS_MICROPYTHON:  # pragma: no cover - MicroPython

    def apply_mask(buf, key, start, end, phase=0):
        """XOR buf[start:end] in place with the 4-byte key, starting at key[phase]."""
        i = start
        p = phase
        while i < end:
            buf[i] ^= key[p & 3]
            p += 1
            i += 1

    def find(buf, sub, start, end):
        """Index of sub in buf[start:end], or -1."""
        i = bytes(memoryview(buf)[start:end]).find(sub)
        return i + start if i >= 0 else -1

    def alloc_buffer(n):
        """A zeroed, fixed-size, writable buffer of n bytes."""
        return bytearray(n)

    utf8_decoder = None

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

    def lower_ws(b):
        """``b`` ASCII-lowercased, each of tab, LF, VT, FF, CR replaced by a space."""
        t = b.lower()
        for w in (b"\t", b"\n", b"\r", b"\x0b", b"\x0c"):
            if w in t:
                t = t.replace(w, b" ")
        return t

    def literal_search(patterns):
        """None: MicroPython's ``re`` has no escaping and no fast alternation."""
        return None

    def present_bytes(keep):
        """``find(text)`` -> the distinct byte values of ``keep`` that occur in ``text``."""
        probes = [(c, bytes((c,))) for c in keep]

        def find(text):
            return [c for c, b in probes if b in text]

        return find

else:  # pragma: no cover - CPython (covered by every CPython test run)
    from codecs import getincrementaldecoder as _gid

    _from_bytes = int.from_bytes

    def _mask_int(buf, key, start, end):
        # One big-integer XOR in C; fine for small frames, superlinear for big ones.
        n = end - start
        q, r = divmod(n, 4)
        x = _from_bytes(buf[start:end], "little") ^ _from_bytes(key * q + key[:r], "little")
        buf[start:end] = x.to_bytes(n, "little")

    try:
        import numpy as _np
    except ImportError:  # pragma: no cover - numpy is optional (the "fast" extra)
        _np = None

    if _np is not None:
        _u8 = _np.uint8
        _u32 = _np.uint32
        _frombuffer = _np.frombuffer
        _bxor = _np.bitwise_xor
        _NUMPY_MIN = 512  # below this the integer XOR is faster than numpy's call overhead

        def _mask_numpy(buf, key, start, end):
            # In place, 32 bits at a time: no copy of the payload at all.
            n = end - start
            a = _frombuffer(buf, _u8, n, start)
            w = n & ~3
            words = a[:w].view(_u32)
            _bxor(words, _frombuffer(key, _u32)[0], out=words)
            if w != n:
                t = a[w:]
                _bxor(t, _frombuffer(key[:n - w], _u8), out=t)

    def apply_mask(buf, key, start, end, phase=0):
        """XOR buf[start:end] in place with the 4-byte key, starting at key[phase].

        numpy (when installed) for payloads of 512 bytes and more: 64 KiB in
        about 4 us instead of about 100 us with the integer XOR.
        """
        if end <= start:
            return
        if type(key) is not bytes:
            key = bytes(key)
        if phase:
            key = key[phase:] + key[:phase]
        if _np is not None and end - start >= _NUMPY_MIN:
            _mask_numpy(buf, key, start, end)
        else:
            _mask_int(buf, key, start, end)

    def find(buf, sub, start, end):
        """Index of sub in buf[start:end], or -1 (no copy)."""
        return buf.find(sub, start, end)

    import mmap as _mmap

    def alloc_buffer(n):
        """A zeroed, fixed-size, writable buffer of n bytes.

        An anonymous mapping: pages cost memory only once touched, and the
        whole of it goes back to the OS when the buffer is dropped (a heap
        bytearray would leave the process at its peak size after a burst).
        """
        try:
            return _mmap.mmap(-1, n)
        except (OSError, ValueError):
            return bytearray(n)

    _utf8 = _gid("utf-8")

    from hashlib import pbkdf2_hmac as _pbkdf2_hmac
    from hmac import compare_digest as _compare_digest

    def pbkdf2_sha256(password, salt, iterations):
        """PBKDF2-HMAC-SHA256 (RFC 8018) of bytes, 32-byte result."""
        return _pbkdf2_hmac("sha256", password, salt, iterations)

    def const_eq(a, b):
        """Compare two byte strings in time independent of where they differ."""
        return _compare_digest(bytes(a), bytes(b))

    import hmac as _hmac

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

    import re as _re

    _WS_TO_SPACE = bytes(32 if c in (9, 10, 11, 12, 13) else (c + 32 if 65 <= c <= 90 else c) for c in range(256))

    def lower_ws(b):
        """``b`` ASCII-lowercased, each of tab, LF, VT, FF, CR replaced by a space (one C pass)."""
        return b.translate(_WS_TO_SPACE)

    def _trie(patterns):
        """A regex of the literals factored by common prefix: a failing branch costs one byte test."""
        groups = {}
        ends = False
        for p in patterns:
            if p:
                groups.setdefault(p[:1], []).append(p[1:])
            else:
                ends = True
        alts = [_re.escape(k) + _trie(rest) for k, rest in sorted(groups.items())]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 and not ends else b"(?:" + b"|".join(alts) + b")"
        return body + b"?" if ends else body

    def literal_search(patterns):
        """``search(text)`` -> a pattern found in ``text`` (bytes), or None.

        One compiled regex of the literals as a prefix tree. On short texts it
        beats a loop of substring tests, whose per-pattern call overhead
        dominates there; on long ones the loop wins (the caller picks).
        """
        search = _re.compile(_trie(sorted(set(patterns)))).search

        def find(text):
            m = search(text)
            return None if m is None else m.group()

        return find

    def present_bytes(keep):
        """``find(text)`` -> the distinct byte values of ``keep`` that occur in ``text`` (one C pass)."""
        drop = bytes(c for c in range(256) if c not in keep)
        translate = bytes.translate

        def find(text):
            got = translate(text, None, drop)
            return set(got) if got else ()

        return find

    if _json.__name__ == "json":
        _scan_once = _json.decoder.JSONDecoder().scan_once  # the C scanner when _json is built

        def _one_of_each(pairs):
            d = dict(pairs)
            if len(d) != len(pairs):
                raise ValueError("duplicate member name")
            return d

        def _no_constant(name):
            raise ValueError("%s is not JSON" % name)

        _strict = _json.decoder.JSONDecoder(object_pairs_hook=_one_of_each, parse_constant=_no_constant)
        _scan_strict = _strict.scan_once

        def _scan_first(scan, slow):
            """A parser that hands a str holding exactly one JSON value straight to the C
            scanner ``scan``; anything else (whitespace around it, junk, bytes) goes to
            ``slow``, which decides and raises as it always does."""

            def loads(text):
                if type(text) is str:
                    try:
                        value, end = scan(text, 0)
                        if end == len(text):
                            return value
                    except StopIteration:
                        pass
                return slow(text)

            return loads

        json_loads = _scan_first(_scan_once, _json.loads)  # noqa: F811 - the CPython fast path
        json_loads_strict = _scan_first(_scan_strict, _strict.decode)  # noqa: F811 - (str only)

    def utf8_decoder():
        """A fresh strict incremental UTF-8 decoder (``decode(data, final)``)."""
        return _utf8("strict")
