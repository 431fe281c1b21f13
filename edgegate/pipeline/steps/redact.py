"""``redact``: replace JSON members named by path, and patterns found in text, with a mask.

Keys: ``paths`` (JSON member paths, below), ``patterns`` (built-in names and
``{"regex": ..., "name": ...}`` entries, below), ``mask`` (default
``"[redacted]"``), ``on_violation``. Text messages only: binary passes
untouched.

A JSON message stays JSON: paths replace the value they name (whatever its
type) with the mask string; patterns are searched in string values (not in
member names), and integers of 13 to 19 digits are checked by ``card`` too;
the document is written back (compact, UTF-8) only when something changed. A
text that is not JSON has its patterns replaced in place. When nothing
matched the step returns None: the message goes on as it came, without a
copy beyond the one the content steps share. A rewritten message over
``limits.max_message_bytes`` is refused (1009).

Before anything is parsed, one pass over the message's bytes (and, when it
has JSON escapes, over their decoded form) decides whether any pattern
occurs at all and whether every member a path names is spelled in it: a
message with neither is passed at the cost of that pass.

Paths: ``$`` then segments: ``.name`` (letters, digits, ``_``, ``-``; not
starting with a digit or ``-``), ``["any name"]`` or ``['any name']`` (no
quote or backslash inside), ``[N]`` (an array index), ``.*`` or ``[*]``
(every member or item). ``$.card``, ``$.user.email``, ``$.items[*].token``,
``$["x-api-key"]``. At most 16 segments, 256 characters.

Built-in patterns (searched in the message's bytes; linear: every byte is
looked at a bounded number of times, whatever the input; the constant is
Python's, per candidate: a 64 KiB text made of nothing but candidates,
``1234 1234 ...`` or ``a@b.cd a@b.cd ...``, costs up to about 25 ms per
pattern on CPython on a 2-core EPYC, against about 10 us for 4 KiB of chat.
On client messages put a size and a rate step before a redact step):

- ``card``: 13 to 19 digits, contiguous or in groups split by one space or
  dash where every group but the last has at least 4 digits (4-4-4-4, 4-6-5,
  4-4-4-4-3), starting with 2 to 6 (the major networks' ranges) and passing
  the Luhn check. A longer digit run is not a card; groups of a longer run
  are tried in turn (``4111 1111 1111 1111 2024`` masks the card, not the year).
- ``email``: ``local@domain.tld``: local part of ``A-Za-z0-9._%+-`` (at most
  64), domain labels of ``A-Za-z0-9-`` joined by dots, a top-level label of
  two or more letters. Left alone: an address right after ``/`` or ``:`` (a
  URL's ``//user:pw@host`` or ``/img@2x.png``; ``mailto:`` is masked), hosts
  without a dot (``user@localhost``), numeric ends (``pkg@1.2.3``).
- ``jwt``: three base64url parts joined by dots (the third may be empty),
  the first starting ``eyJ`` and decoding to a JSON object's text, not inside
  a longer base64url run.
- ``bearer``: ``Bearer`` (any case, not inside a word), blanks, then a token
  of token68 characters that looks like a credential, not a word: 8 or more
  characters with a digit or punctuation (``abc.def.ghi``), or 20 or more
  (``bearer instruments`` is prose). The token is masked, the word kept.

Configured regexes (``{"regex": "EMP-[0-9]{6}", "name": "employee id"}``,
at most 16 entries of 128 ASCII characters) are compiled once to a pattern
that CPython's ``re`` and MicroPython's ``re`` run alike, and are refused
unless their search cost is bounded. The syntax is the subset both engines
support, plus counted repetition (expanded at compile): literals; ``.``
(any byte but newline); classes ``[a-z_]``, ``[^...]``; ``\\d \\w \\s`` and
their negations (ASCII); escapes ``\\t \\n \\r \\f \\v \\xHH`` and of any
punctuation; groups ``(...)``/``(?:...)`` with ``|`` alternatives; ``?``,
``{m}`` and ``{m,n}`` (n at most 64) after a single character, class or
escape. Refused, each with its reason: ``*``, ``+`` and ``{m,}`` (unbounded
repetition: a search would cost the square of the message), a quantifier on
a group (nested quantifiers: exponential backtracking), lazy quantifiers,
anchors and ``\\b`` (MicroPython has none; patterns are searched anywhere),
back-references, look-arounds, flags, non-ASCII characters, a pattern that
matches the empty string, more than 1024 ways to try at one position (the
product of the repetitions' spans), and a repetition too large for
MicroPython's engine (its jumps are at most 127 bytes of program). Matching
is by bytes on both runtimes, so ``.`` and ``[^...]`` take one byte of a
multi-byte character.
"""

