"""Property tests of request-target normalisation (CPython only: pytest + hypothesis).

For any path: ``normalise_path`` returns a normal form or raises
``TargetError``, never anything else; the normal form is a fixed point, has no
dot segment, no empty segment but a trailing one, nothing a backend reads as
structure (``\\``, ``;``, ``#``, ``%2F``); and, decoded in full, it is what a
backend that decodes everything, reads ``\\`` as ``/``, merges slashes and
resolves dot segments makes of the raw path it would otherwise have been
sent. Paths are drawn from the pieces attacks are made of.
"""

import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgegate.policy.target import TargetError, normalise_path

SETTINGS = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = ["/", "//", ".", "..", "%2e", "%2E", ".%2e", "%2f", "%2F", "%5c", "\\", ";", "%3b", "a", "B", "admin",
          "chat", "%25", "%32", "%65", "%c0", "%ae", "%c0%ae", "%41", "%61", "#", "%3f", "%00", "%0a", "%c3%a9",
          "%e2%82%ac", "~", "%7e", "%7E", "-", "_", "%", "%g1", " ", "\x00", "\u00e9", "x:y", "@", "%20"]
paths = st.lists(st.sampled_from(PIECES), max_size=12).map(lambda p: "/" + "".join(p))


def backend_view(raw):
    """A lax backend: \\ is /, every escape decoded, slashes merged, dot segments resolved (clamped at /)."""
    segs = urllib.parse.unquote(raw.replace("\\", "/"), errors="surrogateescape").split("/")
    out = []
    for i, s in enumerate(segs[1:]):
        last = i == len(segs) - 2
        if s in ("", "."):
            if last:
                out.append("")
        elif s == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(s)
    # drop empty segments that are not the trailing one
    out = [s for j, s in enumerate(out) if s or j == len(out) - 1]
    return "/" + "/".join(out)


@SETTINGS
@given(paths)
def test_a_normalised_path_is_what_a_resolving_backend_reads_from_the_raw_one(raw):
    try:
        out = normalise_path(raw)
    except TargetError:
        return
    assert urllib.parse.unquote(out, errors="surrogateescape") == backend_view(raw), (raw, out)
    assert backend_view(out) == backend_view(raw)


@SETTINGS
@given(paths)
def test_a_normalised_path_is_a_fixed_point_without_structure_a_backend_could_reread(raw):
    try:
        out = normalise_path(raw)
    except TargetError:
        return
    assert normalise_path(out) == out
    assert out[:1] == "/"
    segs = out.split("/")[1:]
    assert all(s not in (".", "..") for s in segs)
    assert all(s for s in segs[:-1])
    for bad in ("\\", ";", "#", "%2F", "%2f", "%5C", "%5c", "%3B", "%00", "%2E", "%2e"):
        assert bad not in out, (raw, out)
    assert all("!" <= c <= "~" for c in out)


@SETTINGS
@given(st.text(max_size=64))
def test_any_text_gets_a_normal_form_or_a_target_error(raw):
    try:
        out = normalise_path(raw)
    except TargetError:
        return
    assert normalise_path(out) == out
