"""Forged and unusable tokens are refused with 401 by both clients, and never reach a log line.

Wrong key, alg none, alg confusion (an HS256 token for an RS256 kid whose HMAC
secret is the RSA public key PEM), an alg other than the kid's, unknown kid,
expired, not yet valid, wrong audience or issuer, malformed.
"""

import time

import jwt as pyjwt
import pytest

from .util import claims, forge, node_attempts, ws_attempt

WWW = {"www-authenticate": 'Bearer realm="edgegate"'}


def forged(keys):
    """(name, token, the reason the gateway's audit gives)."""
    now = int(time.time())
    pem = keys.rsa_pem
    return [
        ("wrong key", keys.mint("hs256", key=b"x" * 64), "bad signature"),
        ("alg none", pyjwt.encode(claims(), None, algorithm="none", headers={"kid": "hs256"}), "alg none or missing"),
        ("alg none, no kid", pyjwt.encode(claims(), None, algorithm="none"), "alg none or missing"),
        ("alg none with a real signature", forge({"alg": "none", "kid": "hs256"}, claims(),
                                                 hmac_key=keys.secret["HS256"]), "alg none or missing"),
        ("alg confusion: HS256 for the RS256 kid, HMAC key = its public PEM",
         forge({"alg": "HS256", "kid": "rs-pem", "typ": "JWT"}, claims(), hmac_key=pem),
         "alg HS256 does not match the key's pinned RS256"),
        ("alg confusion without kid", forge({"alg": "HS256", "typ": "JWT"}, claims(), hmac_key=pem),
         "no kid and 2 keys for alg HS256"),
        ("alg confusion against a JWKS kid", forge({"alg": "HS256", "kid": "rs-jwks"}, claims(), hmac_key=pem),
         "alg HS256 does not match the key's pinned RS256"),
        ("HS512 for the HS256 kid", keys.mint("hs256", alg="HS512"),
         "alg HS512 does not match the key's pinned HS256"),
        ("RS256 for the ES256 kid", keys.mint("es-pem", alg="RS256", key=keys.rsa),
         "alg RS256 does not match the key's pinned ES256"),
        ("unknown kid", keys.mint("hs256", header={"kid": "nobody"}), "unknown kid"),
        ("expired", keys.mint("es-pem", exp=now - 10, iat=now - 100, nbf=now - 100), "expired"),
        ("not yet valid", keys.mint("rs-pem", nbf=now + 60), "not yet valid"),
        ("wrong audience", keys.mint("hs384", aud="other"), "wrong audience"),
        ("audience list without ours", keys.mint("hs384", aud=["a", "b"]), "wrong audience"),
        ("wrong issuer", keys.mint("es-jwks", iss="https://evil.test"), "wrong issuer"),
        ("crit header", keys.mint("hs256", header={"kid": "hs256", "crit": ["exp"]}), "crit header not supported"),
        ("truncated", keys.mint("rs-jwks")[:-20], "bad signature"),
        ("two parts", ".".join(keys.mint("hs256").split(".")[:2]), "not a compact JWS"),
        ("garbage", "x" * 300, "not a compact JWS"),
    ]


def test_forged_tokens_are_refused_401_by_the_websockets_client(gw, keys):
    cases = forged(keys)
    for name, tok, _ in cases:
        r = ws_attempt(gw.url + "/jwt", headers={"Authorization": "Bearer " + tok})
        assert r == {"status": 401, "headers": WWW}, name
    # each was audited with its fixed reason, and no token is anywhere in the log
    reasons = [r["reason"] for r in gw.records() if r.get("event") == "audit" and r.get("status") == 401]
    for name, _, why in cases:
        assert "authentication failed: " + why in reasons, name
    out = gw.output()
    for name, tok, _ in cases:
        for part in tok.split("."):
            assert len(part) < 20 or part not in out, name


def test_forged_tokens_are_refused_401_by_node_ws(gw, keys):
    cases = forged(keys)
    attempts = [{"url": gw.url + "/jwt", "headers": {"Authorization": "Bearer " + tok}} for _, tok, _ in cases]
    # and the same tokens in the sub-protocol carrier
    attempts += [{"url": gw.url + "/jwt", "protocols": ["chat.v1", "bearer." + tok]} for _, tok, _ in cases]
    got = node_attempts(attempts)
    assert len(got) == 2 * len(cases)
    for a, r in zip(attempts, got):
        assert (r.get("status"), r.get("headers", {}).get("www-authenticate")) == (401, WWW["www-authenticate"]), (a, r)


@pytest.mark.parametrize("where", ["authorization", "carrier", "query"])
def test_an_expired_token_is_refused_wherever_it_is_carried(gw, keys, where):
    now = int(time.time())
    tok = keys.mint("hs256", exp=now - 1, iat=now - 60, nbf=now - 60)
    if where == "authorization":
        r = ws_attempt(gw.url + "/q", headers={"Authorization": "Bearer " + tok})
    elif where == "carrier":
        r = ws_attempt(gw.url + "/q", protocols=["bearer." + tok])
    else:
        r = ws_attempt(gw.url + "/q?access_token=" + tok)
    assert r["status"] == 401
