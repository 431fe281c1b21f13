"""Runtime shim: the one place that asks which interpreter edgegate runs on.

Exports what the portable core needs and nothing else. Here: ``IS_MICROPYTHON``
and ``const``. The rest lives in rooms by job, each with its MicroPython and
CPython branches side by side, and every name is re-exported here
(``from edgegate.rt import ticks_ms`` is how the code base imports them):

- ``rt.clock``: ``ticks_ms``, ``ticks_diff``, ``ticks_add`` (monotonic ms; wraps
  on MicroPython, so durations go through ``ticks_diff``) and ``wall_s`` (Unix time).
- ``rt.json``: ``json_loads``, ``json_dumps`` (ujson when present, stdlib json
  otherwise) and ``json_loads_strict`` (RFC 8259: no duplicate members, no NaN).
- ``rt.crypto``: ``rand_bytes`` (pooled OS entropy), ``pbkdf2_sha256``,
  ``const_eq`` (constant-time comparison of secrets), ``hmac_digest``
  (HMAC-SHA256/384/512) and ``verify_signature`` (RS256/ES256 through
  python-mbedtls where it exists; ``None`` on runtimes without it).
- ``rt.mask``: ``apply_mask`` (the one hot loop), ``mask_key`` and
  ``alloc_buffer`` (a fixed-size zeroed buffer that gives its memory back when
  dropped: what receive rings are made of).
- ``rt.text``: ``find`` (substring search in a buffer range), ``utf8_decoder``
  (an incremental strict UTF-8 decoder factory, or ``None`` where the runtime
  has none and the core falls back to its own state machine), and for the
  message chain ``lower_ws`` (ASCII lowercase, whitespace to spaces),
  ``present_bytes`` (which of some byte values a text holds) and
  ``literal_search`` (one compiled search for many literal byte patterns, or
  ``None`` where the runtime has no regex engine fit for it).

I/O, not imported here (the portable core never needs it): ``rt.aio`` (the
asyncio subset, both interpreters) and ``rt.net`` (streams that read into
rings lent by ``ws.buffer.Lender``; CPython only, see its docstring).
"""

try:
    from micropython import const  # type: ignore[import-not-found]

    IS_MICROPYTHON = True
except ImportError:  # pragma: no cover - CPython
    IS_MICROPYTHON = False

    def const(x):  # type: ignore[no-redef]
        return x


from .clock import ticks_add, ticks_diff, ticks_ms, wall_s
from .crypto import const_eq, hmac_digest, pbkdf2_sha256, rand_bytes, verify_signature
from .json import json_dumps, json_loads, json_loads_strict
from .mask import alloc_buffer, apply_mask, mask_key
from .text import find, literal_search, lower_ws, present_bytes, utf8_decoder

__all__ = (
    "IS_MICROPYTHON",
    "alloc_buffer",
    "apply_mask",
    "const",
    "const_eq",
    "find",
    "hmac_digest",
    "json_dumps",
    "json_loads",
    "json_loads_strict",
    "literal_search",
    "lower_ws",
    "mask_key",
    "pbkdf2_sha256",
    "present_bytes",
    "rand_bytes",
    "ticks_add",
    "ticks_diff",
    "ticks_ms",
    "utf8_decoder",
    "verify_signature",
    "wall_s",
)
