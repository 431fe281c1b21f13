"""Every JWT algorithm against the running gateway, keys from secret files, PEM files and a JWKS.

Tokens are minted by PyJWT (cryptography) at test time; the clients are the
``websockets`` library and Node's ``ws``. ES256 tokens carry PyJWT's raw r||s
signature (RFC 7518 3.4), which the gateway must accept.
"""

import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .util import KeyFiles, b64url, claims, node_attempts, summary, ws_attempt

KIDS = list(KeyFiles.ALGS)  # hs256 hs384 hs512 rs-pem es-pem rs-jwks es-jwks oct-jwks


def other_key(keys, kid):
    """A key of the same kind as ``kid``'s that the gateway does not know."""
    alg = keys.ALGS[kid]
    if alg.startswith("HS"):
        return b"not-the-secret-" * 5
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("kid", KIDS)
def test_each_algorithm_and_key_source_is_accepted(gw, keys, kid):
    sub = "user-" + kid
    r = ws_attempt(gw.url + "/jwt", headers={"Authorization": "Bearer " + keys.mint(kid, sub=sub)}, send="?request")
    assert r["status"] == 101, r
    seen = json.loads(r["echo"])
    assert dict((k.lower(), v) for k, v in seen["headers"])["x-edgegate-principal"] == "jwt:" + sub


@pytest.mark.parametrize("kid", KIDS)
def test_each_algorithm_refuses_a_token_signed_by_another_key(gw, keys, kid):
    tok = keys.mint(kid, key=other_key(keys, kid))
    r = ws_attempt(gw.url + "/jwt", headers={"Authorization": "Bearer " + tok})
    assert r == {"status": 401, "headers": {"www-authenticate": 'Bearer realm="edgegate"'}}


def test_node_ws_client_agrees_on_every_algorithm(gw, keys):
    attempts, want = [], []
    for kid in KIDS:
        attempts.append({"url": gw.url + "/jwt", "headers": {"Authorization": "Bearer " + keys.mint(kid)},
                         "protocols": ["chat.v2"]})
        want.append((101, "chat.v2", "hello"))
        attempts.append({"url": gw.url + "/jwt",
                         "headers": {"Authorization": "Bearer " + keys.mint(kid, key=other_key(keys, kid))}})
        want.append((401, None))
    got = node_attempts(attempts)
    assert [summary(r) for r in got] == want, got
    assert all(r["headers"]["www-authenticate"] == 'Bearer realm="edgegate"' for r in got if r["status"] == 401)


def test_es256_signature_in_der_is_refused(gw, keys):
    # JWS ES256 is raw r||s (64 bytes); the ASN.1 DER form a TLS stack would make is not a JWS signature.
    header = {"alg": "ES256", "kid": "es-pem", "typ": "JWT"}
    si = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims()).encode())
    der = keys.ec.sign(si.encode(), ec.ECDSA(hashes.SHA256()))
    assert len(der) != 64
    r = ws_attempt(gw.url + "/jwt", headers={"Authorization": "Bearer " + si + "." + b64url(der)})
    assert r["status"] == 401
    # the same signing input with the raw signature is accepted (the DER was the only problem)
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    rr, ss = decode_dss_signature(der)
    raw = rr.to_bytes(32, "big") + ss.to_bytes(32, "big")
    assert ws_attempt(gw.url + "/jwt", headers={"Authorization": "Bearer " + si + "." + b64url(raw)})["status"] == 101


def test_a_jwks_encryption_key_is_not_a_signing_key(gw, keys):
    # kid "enc" is in the JWKS with use "enc" (the RS256 PEM key's public half): skipped at load.
    tok = keys.mint("rs-pem", header={"kid": "enc"})
    assert ws_attempt(gw.url + "/jwt", headers={"Authorization": "Bearer " + tok})["status"] == 401
