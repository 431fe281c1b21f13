"""Through the running gateway: the request target is normalised before routing and forwarded normalised.

Issue 10, item 1: an open ``/chat`` prefix route and an ``/admin`` route that
needs an API key, both in front of a Node ``ws`` backend that routes on
``new URL(req.url, base).pathname`` (tests/admission/node_backend.mjs), the
way the ``ws`` README shows. Every spelling of ``/chat/../admin`` a client can
write is sent byte for byte (tests/admission/raw.py): it gets 400, or it is
routed to ``/admin`` and needs its key; the backend never serves its admin
area to a session without the key, and it is sent the normalised target. On
the same gateway, item 9: an Origin that is not a serialised origin gets 400
on a route that allows any origin; item 6: the token query parameter reaches
the backend (decoding the query with URLSearchParams) in no spelling.
"""

import pytest

from tests import procs

from .raw import upgrade
from .util import LIFTED, ensure_node_modules, node_available

pytestmark = pytest.mark.skipif(not node_available(), reason="node is not installed")

ROUTED_TO_ADMIN = ["/chat/../admin", "/chat/./../admin", "/chat/%2e%2e/admin", "/chat/.%2E/admin",
                   "/chat/%2E%2E/admin", "/chat/x/../../admin", "/chat//../admin", "/chat/.//../admin",
                   "//admin", "/./admin", "/%61dmin", "/chat/../%61%64%6D%69%6E", "/chat/x/%2e%2e/%2e%2e/admin"]
REFUSED = ["/chat/..\\admin", "/chat\\..\\admin", "/chat/..%5cadmin", "/chat/%2e%2e%2fadmin", "/chat/..%2Fadmin",
           "/chat/..;/admin", "/chat/.%2e;/admin", "/chat;x/../admin", "/admin;x", "/chat/%252e%252e/admin",
           "/chat/%c0%ae%c0%ae/admin", "/chat/%00/../admin", "/chat/../../admin", "/chat/%2e%2e/%2e%2e/admin",
           "/chat#/../admin", "/chat/..%3b/admin", "http://127.0.0.1/admin", "http://127.0.0.1/chat/../admin", "*"]


@pytest.fixture(scope="module")
def node_backend():
    ensure_node_modules()
    port = procs.free_port()
    p = procs.Proc(["node", "tests/admission/node_backend.mjs", str(port)], port)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def gw_target(keys, node_backend):
    url = "ws://127.0.0.1:%d/" % node_backend.port
    routes = [
        {"path": "/chat", "backend": {"url": url}},
        {"path": "/admin", "backend": {"url": url}, "auth": {"methods": ["api_key"]}},
        {"path": "/star", "backend": {"url": url}, "origins": ["*"]},
        {"path": "/q", "backend": {"url": url}, "auth": {"methods": ["jwt"], "query_param": "access_token"}},
    ]
    g = procs.gateway(node_backend.port, routes=routes, admission=LIFTED, extra={"auth": keys.auth()})
    yield g
    g.stop()


def key(keys):
    return (("X-Api-Key", keys.api_key),)


@pytest.mark.parametrize("target", ROUTED_TO_ADMIN)
def test_a_dot_segment_path_is_routed_to_admin_after_normalisation_and_needs_its_key(gw_target, keys, target):
    assert upgrade(gw_target.port, target) == (401, None)
    status, seen = upgrade(gw_target.port, target, key(keys))
    assert status == 101
    assert (seen["serves"], seen["principal"]) == ("admin", "key:meter-1")
    assert seen["url"] == seen["pathname"], "the backend was sent a target it had to normalise: %r" % seen["url"]


@pytest.mark.parametrize("target", REFUSED)
def test_a_target_that_cannot_be_normalised_safely_gets_400(gw_target, keys, target):
    assert upgrade(gw_target.port, target) == (400, None)
    assert upgrade(gw_target.port, target, key(keys)) == (400, None)


