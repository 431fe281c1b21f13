"""The clocks: ``ticks_ms``/``ticks_diff``/``ticks_add`` (monotonic milliseconds) and ``wall_s``.

Every duration in the core is tick arithmetic through ``ticks_diff`` and
``ticks_add``: on MicroPython ticks wrap around, so a plain ``a - b`` is wrong
there. ``wall_s`` is Unix time, for what the world dates (token expiry).
"""

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
