"""Through the running gateway: a token whose sub cannot name a principal gets 401; the backend header stays clean.

Attack re-run: a trusted token with ``sub`` holding CR/LF made the session
die with 500 and a ``session_error``; with NUL or another control character
the backend was sent it in ``X-Edgegate-Principal``; ``sub: {}`` became
``jwt:?``. Now each gets 401 with its reason in the audit record, and
``open_backend`` itself refuses (500, before dialling) a principal it could
not write as a header value, whatever its source.
"""

import pytest

from edgegate.gateway.backend import header_value_ok, open_backend
from edgegate.ws.errors import HandshakeError

from .raw import upgrade
from .util import claims, forge

BAD = [("a\r\nX-Injected: 1", "sub holds a control or non-printable character"),
       ("a\x00b", "sub holds a control or non-printable character"),
       ("a\x01b", "sub holds a control or non-printable character"),
       ({"x": 1}, "sub is not a string"), (None, "sub missing"), ("x" * 257, "sub over 256 characters")]


def token(keys, sub):
    c = claims("placeholder")
    if sub is None:
        del c["sub"]
    else:
        c["sub"] = sub
    return forge({"alg": "HS256", "kid": "hs256"}, c, keys.secret["HS256"])


def principal_seen(seen):
    return dict((k.lower(), v) for k, v in seen["headers"]).get("x-edgegate-principal")


@pytest.mark.parametrize("sub,why", BAD, ids=[repr(b[0])[:20] for b in BAD])
def test_a_sub_that_cannot_name_a_principal_gets_401(gw, keys, sub, why):
    assert upgrade(gw.port, "/q?access_token=" + token(keys, sub)) == (401, None)
    assert upgrade(gw.port, "/jwt", (("Authorization", "Bearer " + token(keys, sub)),)) == (401, None)
    refusals = [r for r in gw.records() if r.get("event") == "audit" and r.get("kind") == "auth"]
    assert refusals[-1]["reason"] == "authentication failed: " + why


def test_a_printable_sub_is_sent_as_is(gw, keys):
    for sub in ("?", "alice@x.test", "a|b:c=d,e f"):
        status, seen = upgrade(gw.port, "/q?access_token=" + token(keys, sub))
        assert (status, principal_seen(seen)) == (101, "jwt:" + sub)
    errors = [r for r in gw.records() if r.get("event") == "session_error"]
    assert errors == []


class _Accept:
    def __init__(self, principal):
        self.principal = principal
        self.path = "/x"
        self.query = ""
        self.forward_protocols = []


@pytest.mark.parametrize("principal", ["jwt:a\r\nX-Injected: 1", "jwt:a\nb", "jwt:a\x00b", "cert:\x7f", "key:\x85",
                                       "jwt:\ud800"])
def test_open_backend_refuses_a_principal_it_cannot_write_before_dialling(principal):
    # The route is never looked at: the refusal comes before any connection.
    coro = open_backend(None, None, None, "10.0.0.1", None, accept=_Accept(principal))
    with pytest.raises(HandshakeError) as e:
        coro.send(None)
    assert (e.value.status, str(e.value)) == (500, "principal cannot be sent in a header")


def test_header_value_ok():
    assert header_value_ok("jwt:alice") and header_value_ok("cert:CN=caf\u00e9, O=x") and header_value_ok("")
    for v in ("a\r", "a\n", "\x00", "\t", "\x7f", "\x9f", "\udfff", None, b"x"):
        assert not header_value_ok(v), v