def test_an_open_route_is_forwarded_its_normalised_target(gw_target):
    for target, want in (("/chat", "/chat"), ("/chat/room/./x/../y", "/chat/room/y"), ("/%63hat//room", "/chat/room"),
                         ("/chat/caf%c3%a9?x=%2e%2e", "/chat/caf%C3%A9?x=%2e%2e"), ("/chat/", "/chat/")):
        status, seen = upgrade(gw_target.port, target)
        assert (status, seen["url"], seen["serves"], seen["principal"]) == (101, want, "other", None), target


def test_the_backend_never_served_admin_without_the_key(gw_target, node_backend, keys):
    for target in ROUTED_TO_ADMIN + REFUSED:
        upgrade(gw_target.port, target)
    admin = [r for r in node_backend.records() if r.get("event") == "backend_request" and r["serves"] == "admin"]
    assert admin and all(r["principal"] == "key:meter-1" for r in admin)
    refusals = [r for r in gw_target.records() if r.get("event") == "audit" and r.get("kind") == "target"]
    assert refusals and all(r["status"] == 400 and r["reason"].startswith("request target: ") for r in refusals)


BAD_ORIGINS = ["https://app.test\x00", "https://app.test\x00.evil.test", "https://\u00e4pp.test",
               "https://app.test\x01",
               "https://app.test/", "https://user@app.test", "https://app.test:99999", "javascript:alert(1)"]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_an_origin_that_is_not_a_serialised_origin_gets_400_on_a_route_allowing_any(gw_target, origin):
    assert upgrade(gw_target.port, "/star", (("Origin", origin),)) == (400, None)


def test_a_serialised_origin_is_forwarded_on_a_route_allowing_any(gw_target):
    for origin in ("https://app.test", "http://[::1]:8080", "null"):
        status, seen = upgrade(gw_target.port, "/star", (("Origin", origin),))
        assert (status, seen["origin"]) == (101, origin)


# Issue 10, item 6: the token parameter in every spelling a standard decoder (Node's URLSearchParams here)
# reads as access_token is stripped; two spellings are refused.
TOKEN_SPELLINGS = ["access_token", "%61ccess_token", "access%5Ftoken", "access%5ftoken", "ACCESS_TOKEN",
                   "access%2Etoken", "access.token", "access_token[]", "%2561ccess_token"]


def assert_token_unseen(seen, *tokens):
    text = repr(seen)
    for t in tokens:
        for part in t.split("."):
            assert len(part) < 16 or part not in text, seen


@pytest.mark.parametrize("name", TOKEN_SPELLINGS)
def test_a_token_parameter_reaches_the_backend_in_no_spelling(gw_target, keys, name):
    tok = keys.mint("hs256", sub="q-" + name[:6])
    status, seen = upgrade(gw_target.port, "/q?a=1&%s=%s&b=2" % (name, tok))
    assert (status, seen["principal"], seen["params"]) == (101, "jwt:q-" + name[:6], [["a", "1"], ["b", "2"]])
    assert seen["url"] == "/q?a=1&b=2"
    assert_token_unseen(seen, tok)


@pytest.mark.parametrize("name", TOKEN_SPELLINGS)
def test_a_stray_token_spelling_is_stripped_when_the_header_authenticates(gw_target, keys, name):
    tok, stray = keys.mint("hs256", sub="hdr"), keys.mint("hs384", sub="stray")
    status, seen = upgrade(gw_target.port, "/q?%s=%s&x=1" % (name, stray), (("Authorization", "Bearer " + tok),))
    assert (status, seen["principal"], seen["params"]) == (101, "jwt:hdr", [["x", "1"]])
    assert_token_unseen(seen, tok, stray)


def test_two_spellings_of_the_token_parameter_get_400(gw_target, keys):
    tok, other = keys.mint("hs256", sub="one"), keys.mint("hs256", sub="two")
    for q in ("access_token=%s&%%61ccess_token=%s" % (tok, other), "access_token=%s&access_token=%s" % (tok, other),
              "x=1;access_token=%s&access_token=%s" % (other, tok)):
        assert upgrade(gw_target.port, "/q?" + q) == (400, None), q
        assert upgrade(gw_target.port, "/q?" + q, (("Authorization", "Bearer " + tok),)) == (400, None), q
