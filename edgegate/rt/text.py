"""Searching and decoding bytes: ``find``, ``lower_ws``, ``literal_search``, ``present_bytes``, ``utf8_decoder``.

``find`` is substring search in a buffer range (the handshake's end of head).
The message chain's signatures use ``lower_ws`` (ASCII lowercase, whitespace
to spaces), ``present_bytes`` (which of some byte values a text holds) and
``literal_search`` (one compiled search for many literal byte patterns, or
``None`` where the runtime has no regex engine fit for it). ``utf8_decoder``
is an incremental strict UTF-8 decoder factory, or ``None`` where the runtime
has none and ``ws.utf8`` falls back to its own state machine.
"""

from . import IS_MICROPYTHON

if IS_MICROPYTHON:  # pragma: no cover - MicroPython

    def find(buf, sub, start, end):
        """Index of sub in buf[start:end], or -1."""
        i = bytes(memoryview(buf)[start:end]).find(sub)
        return i + start if i >= 0 else -1

    utf8_decoder = None

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
    import re as _re
    from codecs import getincrementaldecoder as _gid

    def find(buf, sub, start, end):
        """Index of sub in buf[start:end], or -1 (no copy)."""
        return buf.find(sub, start, end)

    _utf8 = _gid("utf-8")

    def utf8_decoder():
        """A fresh strict incremental UTF-8 decoder (``decode(data, final)``)."""
        return _utf8("strict")

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
