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
any case, ``+`` for space, ASCII case, ``.`` or space for ``_``, ``name[...]``,
decoded twice) and refuses a query that spells it twice or behind a ``;``
(a separator to older decoders): the one value verified is then the only one
the backend could have read, and the backend reads none.

The output is a fixed point: normalising it again changes nothing. Limits:
routes compare paths case-sensitively, as RFC 3986 does; a backend that folds
case, or (Windows) strips trailing dots and spaces from segments, can read
``/ADMIN`` or ``/admin.`` as ``/admin``: route such a backend as a whole.
Route paths in the configuration must themselves be in this normal form to
match.
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


def _form_decode(s):
    """``+`` as space and ``%XX`` as that byte (a malformed escape stays as written); bytes read as
    UTF-8 where they are, else one character per byte (only comparisons and the token use it)."""
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
        out.extend(b" " if c == "+" else c.encode())
        i += 1
    try:
        return bytes(out).decode("utf-8")
    except UnicodeError:
        return "".join(chr(b) for b in out)


def _canonical(name):
    """A parameter name as the loosest common decoder reads it: decoded (twice: a backend may decode
    again), ASCII lower case, trimmed, cut at ``[`` (PHP arrays), ``.`` and space as ``_`` (PHP)."""
    k = _form_decode(_form_decode(name)).lower().strip()
    j = k.find("[")
    if j >= 0:
        k = k[:j].strip()
    return k.replace(".", "_").replace(" ", "_")


def pop_param(query, name):
    """(value of parameter ``name``, or None; the query without it) in every spelling of the name.

    The value is form-decoded. Raises ``TargetError`` when two parts spell the
    name, or one hides behind a ``;`` (a separator to older decoders): which
    value a backend would read is then not certain.
    """
    if not query:
        return None, query
    want = _canonical(name)
    value = None
    found = False
    kept = []
    for part in query.split("&"):
        if _canonical(part.partition("=")[0]) == want:
            if found:
                raise TargetError("token parameter repeated in the query")
            found = True
            value = _form_decode(part.partition("=")[2])
            continue
        if ";" in part:
            for piece in part.split(";")[1:]:
                if _canonical(piece.partition("=")[0]) == want:
                    raise TargetError("token parameter behind ; in the query")
        kept.append(part)
    return value, "&".join(kept)