import re
from binascii import a2b_base64

from edgegate.config.model import ConfigError
from edgegate.policy.errors import MessageRefused
from edgegate.policy.signatures import json_unescaped

from ..chain import NOT_JSON, UNPARSED
from . import ON_VIOLATION_SCHEMA, Step, drop_of, listed, text

BUILTINS = ("card", "email", "jwt", "bearer")
MAX_PATHS = 32
MAX_PATH_CHARS = 256
MAX_SEGMENTS = 16
MAX_REGEXES = 16
MAX_REGEX_CHARS = 128
MAX_REPEAT = 64
MAX_WAYS = 1024
MAX_MASK = 64

_DIGITS = b"0123456789"
_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_ALNUM = _DIGITS + _UPPER + _LOWER
_ALNUM_SET = frozenset(_ALNUM)


# -- bounded scanning with the runtime's C string methods ------------------------------------------

def _run_end(b, i, chars):
    """The end of the run of bytes in ``chars`` that starts at ``i`` (``i`` itself when none)."""
    n = len(b)
    w = 32
    while i < n:
        seg = b[i:i + w]
        k = len(seg) - len(seg.lstrip(chars))
        i += k
        if k < len(seg):
            return i
        if w < 4096:
            w *= 2
    return n


def _run_start(b, i, chars, lo):
    """The start of the run of bytes in ``chars`` that ends at ``i``, not before ``lo``."""
    seg = b[lo:i]
    return i - (len(seg) - len(seg.rstrip(chars)))


# -- card --------------------------------------------------------------------------------------------

_SEED4 = re.compile(b"[0-9][0-9][0-9][0-9]")
_DIGSEP = _DIGITS + b" -"


def luhn(d):
    """True when the digits ``d`` (bytes) pass the Luhn check."""
    s = 0
    alt = False
    for i in range(len(d) - 1, -1, -1):
        x = d[i] - 48
        if alt:
            x += x
            if x > 9:
                x -= 9
        s += x
        alt = not alt
    return s % 10 == 0


def _is_card(d):
    return 13 <= len(d) <= 19 and 0x32 <= d[0] <= 0x36 and luhn(d)


def _card_groups(b, i, e, out):
    """Card numbers among the digit groups of ``b[i:e]`` (digits, single spaces or dashes)."""
    groups = []  # (start, end) of each digit group of one run of single-separated groups
    j = i
    while j < e:
        k = _run_end(b, j, _DIGITS)
        if k > e:
            k = e
        if k == j:  # a separator where a digit should be: two in a row end the run
            _card_windows(b, groups, out)
            groups = []
            j += 1
            continue
        groups.append((j, k))
        j = k + 1  # skip one separator
    _card_windows(b, groups, out)


def _card_windows(b, groups, out):
    """From each group on, the longest run of whole groups that is a card number (leftmost first)."""
    a = 0
    ng = len(groups)
    while a < ng:
        ends = []  # group indexes where the digits from group a make 13 to 19
        total = 0
        for z in range(a, ng):
            if z > a and groups[z - 1][1] - groups[z - 1][0] < 4:
                break  # only the last group of a number may be shorter than 4 digits
            total += groups[z][1] - groups[z][0]
            if total > 19:
                break
            if total >= 13:
                ends.append(z)
        for z in reversed(ends):
            d = b"".join([b[x:y] for x, y in groups[a:z + 1]])
            if _is_card(d):
                out.append((groups[a][0], groups[z][1]))
                a = z
                break
        a += 1


# Where bytes.translate exists (CPython), every digit becomes "0" in one C pass and a run of four is a
# substring search; elsewhere a four-digit pattern finds it.
_ZEROS = bytes([0x30 if 0x30 <= x <= 0x39 else x for x in range(256)])
try:
    b"".translate(_ZEROS)
except AttributeError:  # pragma: no cover - MicroPython
    _ZEROS = None


