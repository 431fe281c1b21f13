"""The request target as routing sees it (portable, no I/O): one normal form, or a refusal naming why.

A route is chosen on the normalised path and the backend is sent the same
path, so the backend can never read another path than the one admission
judged. ``normalise_path(path)`` (the part before ``?``):

1. must start with ``/`` (origin-form, RFC 9112 section 3.2.1): the
   absolute-form ``http://host/x`` and ``*`` are refused;
2. decodes percent-encoded unreserved characters (ALPHA DIGIT ``-._~``,
   RFC 3986 sections 2.3 and 6.2.2.2) and writes every other escape in upper
   case (6.2.2.1);
3. collapses repeated slashes: a backend that merges them (nginx
   ``merge_slashes``, most frameworks) before resolving ``..`` would read
   ``/chat//../admin`` as ``/admin`` while RFC 3986 alone gives
   ``/chat/admin``; collapsing first makes both the same, and the forwarded
   path has none left;
4. removes dot segments (RFC 3986 section 5.2.4), ``%2e`` included since it is
   decoded first; a path that climbs above the root is refused rather than
   clamped (no client a route serves sends one).

Refused (``TargetError``, answered 400), because a backend may read them as
path structure the gateway did not route on: ``%2F`` and ``%5C`` (encoded
``/`` and ``\\``), ``\\`` (WHATWG URL parsers read it as ``/``), ``;`` raw or
encoded (servers that strip path parameters read ``/..;/`` as ``/../`` and
``/admin;x`` as ``/admin``), ``#`` (a fragment is never part of a request
target), ``%25`` before two hex digits (double encoding: ``%252e`` is ``.``
to a backend that decodes twice), escapes that are malformed or encode NUL or
a control character, escaped bytes that are not UTF-8 (overlong ``%C0%AE`` is
``.`` to a lax decoder), and any raw control, space or non-ASCII character.

``check_query(query)`` refuses a ``#`` or a character outside visible ASCII in
the query and leaves the rest as sent (the backend decodes it).
``pop_param(query, name)`` takes a credential parameter out of the query in
every spelling a backend's decoder could read as ``name`` (percent-encoded in
any case, ``%uXXXX``, ``+`` for space, case as ASP.NET folds it, ``.``, space
or an unmatched ``[`` for ``_`` and ``name[...]`` as PHP reads them, ``[name]``
as Rack and qs read it, decoded twice) and refuses a query that spells it
twice or behind a ``;`` (a separator to older decoders), or that has a control
character in any parameter name (PHP ends a name at NUL): the one value
verified is then the only one the backend could have read, and the backend
reads none.

The output is a fixed point: normalising it again changes nothing. Limits:
routes compare paths case-sensitively, as RFC 3986 does; a backend that folds
case, or (Windows) strips trailing dots and spaces from segments, can read
``/ADMIN`` or ``/admin.`` as ``/admin``: route such a backend as a whole.
Route paths in the configuration must themselves be in this normal form: the
configuration refuses one that is not (``config/model.py``), naming the form
to write.
"""

from edgegate.ws.utf8 import Utf8Dfa

MAX_PATH = 16384  # the request-line limit bounds it first; this keeps the function bounded on its own
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_HEX = "0123456789abcdefABCDEF"


class TargetError(ValueError):
    """The request target cannot be normalised safely; the message names why."""


def _is_hex2(s):
    return len(s) == 2 and s[0] in _HEX and s[1] in _HEX


def _decode(path):
    """Percent-decoding step: unreserved decoded, other escapes upper-cased, refusals raised."""
    out = []
    run = []  # consecutive escaped bytes >= 0x80: must be complete UTF-8
    i, n = 0, len(path)
    while i < n:
        c = path[i]
        if c == "%":
            h = path[i + 1:i + 3]
            if not _is_hex2(h):
                raise TargetError("malformed percent-encoding")
            v = int(h, 16)
            i += 3
            if v >= 0x80:
                run.append(v)
                out.append("%" + h.upper())
                continue
            _utf8(run)
            ch = chr(v)
            if ch in _UNRESERVED:
                out.append(ch)
            elif v == 0x2F:
                raise TargetError("encoded / in the path")
            elif v == 0x5C:
                raise TargetError("encoded \\ in the path")
            elif v == 0x3B:
                raise TargetError("; in the path (path parameters)")
            elif v < 0x20 or v == 0x7F:
                raise TargetError("encoded control character in the path")
            else:
                out.append("%" + h.upper())
            continue
        _utf8(run)
        if c == "\\":
            raise TargetError("\\ in the path")
        if c == ";":
            raise TargetError("; in the path (path parameters)")
        if c == "#":
            raise TargetError("# in the request target")
        if c <= " " or c >= "\x7f":
            raise TargetError("control, space or non-ASCII character in the path")
        out.append(c)
        i += 1
    _utf8(run)
    s = "".join(out)
    # Checked on the decoded text: %25%32%65 decodes to %252e as surely as %252e itself.
    j = s.find("%25")
    while j >= 0:
        if _is_hex2(s[j + 3:j + 5]):
            raise TargetError("double percent-encoding (%25 before two hex digits)")
        j = s.find("%25", j + 3)
    return s


def _utf8(run):
    if run:
        d = Utf8Dfa()
        if not d.feed(bytes(run)) or not d.complete():
            raise TargetError("percent-encoded bytes are not UTF-8")
        del run[:]


