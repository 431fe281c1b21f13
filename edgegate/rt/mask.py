"""The frame path's bytes: ``apply_mask`` (the one hot loop), ``mask_key`` and ``alloc_buffer``.

``apply_mask`` XORs a payload in place with its 4-byte key (RFC 6455 5.3),
from any phase of the key, so a frame unmasked in pieces equals one pass.
``mask_key`` is a fresh key for a frame the gateway sends to a backend.
``alloc_buffer`` is the memory receive rings are made of (``ws.buffer``).
"""

from . import IS_MICROPYTHON
from .crypto import POOL_BYTES, _urandom

_keys = []


def mask_key():
    """A fresh random 4-byte mask key (RFC 6455 5.3), from keys drawn 1024 at a time.

    Popping a ready bytes object allocates nothing on the relay path.
    """
    global _keys
    if not _keys:
        raw = _urandom(POOL_BYTES)
        _keys = [raw[i:i + 4] for i in range(0, POOL_BYTES, 4)]
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

    def alloc_buffer(n):
        """A zeroed, fixed-size, writable buffer of n bytes."""
        return bytearray(n)

else:  # pragma: no cover - CPython (covered by every CPython test run)
    import mmap as _mmap

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
