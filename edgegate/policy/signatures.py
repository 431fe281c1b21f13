"""Injection signatures: named sets of literal patterns found in folded message text.

A message is *folded* before it is searched: ASCII lowercase, every ASCII
whitespace byte becomes a space, ``/* comments */`` become a space, runs of
spaces collapse to one, a space before ``(`` or ``=`` goes, and ``%XX``
escapes are decoded (a second view, searched too, only when the text has a
``%``; up to four rounds). ``json_unescaped`` gives the view of a text with
its JSON escapes decoded, which the caller searches too. Patterns are folded
the same way when the config is compiled, so ``UNION   SELECT``,
``union/*x*/select``, ``union%20select`` and ``\\u0075nion select`` all match
``union select``, and ``onerror =`` matches ``onerror=``.

Search cost: patterns are grouped by an *anchor*, their first byte that is
not a letter, digit, space or JSON punctuation (``<``, ``'``, ``$``, ``(``,
``_``, ``/``...). One pass (``rt.present_bytes``: a ``bytes.translate`` on
CPython) tells which anchor bytes the text holds, and only their groups are
searched. Patterns without such a byte (``union select``, ``javascript:``)
are searched always, one substring search per shared key (about 1 us per
4 KiB each on CPython); when there are many of them (a long deny-list), short
texts (up to ``_SMALL`` bytes) go through one compiled prefix-tree
alternation instead where the runtime has one (``rt.literal_search``), since
there the per-pattern call overhead, not the bytes, is the cost. Which
pattern is reported first when a text holds several may differ between the
two ways; whether one is found does not.

What it is and is not: a tripwire of literal patterns in front of a backend
that must still use parameterised queries, output encoding and safe paths.
sqli, xss, nosql and proto are tuned to leave chat and telemetry JSON alone
(``'tea' or 'coffee'``, ``{"role": "constructor"}`` pass); cmd and path
are for routes whose backend runs commands or names files, and technical chat
trips them (``curl http``, ``../readme``). Not decoded, so not seen through:
HTML entities (``&lt;script``), Unicode look-alikes (fullwidth ``＜``),
overlong UTF-8 in ``%c0%af``, ``%uXXXX``, and shell tricks without a fixed
spelling (backticks, ``$IFS`` spelled other ways).
"""

from edgegate.rt import literal_search, lower_ws, present_bytes

SETS = {
    # SQL injection: breaking out of a quoted literal into a tautology or a second statement,
    # UNION-based reads, time-based probes. Bare quotes ("'tea' or 'coffee'") do not trip it.
    "sqli": ("' or 1=1", "' or '1'='1", "' or 'a'='a", "' or ''='", "' or true", '" or 1=1', '" or "1"="1',
             "or 1=1", "' and 1=1", "' and '1'='1", "'; drop ", "'; select ", "'; delete ", "'; insert ",
             "'; update ", "'; exec", "'; shutdown", "; drop table ", "' union ", "union select", "union all select",
             "information_schema", "waitfor delay", "pg_sleep", "xp_cmdshell", "load_file(", "into outfile",
             "@@version", "benchmark(") + tuple("sleep(%d" % i for i in range(10)),
    # Cross-site scripting: markup and script URLs a browser would run.
    "xss": ("<script", "</script", "javascript:", "vbscript:", "onerror=", "onload=", "onmouseover=", "onfocus=",
            "<iframe", "<svg", "<img ", "<object", "<embed", "document.cookie", "srcdoc=", "expression(",
            "alert("),
    # OS command injection and lookups that end in code execution (log4shell and its nested
    # lookups). For routes whose backend runs commands: technical chat trips it ("curl http").
    "cmd": ("$(", "${jndi", "${${", "${::-", "${lower:", "${upper:", "${env:", "${ifs}", "; rm ", ";rm ", "| sh",
            "|sh ", "&& rm ", "/bin/sh", "/bin/bash", "cmd.exe", "powershell", "nc -e", "wget http", "curl http"),
    # Path traversal and NUL-byte truncation. For routes that name files: "see ../readme" trips it.
    "path": ("../", "..\\", "/etc/passwd", "c:\\windows", "\x00"),
    # NoSQL operator injection: a query operator as a member name where a value was expected.
    "nosql": tuple('"$%s":' % op for op in ("where", "ne", "gt", "gte", "lt", "lte", "regex", "in", "nin",
                                            "or", "and", "expr", "function", "eq", "exists")),
    # Prototype pollution of JavaScript backends (as member names; "constructor" as a value is fine).
    "proto": ("__proto__", '"constructor":'),
}

# Bytes that appear in almost any sizeable chat or telemetry JSON: no use as anchors.
_COMMON = b' "abcdefghijklmnopqrstuvwxyz0123456789:,{}[].-'
_PERCENT_MAX = 4  # decode at most this many rounds of %-encoding
_SMALL = 192  # texts up to this many bytes are searched with one compiled alternation, where there is one
_FEW_KEYS = 6  # ... when more always-searched keys than this are left (a long deny-list)


def _anchor(v):
    """The byte of pattern ``v`` whose absence rules it out: its first uncommon byte, else a
    space or a dot (rare in telemetry JSON, common in prose), else None (searched always)."""
    for i in range(len(v)):
        c = v[i:i + 1]
        if c not in _COMMON:
            return c
    for c in (b" ", b"."):
        if c in v:
            return c
    return None