def find_cards(b, out):
    pos = 0
    z = b.translate(_ZEROS) if _ZEROS is not None else None
    while True:
        if z is not None:
            i = z.find(b"0000", pos)
            if i < 0:
                return
        else:
            m = _SEED4.search(b, pos)
            if m is None:
                return
            i = b.find(m.group(0), pos)  # the leftmost match is the first place its text occurs
        e = _run_end(b, i, _DIGSEP)
        _card_groups(b, i, e, out)
        pos = e


def card_number(v):
    """True when the integer ``v`` is a card number (cards in JSON numbers)."""
    return 10 ** 12 <= v < 10 ** 19 and _is_card(str(v).encode())


# -- email -------------------------------------------------------------------------------------------

_LOCAL = _ALNUM + b"._%+-"
_LOCAL_SET = frozenset(_LOCAL)
_DOMAIN = _ALNUM + b".-"
_DOMAIN_SET = frozenset(_DOMAIN)
_LETTERS = _UPPER + _LOWER


def find_emails(b, out):
    pos = 0
    n = len(b)
    while True:
        a = b.find(b"@", pos)
        if a < 0:
            return
        pos = a + 1
        if a == 0 or b[a - 1] not in _LOCAL_SET or pos >= n or b[pos] not in _DOMAIN_SET:
            continue  # a stray @ costs these few tests
        e = _run_end(b, pos, _DOMAIN)
        pos = e  # a domain holds no @: the next candidate is after it
        if b.find(b".", a + 1, e) < 0:
            continue
        s = _run_start(b, a, _LOCAL, max(0, a - 64))
        while s < a and b[s] == 0x2E:  # a local part does not start with a dot
            s += 1
        if s == a:
            continue
        if s > 0 and b[s - 1] in (0x2F, 0x3A):  # after / or : it is a URL's userinfo or path
            if not (b[s - 1] == 0x3A and b[max(0, s - 7):s].lower() == b"mailto:"):
                continue
        dom = b[a + 1:e].rstrip(b".-")
        if len(dom) > 253:
            continue
        labels = dom.split(b".")
        if len(labels) < 2:
            continue
        tld = labels[-1]
        if len(tld) < 2 or tld.strip(_LETTERS):
            continue
        if any(not lb or len(lb) > 63 or lb[0] == 0x2D or lb[-1] == 0x2D for lb in labels):
            continue
        out.append((s, a + 1 + len(dom)))


# -- jwt ---------------------------------------------------------------------------------------------

_B64U = _ALNUM + b"-_"
_B64U_SET = frozenset(_B64U)


def _object_header(h):
    """True when the base64url text ``h`` decodes to a JSON object's text (``{"...}``)."""
    if len(h) % 4 == 1 or len(h) > 4096:
        return False
    try:
        d = a2b_base64(h.replace(b"-", b"+").replace(b"_", b"/") + b"=" * (-len(h) % 4))
    except ValueError:
        return False
    d = d.strip()
    return d[:2] == b'{"' and d[-1:] == b"}"


def find_jwts(b, out):
    pos = 0
    n = len(b)
    while True:
        s = b.find(b"eyJ", pos)
        if s < 0:
            return
        e1 = _run_end(b, s, _B64U)
        pos = e1
        if s > 0 and b[s - 1] in _B64U_SET:
            continue  # inside a longer run: not the start of a token
        if e1 >= n or b[e1] != 0x2E:
            continue
        e2 = _run_end(b, e1 + 1, _B64U)
        pos = e2
        if e2 == e1 + 1 or e2 >= n or b[e2] != 0x2E:
            continue
        e3 = _run_end(b, e2 + 1, _B64U)
        pos = e3
        if _object_header(b[s:e1]):
            out.append((s, e3))


# -- bearer ------------------------------------------------------------------------------------------

_TOKEN68 = _ALNUM + b"-._~+/="


def _token_like(t):
    """A credential, not a word: 8 or more characters holding a digit or punctuation, or 20 or more."""
    return len(t) >= 20 or (len(t) >= 8 and bool(t.strip(_LETTERS)))


