"""A session whose token expires is closed with 1008 at exp (grace_s 0, leeway_s 0), and the audit says why.

The gateway's reaper ticks every 200 ms; the close must come no earlier than
exp and within 1 s after it, measured on the wall clock the token's exp is in.
"""

import json
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .util import node_attempts

LATE_S = 1.0


def _expiring(keys, sub, ttl=2):
    now = int(time.time())
    exp = now + ttl
    return keys.mint("es-pem", sub=sub, iat=now, nbf=now - 1, exp=exp), exp


def _audit(gw, principal, deadline_s=3.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        recs = [r for r in gw.records() if r.get("event") == "audit" and r.get("what") == "closed"
                and r.get("principal") == principal]
        if recs:
            return recs
        time.sleep(0.05)
    raise AssertionError("no audit record for %s" % principal)


def test_websockets_client_is_closed_1008_at_expiry(gw, keys):
    tok, exp = _expiring(keys, "expiring-ws")
    with connect(gw.url + "/jwt", additional_headers={"Authorization": "Bearer " + tok}, proxy=None,
                 compression=None, ping_interval=None) as ws:
        ws.send("before")
        assert ws.recv(timeout=5) == "before"
        try:
            while True:
                ws.recv(timeout=exp - time.time() + 5)
        except ConnectionClosed as e:
            closed_at = time.time()
            code, reason = e.rcvd.code, e.rcvd.reason
    late = closed_at - exp
    print("websockets: closed %.3f s after exp" % late)
    assert (code, reason) == (1008, "token expired")
    assert -0.05 <= late <= LATE_S, "closed %.3f s after exp" % late
    recs = _audit(gw, "jwt:expiring-ws")
    assert [(r["what"], r["reason"]) for r in recs] == [("closed", "credential expired")]
    assert gw.output().count(tok.split(".")[2]) == 0


def test_node_client_is_closed_1008_at_expiry(gw, keys):
    tok, exp = _expiring(keys, "expiring-node")
    r = node_attempts([{"url": gw.url + "/jwt", "protocols": ["chat.v1", "bearer." + tok], "hold": True}])[0]
    assert (r["status"], r["protocol"], r["close"], r["reason"]) == (101, "chat.v1", 1008, "token expired"), r
    late = r["closed_at_ms"] / 1000 - exp
    print("node ws: closed %.3f s after exp" % late)
    assert -0.05 <= late <= LATE_S, "closed %.3f s after exp" % late
    assert _audit(gw, "jwt:expiring-node")[0]["reason"] == "credential expired"


def test_the_backend_hears_the_close_too_and_a_valid_token_stays(gw, keys, backend):
    tok, exp = _expiring(keys, "expiring-backend", ttl=1)
    with connect(gw.url + "/jwt", additional_headers={"Authorization": "Bearer " + tok}, proxy=None,
                 compression=None, ping_interval=None) as ws:
        ws.send("?request")
        info = json.loads(ws.recv(timeout=5))
        assert ("X-Edgegate-Principal", "jwt:expiring-backend") in [tuple(h) for h in info["headers"]]
        try:
            while True:
                ws.recv(timeout=exp - time.time() + 5)
        except ConnectionClosed as e:
            assert e.rcvd.code == 1008
    end = time.monotonic() + 3
    while not [r for r in backend.records() if r.get("event") == "backend_closed"
               and r.get("principal") == "jwt:expiring-backend"]:
        assert time.monotonic() < end, "the backend never saw its session end"
        time.sleep(0.05)
    rec = [r for r in backend.records() if r.get("event") == "backend_closed"
           and r.get("principal") == "jwt:expiring-backend"][0]
    assert (rec["code"], rec["reason"]) == (1008, "token expired")
    # a token with time left is not touched meanwhile
    long_tok = keys.mint("es-pem", sub="long-lived", ttl=3600)
    with connect(gw.url + "/jwt", additional_headers={"Authorization": "Bearer " + long_tok}, proxy=None,
                 compression=None) as ws:
        time.sleep(0.5)
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"


def _renew_route(gw, tok):
    return connect(gw.url + "/renew", additional_headers={"Authorization": "Bearer " + tok}, proxy=None,
                   compression=None, ping_interval=None)


def test_an_in_band_refresh_extends_the_session_past_the_first_exp(gw, keys, backend):
    tok, exp = _expiring(keys, "renewer", ttl=2)
    fresh, _ = _expiring(keys, "renewer", ttl=60)
    with _renew_route(gw, tok) as ws:
        ws.send("before")
        assert ws.recv(timeout=5) == "before"
        ws.send(json.dumps({"type": "refresh", "token": fresh}))  # consumed: no echo
        ws.send("after")
        assert ws.recv(timeout=5) == "after"
        time.sleep(max(0.0, exp - time.time()) + LATE_S + 0.3)
        ws.send("past the first exp")
        assert ws.recv(timeout=5) == "past the first exp"
    recs = [r for r in gw.records() if r.get("event") == "audit" and r.get("principal") == "jwt:renewer"]
    assert [r["what"] for r in recs] == ["refreshed"]
    assert fresh.split(".")[2] not in gw.output()


def test_a_refresh_with_another_principals_token_closes_1008(gw, keys):
    tok, _ = _expiring(keys, "renewer-2", ttl=60)
    other, _ = _expiring(keys, "somebody-else", ttl=60)
    with _renew_route(gw, tok) as ws:
        ws.send("first")
        assert ws.recv(timeout=5) == "first"
        ws.send(json.dumps({"type": "refresh", "token": other}))
        try:
            ws.recv(timeout=5)
            raise AssertionError("still open")
        except ConnectionClosed as e:
            assert (e.rcvd.code, e.rcvd.reason) == (1008, "token refresh refused")
    recs = _audit(gw, "jwt:renewer-2")
    assert recs[0]["reason"] == "token refresh refused: refresh token for another principal"


def test_a_refresh_is_taken_on_a_binary_only_route_and_pays_only_the_rate(gw, keys):
    """The route's type (binary) and size (64 B) rules are for its messages, not for the refresh."""
    tok, _ = _expiring(keys, "renewer-3", ttl=60)
    fresh, _ = _expiring(keys, "renewer-3", ttl=120)
    with connect(gw.url + "/renew-bin", additional_headers={"Authorization": "Bearer " + tok}, proxy=None,
                 compression=None, ping_interval=None) as ws:
        ws.send(json.dumps({"type": "refresh", "token": fresh}))  # text, and far over 64 bytes
        ws.send(b"\x01\x02")
        assert ws.recv(timeout=5) == b"\x01\x02"
        ws.send("a text message")
        try:
            ws.recv(timeout=5)
            raise AssertionError("still open")
        except ConnectionClosed as e:
            assert e.rcvd.code == 1003
    recs = [r for r in gw.records() if r.get("event") == "audit" and r.get("principal") == "jwt:renewer-3"]
    assert [r["what"] for r in recs][:1] == ["refreshed"]
