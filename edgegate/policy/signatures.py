"""Injection signatures: named sets of literal patterns found in folded message text.

A message is *folded* before it is searched: ASCII lowercase, every ASCII
whitespace byte becomes one space, SQL comments ``/**/`` become a space, runs
of spaces collapse to one, and ``%XX`` escapes are decoded (a second view,
searched too, only when the text has a ``%``). JSON ``\\uXXXX`` escapes are
decoded by the caller (``messages``) before folding. Patterns are folded the
same way when the config is compiled, so ``UNION   SELECT``,
``union/**/select`` and ``union%20select`` all match ``union select``.

Search cost: patterns are grouped by an *anchor*, their first byte that is
not a letter, digit, space or JSON punctuation (``<``, ``'``, ``$``, ``(``,
...). A group is searched only when its anchor byte occurs in the text, and
the anchor test is one ``memchr``; patterns without such a byte are searched
always, one substring search each. The sets are deliberately narrow (few false positives on chat and
telemetry JSON); they are a tripwire in front of a backend that must still
use parameterised queries and output encoding, not a substitute for them.
"""

SETS = {
    # SQL injection: breaking out of a quoted literal, stacked queries, time-based probes.
    "sqli": ("' or '", "' or 1", "' or true", '" or "', '" or 1', "or 1=1", "' and '", "'--", "' --", "';",
             "union select", "union all select", "; drop ", "drop table", "information_schema", "sleep(",
             "benchmark(", "waitfor delay", "pg_sleep", "xp_cmdshell", "load_file(", "into outfile", "@@version"),
    # Cross-site scripting: markup and script URLs a browser would run.
    "xss": ("<script", "</script", "javascript:", "vbscript:", "onerror=", "onload=", "onmouseover=", "onfocus=",
            "<iframe", "<svg", "<img ", "<object", "<embed", "document.cookie", "srcdoc=", "expression(",
            "alert("),
    # OS command injection and lookups that end in code execution (log4shell).
    "cmd": ("$(", "${jndi:", "; rm ", ";rm ", "| sh", "|sh ", "&& rm ", "/bin/sh", "/bin/bash", "cmd.exe",
            "powershell", "nc -e", "wget http", "curl http"),
    # Path traversal and NUL-byte truncation.
    "path": ("../", "..\\", "/etc/passwd", "c:\\windows", "\x00"),
    # NoSQL operator injection: a query operator where a value was expected.
    "nosql": ('"$where"', '"$ne"', '"$gt"', '"$gte"', '"$lt"', '"$lte"', '"$regex"', '"$in"', '"$nin"',
              '"$or"', '"$expr"', '"$function"'),
    # Prototype pollution of JavaScript backends.
    "proto": ("__proto__", '"constructor"', '"prototype"'),
}

# Bytes that appear in almost any sizeable chat or telemetry JSON: no use as anchors.
_COMMON = b' "abcdefghijklmnopqrstuvwxyz0123456789:,{}[].-_/'
_PERCENT_MAX = 4  # decode at most this many rounds of %-encoding


def _anchor(v):
    """The byte of pattern ``v`` searched first: its first uncommon byte, or None."""
    for i in range(len(v)):
        c = v[i:i + 1]
        if c not in _COMMON:
            return c
    return None


def fold(text):
    """``text`` (bytes) lowercased, whitespace and ``/**/`` to one space, space runs collapsed."""
    t = text.lower()
    for w in (b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"/**/"):
        if w in t:
            t = t.replace(w, b" ")
    while b"  " in t:
        t = t.replace(b"  ", b" ")
    return t


_HEX = b"0123456789abcdef"


def percent_decode(t):
    """``%XX`` escapes of folded text decoded once (other bytes kept)."""
    parts = t.split(b"%")
    out = bytearray(parts[0])
    for p in parts[1:]:
        if len(p) >= 2:
            hi = _HEX.find(p[0:1])
            lo = _HEX.find(p[1:2])
            if hi >= 0 and lo >= 0:
                out.append(hi * 16 + lo)
                out += p[2:]
                continue
        out += b"%"
        out += p
    return bytes(out)


class Scanner:
    """The compiled patterns of some sets plus a route's own deny-list."""

    __slots__ = ("groups", "always", "count")

    def __init__(self, set_names=(), deny=()):
        anchored = {}
        self.always = []
        self.count = 0
        seen = set()
        for label, pats in [(n, SETS[n]) for n in set_names] + [("deny", tuple(deny))]:
            for p in pats:
                fp = fold(p.encode() if isinstance(p, str) else p)
                variants = [fp]
                if fp.endswith(b"="):  # "onerror =" is as good as "onerror="
                    variants.append(fp[:-1] + b" =")
                for v in variants:
                    if not v.strip() or v in seen:
                        continue
                    seen.add(v)
                    self.count += 1
                    a = _anchor(v)
                    if a is None:
                        self.always.append((v, label, p))
                    else:
                        anchored.setdefault(a, []).append((v, label, p))
        self.groups = list(anchored.items())

    def _search(self, t):
        for anchor, pats in self.groups:
            if anchor in t:
                for v, label, p in pats:
                    if v in t:
                        return label, p
        for v, label, p in self.always:
            if v in t:
                return label, p
        return None

    def find(self, text):
        """(set name or "deny", the pattern as configured) of the first match in ``text``, or None.

        ``text`` is bytes, not yet folded.
        """
        t = fold(text)
        hit = self._search(t)
        n = 0
        while hit is None and b"%" in t and n < _PERCENT_MAX:
            d = percent_decode(t)
            if d == t:
                break
            t = fold(d)
            hit = self._search(t)
            n += 1
        return hit