def find_bearers(b, out):
    low = b.lower()
    pos = 0
    while True:
        i = low.find(b"bearer", pos)
        if i < 0:
            return
        pos = i + 6
        if i > 0 and low[i - 1] in _ALNUM_SET:
            continue
        j = _run_end(b, i + 6, b" \t")
        if j == i + 6:
            continue
        e = _run_end(b, j, _TOKEN68)
        pos = e if e > j else j
        while e > j and b[e - 1] == 0x2E:  # a sentence's full stop is not part of the token
            e -= 1
        if _token_like(b[j:e]):
            out.append((j, e))


# -- configured regexes: a bounded subset, one program for both engines -----------------------------

_NAMED = {
    "d": frozenset(_DIGITS),
    "w": frozenset(_ALNUM + b"_"),
    "s": frozenset(b" \t\n\r\x0c\x0b"),
}
_CONTROL = {"t": 9, "n": 10, "r": 13, "f": 12, "v": 11}
_ALL = frozenset(range(256))
_META = b"\\.[]()|?*+{}^$"


class _RegexError(Exception):
    pass


class _Parser:
    """Parses the subset; items: (kind, data, lo, hi) with kind char | set | group."""

    def __init__(self, src):
        self.s = src
        self.i = 0
        self.splits = 0  # optional slots and alternatives: MicroPython recurses once per slot taken

    def error(self, why):
        raise _RegexError("at %d: %s" % (self.i, why))

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def alternatives(self, depth):
        alts = [self.sequence(depth)]
        while self.peek() == "|":
            self.i += 1
            self.splits += 1
            alts.append(self.sequence(depth))
        return alts

    def sequence(self, depth):
        items = []
        while self.i < len(self.s) and self.peek() not in "|)":
            items.append(self.item(depth))
        return items

    def item(self, depth):
        c = self.peek()
        start = self.i
        if c == "(":
            if depth >= 4:
                self.error("groups nested deeper than 4")
            self.i += 1
            if self.s.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                self.error("only (...) and (?:...) groups: no look-arounds, named groups or flags")
            alts = self.alternatives(depth + 1)
            if self.peek() != ")":
                self.error("an unclosed group")
            self.i += 1
            atom = ("group", alts)
        elif c == "[":
            atom = ("set", self.klass())
        elif c == ".":
            self.i += 1
            atom = ("set", _ALL - {10})
        elif c == "\\":
            atom = self.escape()
        elif c in "*+":
            self.error("%s with nothing before it" % c)
        elif c in "?{":
            self.error("a quantifier with nothing before it")
        elif c in "^$":
            self.error("anchors are not supported (a pattern is searched anywhere in each string)")
        elif c == "]":
            self.error("an unmatched ]: write \\]")
        else:
            self.i += 1
            atom = ("char", self.literal(c))
        lo, hi = self.quantifier(atom, start)
        return atom[0], atom[1], lo, hi

    def literal(self, c):
        o = ord(c)
        if o < 0x20 or o > 0x7E:
            self.error("only printable ASCII characters (write \\t, \\n, \\xHH)")
        return o

    def escape(self):
        self.i += 1
        c = self.peek()
        if not c:
            self.error("a pattern cannot end with \\")
        self.i += 1
        low = c.lower()
        if low in _NAMED:
            s = _NAMED[low]
            return ("set", s if c == low else _ALL - s)
        if c in _CONTROL:
            return ("char", _CONTROL[c])
        if c == "x":
            h = self.s[self.i:self.i + 2]
            try:
                v = int(h, 16) if len(h) == 2 else -1
            except ValueError:
                v = -1
            if v < 0 or v > 0x7F:
                self.error("\\x needs two hex digits of an ASCII byte")
            self.i += 2
            return ("char", v)
        if c.isalpha() or c.isdigit():
            self.error("\\%s is not supported (no \\b, back-references or other letter escapes)" % c)
        return ("char", self.literal(c))

    def klass(self):
        self.i += 1
        neg = self.peek() == "^"
        if neg:
            self.i += 1
        members = set()
        first = True
        while True:
            c = self.peek()
            if not c:
                self.error("an unclosed [")
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            lo = self.class_char()
            if type(lo) is not int:
                members |= lo
                continue
            if self.peek() == "-" and self.s[self.i + 1:self.i + 2] not in ("]", ""):
                self.i += 1
                hi = self.class_char()
                if type(hi) is not int or hi < lo:
                    self.error("a bad range in a class")
                members |= set(range(lo, hi + 1))
            else:
                members.add(lo)
        if not members:
            self.error("an empty class")
        return frozenset(_ALL - members if neg else members)

    def class_char(self):
        c = self.peek()
        if c == "\\":
            kind, v = self.escape()
            return v
        if c == "[":
            self.error("[ inside a class: write \\[")
        self.i += 1
        return self.literal(c)

    def quantifier(self, atom, start):
        c = self.peek()
        lo = hi = 1
        if c == "?":
            self.i += 1
            lo = 0
        elif c == "{":
            j = self.s.find("}", self.i)
            body = self.s[self.i + 1:j] if j > 0 else ""
            parts = body.split(",")
            try:
                nums = [int(p) for p in parts]
            except ValueError:
                nums = None
            if j < 0 or not nums or len(parts) > 2 or any(p.strip() != p or not p for p in parts):
                if len(parts) == 2 and parts[1] == "":
                    self.error("{m,} repeats without bound: write {m,n}")
                self.error("a repetition is {m} or {m,n}")
            lo, hi = nums[0], nums[-1]
            if hi < lo or hi > MAX_REPEAT:
                self.error("{m,n} needs m <= n <= %d" % MAX_REPEAT)
            self.i = j + 1
        elif c and c in "*+":
            self.error("%s repeats without bound (the search would cost the square of the message): write "
                       "{m,n} with n at most %d" % (c, MAX_REPEAT))
        else:
            return lo, hi
        if atom[0] == "group":
            self.i = start
            self.error("a quantifier on a group (nested quantifiers): write the alternatives out")
        nxt = self.peek()
        if nxt in ("?", "*", "+", "{"):
            self.error("a quantifier after a quantifier (lazy or nested repetition)")
        self.splits += hi - lo
        return lo, hi


