"""JSON: ``json_loads``, ``json_dumps`` and ``json_loads_strict`` (for judging what a client sent).

ujson where the runtime has it, the stdlib ``json`` otherwise. On CPython both
parsers hand a text holding exactly one value straight to the C scanner.
"""

from . import IS_MICROPYTHON

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


if not IS_MICROPYTHON and _json.__name__ == "json":  # pragma: no cover - CPython
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

    json_loads = _scan_first(_scan_once, _json.loads)  # the CPython fast path
    json_loads_strict = _scan_first(_scan_strict, _strict.decode)  # (str only)
