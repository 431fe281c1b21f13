"""Where a credential travels, and that it stops at the gateway.

A JWT in ``Authorization: Bearer``, in a ``bearer.<token>`` Sec-WebSocket-Protocol
entry (the client still gets the real sub-protocol) or, on a route that names
one, a query parameter; API keys in ``X-Api-Key``. The backend (websockets
library) reports what it was asked: it gets ``X-Edgegate-Principal`` and never
the token, the key, the carrier entry or the query parameter.
"""

import json

from .util import node_attempts, ws_attempt


def seen(r):
    """What the backend was asked, from its answer to "?request"."""
    assert r["status"] == 101, r
    info = json.loads(r["echo"])
    info["h"] = {}
    for k, v in info["headers"]:
        info["h"].setdefault(k.lower(), []).append(v)
    return info


def assert_no_secret(info, *secrets):
    text = json.dumps(info)
    for s in secrets:
        assert s not in text
        for part in s.split("."):
            assert len(part) < 16 or part not in text


def test_bearer_header(gw, keys):
    tok = keys.mint("es-pem", sub="hdr")
    info = seen(ws_attempt(gw.url + "/jwt?room=7", headers={"Authorization": "Bearer " + tok}, send="?request"))
    assert info["path"] == "/jwt?room=7"
    assert info["h"]["x-edgegate-principal"] == ["jwt:hdr"]
    assert "authorization" not in info["h"]
    assert_no_secret(info, tok)


def test_carrier_sub_protocol_websockets(gw, keys):
    tok = keys.mint("rs-pem", sub="carrier")
    r = ws_attempt(gw.url + "/jwt", protocols=["bearer." + tok, "chat.v2"], send="?request")
    assert r["protocol"] == "chat.v2"
    info = seen(r)
    assert (info["offered"], info["chosen"]) == (["chat.v2"], "chat.v2")
    assert info["h"]["x-edgegate-principal"] == ["jwt:carrier"]
    assert_no_secret(info, tok)


def test_carrier_sub_protocol_node(gw, keys):
    tok = keys.mint("hs512", sub="carrier-node")
    r = node_attempts([{"url": gw.url + "/jwt", "protocols": ["chat.v1", "bearer." + tok, "chat.v2"],
                        "send": "?request"}])[0]
    assert r["protocol"] == "chat.v1", r
    info = seen(r)
    assert (info["offered"], info["chosen"]) == (["chat.v1", "chat.v2"], "chat.v1")
    assert info["h"]["x-edgegate-principal"] == ["jwt:carrier-node"]
    assert_no_secret(info, tok)


def test_carrier_alone_gives_no_sub_protocol(gw, keys):
    # Only the carrier offered: the backend is offered nothing and the client gets none
    # (a client that insists on a selected sub-protocol, as browsers and ws do, must also offer a real one).
    tok = keys.mint("hs256", sub="alone")
    r = ws_attempt(gw.url + "/jwt", protocols=["bearer." + tok], send="?request")
    assert r["protocol"] is None
    info = seen(r)
    assert (info["offered"], info["chosen"]) == ([], None)
    assert "sec-websocket-protocol" not in info["h"]


def test_query_param_on_the_route_that_names_it(gw, keys):
    tok = keys.mint("es-jwks", sub="query")
    for client in ("websockets", "node"):
        url = gw.url + "/q?a=1&access_token=" + tok + "&b=2"
        if client == "websockets":
            r = ws_attempt(url, send="?request")
        else:
            r = node_attempts([{"url": url, "send": "?request"}])[0]
        info = seen(r)
        assert info["path"] == "/q?a=1&b=2", client
        assert info["h"]["x-edgegate-principal"] == ["jwt:query"]
        assert_no_secret(info, tok)


def test_query_param_stripped_even_when_the_header_authenticates(gw, keys):
    tok, other = keys.mint("hs256", sub="both"), keys.mint("hs384", sub="other")
    r = ws_attempt(gw.url + "/q?access_token=" + other + "&x=1", headers={"Authorization": "Bearer " + tok},
                   send="?request")
    info = seen(r)
    assert (info["path"], info["h"]["x-edgegate-principal"]) == ("/q?x=1", ["jwt:both"])
    assert_no_secret(info, tok, other)


def test_query_param_refused_where_the_route_names_none(gw, keys):
    tok = keys.mint("hs256")
    for path, origin in (("/jwt", None), ("/app", "https://app.test")):
        r = ws_attempt(gw.url + path + "?access_token=" + tok, origin=origin, protocols=["chat.v1"])
        assert r["status"] == 401, path
    r = node_attempts([{"url": gw.url + "/jwt?access_token=" + tok}])[0]
    assert r["status"] == 401


def test_api_keys(gw, keys):
    for key, principal in ((keys.api_key, "key:meter-1"), (keys.api_key2, "key:meter-2")):
        info = seen(ws_attempt(gw.url + "/key", headers={"X-Api-Key": key}, send="?request"))
        assert info["h"]["x-edgegate-principal"] == [principal]
        assert "x-api-key" not in info["h"]
        assert_no_secret(info, key)
    for bad in ({"X-Api-Key": keys.api_key[:-1]}, {"X-Api-Key": keys.api_key + "x"}, {},
                {"Authorization": "Bearer " + keys.api_key}):
        assert ws_attempt(gw.url + "/key", headers=bad)["status"] == 401, bad


def test_api_keys_node(gw, keys):
    got = node_attempts([
        {"url": gw.url + "/key", "headers": {"X-Api-Key": keys.api_key}, "send": "?request"},
        {"url": gw.url + "/key", "headers": {"X-Api-Key": "ak_wrong"}},
        {"url": gw.url + "/key"},
    ])
    assert seen(got[0])["h"]["x-edgegate-principal"] == ["key:meter-1"]
    assert [r["status"] for r in got[1:]] == [401, 401]
    assert got[1]["headers"]["www-authenticate"] == 'Bearer realm="edgegate"'


def test_a_client_cannot_claim_a_principal(gw, keys):
    spoof = {"X-Edgegate-Principal": "jwt:admin"}
    info = seen(ws_attempt(gw.url + "/open", headers=spoof, send="?request"))
    assert "x-edgegate-principal" not in info["h"]
    info = seen(ws_attempt(gw.url + "/key", headers=dict(spoof, **{"X-Api-Key": keys.api_key}), send="?request"))
    assert info["h"]["x-edgegate-principal"] == ["key:meter-1"]


def test_open_route_needs_no_credential(gw):
    r = ws_attempt(gw.url + "/open", send="plain")
    assert (r["status"], r["echo"]) == (101, "plain")
    r = node_attempts([{"url": gw.url + "/open"}])[0]
    assert (r["status"], r["echo"], r["close"]) == (101, "hello", 1000)