def _set_code(members):
    """(pattern bytes, program bytes) of a class holding ``members`` (byte values)."""
    high = any(x >= 0x80 for x in members)
    neg = high
    if high:
        members = _ALL - members
        if any(x >= 0x80 for x in members):
            raise _RegexError("a class mixing ASCII and non-ASCII bytes")
    # An escaped character cannot end a range in MicroPython's classes: those go alone, escaped.
    ranges = []
    for x in sorted(members):
        if x in _CLASS_SPECIAL:
            continue
        if ranges and ranges[-1][1] == x - 1:
            ranges[-1][1] = x
        else:
            ranges.append([x, x])
    out = bytearray(b"[^" if neg else b"[")
    n = 0
    for x in sorted(members):
        if x in _CLASS_SPECIAL:
            out += b"\\" + bytes((x,))
            n += 1
    for lo, hi in ranges:
        out += bytes((lo,)) if hi == lo else bytes((lo,)) + b"-" + bytes((hi,))
        n += 1
    out += b"]"
    return bytes(out), 2 + 2 * n


_CLASS_SPECIAL = frozenset(b"\\]^-[")


def _atom_code(kind, data):
    """(pattern bytes, MicroPython program bytes) of one character or class."""
    if kind == "char":
        c = bytes((data,))
        return (b"\\" + c if c in _META else c), 2
    if len(data) == 1:
        return _atom_code("char", next(iter(data)))
    return _set_code(data)


def _emit(alts):
    """(pattern, program bytes, ways, min length) of alternatives."""
    pats = []
    sizes = []
    ways = 0
    least = None
    for seq in alts:
        p, n, w, m = _emit_seq(seq)
        pats.append(p)
        sizes.append(n)
        ways += w
        least = m if least is None else min(least, m)
    size = sum(sizes)
    n = len(alts)
    if n > 1:
        # MicroPython compiles A|B|C as Split, Split, A, Jmp, B, Jmp, C: the last Split jumps over
        # every alternative but the last, each Jmp over one; a jump reaches 127 bytes (a few spared).
        size += 4 * (n - 1)
        if sum(sizes[:-1]) + 4 * n - 6 > 124 or max(sizes[1:]) > 122:
            raise _RegexError("alternatives too long for MicroPython's engine (its jumps reach 127 bytes of "
                              "program): shorten them")
    return b"|".join(pats), size, ways, least


