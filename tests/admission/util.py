"""Keys, tokens and two real clients for the admission tests.

``KeyFiles`` makes every kind of key the gateway reads (HMAC secrets, RSA and
EC P-256 PEM public keys, a JWKS with RSA, EC and oct keys) in a directory and
mints tokens for them with PyJWT. ``ws_attempt`` (the ``websockets`` library)
and ``node_attempts`` (Node's ``ws``) try an upgrade and report the same
shape: ``{"status": 101, "protocol": ..., "echo": ...}`` for a session,
``{"status": N, "headers": {...}}`` for a refusal.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import time

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests import procs

ISS = "https://id.test"
AUD = "edge"
APP = "https://app.test"
NODE_DIR = os.path.join(procs.ROOT, "tests", "node")
STEP_S = 10.0

# Everything but the per-address limits of procs.OPEN_ADMISSION, lifted per principal too.
LIFTED = dict(procs.OPEN_ADMISSION, upgrades_per_principal_per_s=100000, upgrades_per_principal_burst=100000,
              max_conns_per_principal=100000)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def forge(header, claims, hmac_key=None, signature=b""):
    """A compact JWS built by hand: HMAC-SHA256 under ``hmac_key``, else ``signature`` as given."""
    si = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    if hmac_key is not None:
        signature = hmac.new(hmac_key, si.encode(), hashlib.sha256).digest()
    return si + "." + b64url(signature)


def claims(sub="alice", ttl=300, **over):
    now = int(time.time())
    c = {"sub": sub, "iss": ISS, "aud": AUD, "iat": now, "nbf": now - 5, "exp": now + ttl}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


class KeyFiles:
    """Key material in ``d``; ``auth()`` is the config's top-level ``auth``; ``mint`` signs for a kid."""

    def __init__(self, d):
        self.dir = str(d)
        self.secret = {alg: secrets.token_bytes(64) for alg in ("HS256", "HS384", "HS512")}
        self.oct = secrets.token_bytes(32)
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_jwks = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ec_jwks = ec.generate_private_key(ec.SECP256R1())
        self.api_key = "ak_" + secrets.token_urlsafe(24)
        self.api_key2 = "ak_" + secrets.token_urlsafe(24)
        self.rsa_pem = self._pem(self.rsa)
        keys = []
        for alg, s in self.secret.items():
            # a trailing newline (as editors write) is not part of the secret
            keys.append({"kid": alg.lower(), "alg": alg, "secret_file": self._write(alg.lower() + ".secret",
                                                                                   s + b"\n")})
        keys.append({"kid": "rs-pem", "alg": "RS256", "public_key_file": self._write("rs.pub.pem", self.rsa_pem)})
        keys.append({"kid": "es-pem", "alg": "ES256",
                     "public_key_file": self._write("es.pub.pem", self._pem(self.ec))})
        jwks = {"keys": [
            dict(json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_jwks.public_key())), kid="rs-jwks",
                 alg="RS256", use="sig"),
            dict(json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(self.ec_jwks.public_key())), kid="es-jwks",
                 alg="ES256"),
            {"kty": "oct", "kid": "oct-jwks", "k": b64url(self.oct)},
            # an encryption key is not for signatures: skipped
            dict(json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key())), kid="enc", use="enc"),
        ]}
        self.jwks_file = self._write("jwks.json", json.dumps(jwks).encode())
        self.jwt_keys = keys

    def _pem(self, private):
        return private.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)

    def _write(self, name, data):
        p = os.path.join(self.dir, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def auth(self, leeway_s=0, grace_s=0):
        return {"jwt": {"keys": self.jwt_keys, "jwks_file": self.jwks_file, "issuer": ISS, "audience": AUD,
                        "leeway_s": leeway_s, "grace_s": grace_s},
                "api_keys": [{"id": "meter-1", "sha256": hashlib.sha256(self.api_key.encode()).hexdigest()},
                             {"id": "meter-2", "sha256": hashlib.sha256(self.api_key2.encode()).hexdigest()}]}

    def signing_key(self, kid):
        return {"hs256": self.secret["HS256"], "hs384": self.secret["HS384"], "hs512": self.secret["HS512"],
                "rs-pem": self.rsa, "es-pem": self.ec, "rs-jwks": self.rsa_jwks, "es-jwks": self.ec_jwks,
                "oct-jwks": self.oct}[kid]

    ALGS = {"hs256": "HS256", "hs384": "HS384", "hs512": "HS512", "rs-pem": "RS256", "es-pem": "ES256",
            "rs-jwks": "RS256", "es-jwks": "ES256", "oct-jwks": "HS256"}

    def mint(self, kid="hs256", sub="alice", ttl=300, alg=None, key=None, header=None, **over):
        """A token for ``kid`` signed by PyJWT (``alg``/``key`` override the kid's own)."""
        h = {"kid": kid} if header is None else header
        return pyjwt.encode(claims(sub, ttl, **over), key if key is not None else self.signing_key(kid),
                            algorithm=alg or self.ALGS[kid], headers=h)


def ws_attempt(url, headers=None, protocols=None, origin=None, source=None, send="hello"):
    """One upgrade with the ``websockets`` client; the session (echo of ``send``) or the refusal."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    kw = {}
    if source is not None:
        kw["source_address"] = (source, 0)
    try:
        ws = connect(url, additional_headers=headers or {}, subprotocols=protocols, origin=origin,
                     compression=None, proxy=None, open_timeout=STEP_S, user_agent_header=None, **kw)
    except InvalidStatus as e:
        h = {k: e.response.headers[k] for k in ("www-authenticate", "retry-after") if k in e.response.headers}
        return {"status": e.response.status_code, "headers": h}
    with ws:
        ws.send(send)
        echo = ws.recv(timeout=STEP_S)
        return {"status": 101, "protocol": ws.subprotocol, "echo": echo}


def node_available():
    return shutil.which("node") is not None


def ensure_node_modules():
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "ws")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       capture_output=True, timeout=300)


def node_attempts(attempts):
    """Each attempt ({url, headers, protocols, localAddress, send}) with Node's ``ws``; their results."""
    ensure_node_modules()
    out = subprocess.run(["node", os.path.join(NODE_DIR, "admission_client.mjs"), json.dumps(attempts)],
                         capture_output=True, text=True, timeout=60, cwd=NODE_DIR)
    assert out.returncode == 0, out.stderr + out.stdout
    return json.loads(out.stdout)


def summary(r):
    """What both clients must agree on: the status, and for a session the sub-protocol and echo."""
    if r.get("status") == 101:
        return (101, r["protocol"] or None, r["echo"])
    return (r.get("status"), r.get("error"))