def fold(text):
    """``text`` (bytes) lowercased; whitespace and ``/* comments */`` to one space; space runs
    collapsed; no space before ``(`` or ``=``.

    Each rewrite is guarded by a one-byte test (``memchr``): a text without
    ``*`` or without spaces pays nothing for it.
    """
    t = lower_ws(text)
    if b"*" in t and b"/*" in t:
        t = _strip_comments(t)
    if b" " in t:
        while b"  " in t:
            t = t.replace(b"  ", b" ")
        if b"(" in t and b" (" in t:
            t = t.replace(b" (", b"(")
        if b"=" in t and b" =" in t:
            t = t.replace(b" =", b"=")
    return t


def _strip_comments(t):
    out = bytearray()
    i = 0
    while True:
        j = t.find(b"/*", i)
        if j < 0:
            out += t[i:]
            return bytes(out)
        out += t[i:j]
        out += b" "
        k = t.find(b"*/", j + 2)
        if k < 0:
            return bytes(out)  # an unterminated comment runs to the end
        i = k + 2


_ESCAPES = {0x62: b"\x08", 0x66: b"\x0c", 0x6E: b"\n", 0x72: b"\r", 0x74: b"\t"}


def json_unescaped(t):
    """``t`` (bytes) with JSON string escapes decoded everywhere: ``\\uXXXX`` (surrogate pairs
    joined, a lone surrogate as ``?``), ``\\n``, ``\\/``, ``\\"``... Lexical, no parse, no
    recursion: it works on text that is not (valid) JSON, at any depth."""
    out = bytearray()
    i = 0
    n = len(t)
    while True:
        j = t.find(b"\\", i)
        if j < 0 or j + 1 >= n:
            out += t[i:]
            return bytes(out)
        out += t[i:j]
        c = t[j + 1]
        if c == 0x75:  # u
            cp = _hex4(t, j + 2)
            i = j + 6
            if cp < 0:
                out += b"\\u"
                i = j + 2
                continue
            if 0xD800 <= cp < 0xDC00 and t[i:i + 2] == b"\\u":
                lo = _hex4(t, i + 2)
                if 0xDC00 <= lo < 0xE000:
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
            if 0xD800 <= cp < 0xE000:
                cp = 0x3F
            out += chr(cp).encode()
        else:
            out += _ESCAPES.get(c) or bytes((c,))
            i = j + 2


def _hex4(t, i):
    h = t[i:i + 4]
    if len(h) != 4:
        return -1
    v = 0
    for c in h:
        d = _HEX.find(bytes((c | 0x20,)))
        if d < 0:
            return -1
        v = v * 16 + d
    return v


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


def _by_shared_key(pats):
    """[(key, patterns holding it)]: patterns that share a substring are searched behind it.

    On a long text each substring search costs a pass over it, so patterns
    behind one shared key (``' or 1=1`` and ``' or 'a'='a`` behind ``' or ``)
    cost one pass while the key is absent. Greedy: the key (3 to 8 bytes)
    held by the most patterns first, the longest of those; a pattern sharing
    nothing is its own key.
    """
    left = list(pats)
    out = []
    while left:
        count = {}
        for v, _, _ in left:
            keys = set()
            for n in range(3, 9):
                for i in range(len(v) - n + 1):
                    keys.add(v[i:i + n])
            for k in keys:
                count[k] = count.get(k, 0) + 1
        best = None
        for k, c in count.items():
            if c >= 2 and (best is None or (c, len(k), k) > (count[best], len(best), best)):
                best = k
        if best is None:
            out += [(v, [(v, label, p)]) for v, label, p in left]
            break
        out.append((best, [x for x in left if best in x[0]]))
        left = [x for x in left if best not in x[0]]
    return out


class Scanner:
    """The compiled patterns of some sets plus a route's own deny-list."""

    __slots__ = ("groups", "always", "count", "present", "small_always", "keyed")

    def __init__(self, set_names=(), deny=()):
        anchored = {}
        self.always = []
        self.count = 0
        seen = set()
        for label, pats in [(n, SETS[n]) for n in set_names] + [("deny", tuple(deny))]:
            for p in pats:
                fp = fold(p.encode() if isinstance(p, str) else p)
                variants = [fp]
                if fp.endswith(b'":'):  # a member name: pretty-printed JSON puts a space before the colon
                    variants.append(fp[:-1] + b" :")
                for v in variants:
                    if not v.strip() or v in seen:
                        continue
                    seen.add(v)
                    self.count += 1
                    a = _anchor(v)
                    if a is None:
                        self.always.append((v, label, p))
                    else:
                        anchored.setdefault(a[0], []).append((v, label, p))
        # anchor byte value -> [(shared key, patterns)]
        self.groups = {a: _by_shared_key(pats) for a, pats in anchored.items()}
        self.present = present_bytes(bytes(anchored))
        self.keyed = _by_shared_key(self.always)
        self.small_always = None
        if len(self.keyed) > _FEW_KEYS:  # a handful of substring tests beat a regex at any size
            search = literal_search([v for v, _, _ in self.always])
            if search is not None:
                by = {v: (label, p) for v, label, p in self.always}

                def small_always(t):
                    v = search(t)
                    return None if v is None else by[v]

                self.small_always = small_always

    def _search(self, t):
        groups = self.groups
        for a in self.present(t):
            for key, pats in groups[a]:
                if key in t:
                    for v, label, p in pats:
                        if v in t:
                            return label, p
        if self.small_always is not None and len(t) <= _SMALL:
            return self.small_always(t)
        for key, pats in self.keyed:
            if key in t:
                for v, label, p in pats:
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