def _emit_seq(seq):
    out = bytearray()
    size = 0
    ways = 1
    least = 0
    for kind, data, lo, hi in seq:
        if kind == "group":
            p, s, w, m = _emit(data)
            p = b"(?:" + p + b")"
        else:
            p, s = _atom_code(kind, data)
            w, m = 1, 1
        out += p * lo
        size += s * lo
        least += m * lo
        k = hi - lo
        if k:
            # x{m,n}: m copies, then n-m optional copies nested so that there is one way per count.
            out += (b"(?:" + p) * k + b")?" * k
            body = k * (s + 2)
            if body > 120:
                raise _RegexError("a repetition of %d optional copies is too large for MicroPython's engine "
                                  "(at most %d of this)" % (k, max(1, 120 // (s + 2))))
            size += body
            w *= k + 1
        ways *= w
        if ways > MAX_WAYS:
            raise _RegexError("more than %d ways to try at one position (the product of the repetitions' "
                              "spans): narrow the repetitions" % MAX_WAYS)
    return bytes(out), size, ways, least


def compile_regex(src):
    """The compiled ``re`` pattern (bytes) for ``src``; raises _RegexError saying why not."""
    if any(ord(c) > 0x7E for c in src):
        raise _RegexError("only ASCII characters")
    p = _Parser(src)
    alts = p.alternatives(0)
    if p.i < len(src):
        p.error("an unmatched )")
    if p.splits > 64:
        raise _RegexError("more than 64 optional or alternative parts")
    pat, size, ways, least = _emit(alts)
    if least == 0:
        raise _RegexError("it can match nothing at all")
    return re.compile(pat)


def regex_finder(rx):
    def find(b, out):
        pos = 0
        n = len(b)
        while pos < n:
            m = rx.search(b, pos)
            if m is None:
                return
            g = m.group(0)
            i = b.find(g, pos)  # no anchors: the leftmost match is the first place its text occurs
            out.append((i, i + len(g)))
            pos = i + len(g)

    return find


# -- paths -------------------------------------------------------------------------------------------

ANY = None  # a wildcard segment
_NAME_CHARS = (_ALNUM + b"_-").decode()


def parse_path(src):
    """[segment]: a member name (str), an index (int) or ANY; raises ValueError saying why not."""
    if not isinstance(src, str) or not src.startswith("$") or len(src) > MAX_PATH_CHARS:
        raise ValueError("must start with $ and be at most %d characters" % MAX_PATH_CHARS)
    segs = []
    i = 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == ".":
            j = i + 1
            if src[j:j + 1] == "*":
                segs.append(ANY)
                i = j + 1
                continue
            while j < n and src[j] in _NAME_CHARS:
                j += 1
            name = src[i + 1:j]
            if not name or name[0] in "0123456789-":
                raise ValueError("a name after . at %d (letters, digits, _ and -; or [\"...\"])" % i)
            segs.append(name)
            i = j
        elif c == "[":
            j = src.find("]", i)
            if j < 0:
                raise ValueError("an unclosed [ at %d" % i)
            body = src[i + 1:j]
            if body == "*":
                segs.append(ANY)
            elif len(body) >= 2 and body[0] in "'\"" and body[-1] == body[0]:
                name = body[1:-1]
                if "'" in name or '"' in name or "\\" in name:
                    raise ValueError("a quoted name at %d holds a quote or backslash" % i)
                segs.append(name)
            elif body.isdigit() and len(body) <= 6 and (body == "0" or body[0] != "0"):
                segs.append(int(body))
            else:
                raise ValueError("[%s] at %d: write [N], [*] or [\"name\"]" % (body, i))
            i = j + 1
        else:
            raise ValueError("unexpected %r at %d" % (c, i))
    if not segs:
        raise ValueError("names no member or item ($ alone is the whole message)")
    if len(segs) > MAX_SEGMENTS:
        raise ValueError("more than %d segments" % MAX_SEGMENTS)
    return tuple(segs)


def _children(node, seg):
    """(container, key) pairs that ``seg`` selects in ``node``."""
    t = type(node)
    if seg is ANY:
        if t is dict:
            return [(node, k) for k in node]
        if t is list:
            return [(node, k) for k in range(len(node))]
    elif type(seg) is int:
        if t is list and seg < len(node):
            return [(node, seg)]
    elif t is dict and seg in node:
        return [(node, seg)]
    return []


def redact_path(root, segs, mask):
    """Replace what ``segs`` names in ``root`` by ``mask``; True when something changed."""
    frontier = [root]
    for seg in segs[:-1]:
        nxt = []
        for node in frontier:
            for c, k in _children(node, seg):
                v = c[k]
                if type(v) is dict or type(v) is list:
                    nxt.append(v)
        if not nxt:
            return False
        frontier = nxt
    changed = False
    for node in frontier:
        for c, k in _children(node, segs[-1]):
            if type(c[k]) is not str or c[k] != mask:
                c[k] = mask
                changed = True
    return changed


# -- the step ----------------------------------------------------------------------------------------

_FINDERS = {"card": (find_cards, 13), "email": (find_emails, 6), "jwt": (find_jwts, 9),
            "bearer": (find_bearers, 15)}


def spans(b, finders):
    out = []
    for f in finders:
        f(b, out)
    return out


def _whole_chars(b, found):
    """``found`` with every span widened to whole UTF-8 characters (a configured pattern's
    ``.`` matches one byte: a span must never cut a character in two)."""
    n = len(b)
    out = []
    for s, e in found:
        while s > 0 and s < n and (b[s] & 0xC0) == 0x80:
            s -= 1
        while e < n and (b[e] & 0xC0) == 0x80:
            e += 1
        out.append((s, e))
    return out


def looks_structured(b, starts=b"{["):
    """True when ``b`` starts (after whitespace) like a JSON object or array (one of ``starts``)."""
    for c in b:
        if c in (0x20, 0x09, 0x0A, 0x0D):
            continue
        return c in starts
    return False


def masked(b, found, mask):
    """``b`` with the (start, end) spans in ``found`` (overlaps merged) replaced by ``mask``."""
    found = _whole_chars(b, found)
    found.sort()
    parts = []
    last = 0
    cs, ce = found[0]
    for s, e in found[1:]:
        if s <= ce:
            if e > ce:
                ce = e
            continue
        parts.append(b[last:cs])
        parts.append(mask)
        last = ce
        cs, ce = s, e
    parts.append(b[last:cs])
    parts.append(mask)
    parts.append(b[ce:])
    return b"".join(parts)


def _card_value(x):
    """A JSON number that is a card number: signed, or written with a fraction or an exponent."""
    t = type(x)
    if t is float:
        if x != x or x in (float("inf"), float("-inf")) or x != int(x):
            return False
        x = int(x)
    elif t is not int:
        return False
    return card_number(-x if x < 0 else x)


class RedactStep(Step):
    NAME = "redact"
    KEYS = ("paths", "patterns", "mask", "on_violation")
    SCHEMA = {
        "paths": {"type": "array", "maxItems": MAX_PATHS,
                  "items": {"type": "string", "pattern": "^\\$", "maxLength": MAX_PATH_CHARS}},
        "patterns": {"type": "array", "maxItems": len(BUILTINS) + MAX_REGEXES, "items": {"oneOf": [
            {"enum": list(BUILTINS)},
            {"type": "object", "additionalProperties": False, "required": ["regex"],
             "properties": {"regex": {"type": "string", "minLength": 1, "maxLength": MAX_REGEX_CHARS},
                            "name": {"type": "string", "minLength": 1, "maxLength": 64}}}]}},
        "mask": {"type": "string", "maxLength": MAX_MASK, "default": "[redacted]"},
        "on_violation": ON_VIOLATION_SCHEMA,
    }
    reads_text = True

    def __init__(self, paths=(), finders=(), mask="[redacted]", drop=False, card=False, least=1):
        self.paths = tuple(paths)  # parsed paths
        self.needles = tuple(tuple(b'"' + s.encode() + b'"' for s in p if type(s) is str) for p in paths)
        self.finders = tuple(finders)
        self.card = card  # integers are checked as card numbers too
        self.least = least  # the shortest text any pattern can match
        self.mask = mask
        self.mask_bytes = mask.encode()
        self.drop = drop

    @classmethod
    def compile(cls, conf, where, ctx):
        paths = []
        for i, src in enumerate(listed(conf.get("paths", []), where("paths"), MAX_PATHS)):
            try:
                paths.append(parse_path(src))
            except ValueError as e:
                raise ConfigError("%s[%d]" % (where("paths"), i), str(e)) from None
        finders = []
        least = None
        card = False
        seen = set()
        pats = listed(conf.get("patterns", []), where("patterns"), len(BUILTINS) + MAX_REGEXES)
        for i, p in enumerate(pats):
            at = "%s[%d]" % (where("patterns"), i)
            if isinstance(p, str):
                if p not in _FINDERS:
                    raise ConfigError(at, "must be one of %s, or {\"regex\": ...}" % ", ".join(BUILTINS))
                if p in seen:
                    raise ConfigError(at, "%s is listed twice" % p)
                seen.add(p)
                f, n = _FINDERS[p]
                card = card or p == "card"
            elif type(p) is dict:
                for k in p:
                    if k not in ("regex", "name"):
                        raise ConfigError(at + "." + k, "unknown key")
                src = p.get("regex")
                if not isinstance(src, str) or not src or len(src) > MAX_REGEX_CHARS:
                    raise ConfigError(at + ".regex", "must be a non-empty string of at most %d characters"
                                      % MAX_REGEX_CHARS)
                if "name" in p:
                    text(p["name"], at + ".name", 64)
                try:
                    rx = compile_regex(src)
                except _RegexError as e:
                    raise ConfigError(at + ".regex", str(e)) from None
                f, n = regex_finder(rx), 1
            else:
                raise ConfigError(at, "must be a pattern name or {\"regex\": ...}")
            finders.append(f)
            least = n if least is None else min(least, n)
        mask = conf.get("mask", "[redacted]")
        if not isinstance(mask, str) or len(mask.encode()) > MAX_MASK:
            raise ConfigError(where("mask"), "must be a string of at most %d bytes" % MAX_MASK)
        if not paths and not finders:
            raise ConfigError(where(), "a redact step needs paths or patterns")
        return cls(paths, finders, mask, drop_of(conf, where, ctx), card, least or 1)

    def _may_name(self, raw):
        """True when some path may name a member of ``raw`` (every name it spells is there)."""
        if b"\\" in raw:
            return True  # an escaped name would not be seen: parse
        for needles in self.needles:
            for s in needles:
                if s not in raw:
                    break
            else:
                return True
        return False

    def _str(self, s):
        if len(s) < self.least:
            return None
        b = s.encode()
        found = spans(b, self.finders)
        return masked(b, found, self.mask_bytes).decode() if found else None

    def _strings(self, v):
        """Patterns in every string value of ``v`` (and card numbers in integers); True if any changed."""
        changed = False
        stack = [v]
        card = self.card
        mask = self.mask
        while stack:
            node = stack.pop()
            keys = node if type(node) is dict else range(len(node))
            for k in keys:
                x = node[k]
                t = type(x)
                if t is str:
                    r = self._str(x)
                    if r is not None:
                        node[k] = r
                        changed = True
                elif t is dict or t is list:
                    stack.append(x)
                elif card and (t is int or t is float) and _card_value(x):
                    node[k] = mask
                    changed = True
        return changed

    def judge(self, m):
        raw = m.raw
        paths = bool(self.paths) and self._may_name(raw)
        found = None  # the patterns' spans in the raw text
        patterns = False  # some pattern occurs, in the text or in its decoded JSON strings
        if self.finders:
            found = spans(raw, self.finders)
            patterns = bool(found) or (b"\\" in raw and bool(spans(json_unescaped(raw), self.finders)))
        if not (paths or patterns):
            return None
        v = m.json()
        if v is NOT_JSON:
            if looks_structured(raw):
                # Duplicate names, NaN, nesting or numbers past the strict parser: a
                # reader's parser may still take it, and its secrets with it.
                raise MessageRefused(1008, "redact", "JSON that strict parsing refuses cannot be redacted safely",
                                     self.drop)
            if not found:
                return None
            return m.replace(masked(raw, found, self.mask_bytes), UNPARSED, "redact", self.drop)
        changed = False
        if paths:
            for p in self.paths:
                if redact_path(v, p, self.mask):
                    changed = True
        if patterns:
            t = type(v)
            if t is dict or t is list:
                if self._strings(v):
                    changed = True
            elif t is str:
                r = self._str(v)
                if r is not None:
                    v = r
                    changed = True
            elif self.card and _card_value(v):
                v = self.mask
                changed = True
        if not changed:
            return None
        return m.dump(v, "redact", self.drop)