def normalise_path(path):
    """The normal form of ``path`` (see the module docstring), or raise ``TargetError``."""
    if not isinstance(path, str) or path[:1] != "/":
        raise TargetError("request target is not an absolute path")
    if len(path) > MAX_PATH:
        raise TargetError("path over %d characters" % MAX_PATH)
    segments = _decode(path).split("/")
    last = len(segments) - 1
    out = []
    trailing = False
    for k in range(1, last + 1):
        seg = segments[k]
        if seg == "" or seg == ".":
            trailing = k == last
        elif seg == "..":
            if not out:
                raise TargetError("path climbs above the root")
            out.pop()
            trailing = k == last
        else:
            out.append(seg)
            trailing = False
    if not out:
        return "/"
    return "/" + "/".join(out) + ("/" if trailing else "")


def check_query(query):
    """Raise ``TargetError`` when the query holds a fragment or a character outside visible ASCII."""
    for c in query:
        if c == "#":
            raise TargetError("# in the request target")
        if c <= " " or c >= "\x7f":
            raise TargetError("control, space or non-ASCII character in the query")


def _form_decode(s, u=False):
    """``+`` as space and ``%XX`` as that byte (a malformed escape stays as written); bytes read as
    UTF-8 where they are, else one character per byte (only comparisons and the token use it).
    ``u``: ``%uXXXX`` is that code point too, as IIS and classic ASP.NET decode it (names only)."""
    if "%" not in s and "+" not in s:
        return s
    out = bytearray()
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "%" and _is_hex2(s[i + 1:i + 3]):
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
            continue
        if u and c == "%" and s[i + 1:i + 2] in ("u", "U") and _is_hex2(s[i + 2:i + 4]) and _is_hex2(s[i + 4:i + 6]):
            v = int(s[i + 2:i + 6], 16)
            if not 0xD800 <= v <= 0xDFFF:  # a lone surrogate has no UTF-8: left as written
                out.extend(chr(v).encode())
                i += 6
                continue
        out.extend(b" " if c == "+" else c.encode())
        i += 1
    try:
        return bytes(out).decode("utf-8")
    except UnicodeError:
        return "".join(chr(b) for b in out)


# The non-ASCII letters whose simple case mapping is an ASCII letter: a case-insensitive comparison
# (ASP.NET's OrdinalIgnoreCase upper-cases both sides) reads "acceſs" as "access".
_FOLD = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}


def _fold(name):
    """ASCII lower case plus ``_FOLD``; raises ``TargetError`` on a C0 or C1 control or DEL."""
    out = []
    for c in name:
        if "A" <= c <= "Z":
            c = chr(ord(c) + 32)
        elif c < " " or "\x7f" <= c <= "\x9f":
            raise TargetError("control character in a query parameter name")
        elif c > "\x7f":
            c = _FOLD.get(c, c)
        out.append(c)
    return "".join(out)


def _php(k):
    """``.`` and space as ``_``, spaces around trimmed (PHP trims leading ones; trailing ones too, to be safe)."""
    return k.strip(" ").replace(".", "_").replace(" ", "_")


def _readings(name):
    """Every name a common query decoder could read ``name`` (as sent) as, in one comparable form.

    Decoded once and twice (a backend may decode again), ``%uXXXX`` included;
    ASCII case folded (ASP.NET), with ``_FOLD``; ``.`` and space as ``_`` (PHP).
    Then: cut at the first ``[`` (PHP, Rack, qs: ``name[...]`` is an array of
    ``name``); every ``[`` as ``_`` (PHP reads an unmatched ``[`` so);
    leading ``[`` and ``]`` skipped and cut at the next bracket (Rack 2,
    ``[name]`` to qs). NUL ends a name to PHP (parse_str is C-string based):
    a control character in a name is refused (``TargetError``), never read.
    """
    d1 = _form_decode(name, True)
    decoded = (d1,) if d1 == name else (d1, _form_decode(d1, True))
    out = []
    for d in decoded:
        k = _fold(d).strip(" ")
        j = k.find("[")
        out.append(_php(k if j < 0 else k[:j]))
        if j >= 0 or "]" in k:
            out.append(_php(k.replace("[", "_")))
            r = k.lstrip("[]")
            for b in "[]":
                j = r.find(b)
                if j >= 0:
                    r = r[:j]
            out.append(_php(r))
    return out


def _is_name(name, want):
    """True when some reading of the parameter name ``name`` is one of ``want`` (readings of the configured name)."""
    for k in _readings(name):
        if k in want:
            return True
    return False


def pop_param(query, name):
    """(value of parameter ``name``, or None; the query without it) in every spelling of the name.

    The value is form-decoded. Raises ``TargetError`` when two parts spell the
    name, or one hides behind a ``;`` (a separator to older decoders): which
    value a backend would read is then not certain; and when any parameter
    name holds a control character (see ``_readings``).
    """
    if not query:
        return None, query
    want = _readings(name)
    value = None
    found = False
    kept = []
    for part in query.split("&"):
        if _is_name(part.partition("=")[0], want):
            if found:
                raise TargetError("token parameter repeated in the query")
            found = True
            value = _form_decode(part.partition("=")[2])
            continue
        if ";" in part:
            for piece in part.split(";")[1:]:
                if _is_name(piece.partition("=")[0], want):
                    raise TargetError("token parameter behind ; in the query")
        kept.append(part)
    return value, "&".join(kept)
