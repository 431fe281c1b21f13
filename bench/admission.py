"""The cost of admission per upgrade: ``Admission.decide`` + ``release``, in-process, timed with timeit.

    python -m bench.admission [--number 2000] [--repeat 5]

The Config comes from ``edgegate.config.parse`` and the keys from the files it
names through ``edgegate.gateway.keys.load_keys`` (HMAC secret, RSA 2048 and
EC P-256 PEM public keys: python-mbedtls objects, as the gateway uses), so
what is timed is exactly what a gateway does between reading an upgrade
request and dialling the backend. Tokens are minted once by PyJWT (the test
extra). Each upgrade is accepted and released, so the count tables stay
empty; refusals (a bad HS256 signature, a missing token, no route) are timed
too, as they are what a flood costs: a forged ES256 token costs its full
signature check. Prints µs per upgrade: the median and the best of ``repeat``
runs of ``number`` upgrades.
"""

import argparse
import hashlib
import os
import platform
import statistics
import sys
import tempfile
import time
import timeit

LIFTED = {"upgrades_per_ip_per_s": 1 << 29, "upgrades_per_ip_burst": 1 << 29,
          "upgrades_per_principal_per_s": 1 << 29, "upgrades_per_principal_burst": 1 << 29,
          "max_conns_per_ip": 1 << 29, "max_conns_per_principal": 1 << 29, "ban_after_failures": 1 << 29}


def _setup(d):
    import jwt as pyjwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from edgegate.config import parse
    from edgegate.gateway.keys import load_keys

    def write(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def pem(k):
        return k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    secret = os.urandom(32)
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ek = ec.generate_private_key(ec.SECP256R1())
    api_key = "ak_" + os.urandom(18).hex()
    url = "ws://127.0.0.1:9000/"
    doc = {
        "listen": [{"host": "127.0.0.1", "port": 8080, "plaintext": True}],
        "routes": [{"path": "/open", "backend": {"url": url}},
                   {"path": "/jwt", "backend": {"url": url}, "auth": {"methods": ["jwt"]}},
                   {"path": "/key", "backend": {"url": url}, "auth": {"methods": ["api_key"]}}],
        "auth": {"jwt": {"keys": [{"kid": "hs", "alg": "HS256", "secret_file": write("hs.secret", secret)},
                                  {"kid": "rs", "alg": "RS256", "public_key_file": write("rs.pem", pem(rk))},
                                  {"kid": "es", "alg": "ES256", "public_key_file": write("es.pem", pem(ek))}],
                         "issuer": "https://id.bench", "audience": "edge"},
                 "api_keys": [{"id": "meter-%d" % i, "sha256": hashlib.sha256(b"other-%d" % i).hexdigest()}
                              for i in range(7)]
                 + [{"id": "meter-bench", "sha256": hashlib.sha256(api_key.encode()).hexdigest()}]},
        "admission": LIFTED,
    }
    cfg = parse(doc, {"name": "bench"})
    keys = load_keys(cfg)
    now = int(time.time())
    claims = {"sub": "bench", "iss": "https://id.bench", "aud": "edge", "iat": now, "nbf": now, "exp": now + 86400}
    tokens = {
        "HS256": pyjwt.encode(claims, secret, algorithm="HS256", headers={"kid": "hs"}),
        "RS256": pyjwt.encode(claims, rk, algorithm="RS256", headers={"kid": "rs"}),
        "ES256": pyjwt.encode(claims, ek, algorithm="ES256", headers={"kid": "es"}),
        "HS256 bad": pyjwt.encode(claims, os.urandom(32), algorithm="HS256", headers={"kid": "hs"}),
        "ES256 bad": pyjwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                                  headers={"kid": "es"}),
        "none": pyjwt.encode(claims, None, algorithm="none", headers={"kid": "es"}),
    }
    return cfg, keys, tokens, api_key


def cases(tokens, api_key):
    """(name, path, headers, accepted?)."""
    def bearer(t):
        return [("authorization", "Bearer " + t)]

    return [
        ("open route", "/open", [], True),
        ("JWT HS256", "/jwt", bearer(tokens["HS256"]), True),
        ("JWT ES256 (P-256)", "/jwt", bearer(tokens["ES256"]), True),
        ("JWT RS256 (2048)", "/jwt", bearer(tokens["RS256"]), True),
        ("API key (8 keys)", "/key", [("x-api-key", api_key)], True),
        ("refused: HS256 bad signature", "/jwt", bearer(tokens["HS256 bad"]), False),
        ("refused: ES256 bad signature", "/jwt", bearer(tokens["ES256 bad"]), False),
        ("refused: alg none", "/jwt", bearer(tokens["none"]), False),
        ("refused: no token", "/jwt", [], False),
        ("refused: no route", "/nothing", [], False),
    ]


def measure(number=2000, repeat=5):
    from edgegate import rt
    from edgegate.policy.admission import Admission, Facts
    from edgegate.policy.errors import Reject

    with tempfile.TemporaryDirectory() as d:
        cfg, keys, tokens, api_key = _setup(d)
    adm = Admission(cfg, keys)
    rows = []
    for name, path, headers, ok in cases(tokens, api_key):
        facts = Facts(path, "", headers, [], "192.0.2.10")
        if ok:
            def one(facts=facts):
                adm.release(adm.decide(facts, rt.ticks_ms(), rt.wall_s()), facts.peer)
        else:
            def one(facts=facts):
                try:
                    adm.decide(facts, rt.ticks_ms(), rt.wall_s())
                except Reject:
                    return
                raise AssertionError("accepted")
        one()  # it works (and raises here if it does not)
        n = max(50, number // 20) if "RS256" in name or "ES256" in name else number
        times = timeit.repeat(one, number=n, repeat=repeat)
        per = [t / n * 1e6 for t in times]
        rows.append((name, statistics.median(per), min(per), n * repeat))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--number", type=int, default=2000, help="upgrades per timed run (1/20 for RS256/ES256)")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)
    rows = measure(a.number, a.repeat)
    try:
        import mbedtls

        mb = "python-mbedtls %s" % mbedtls.__version__
    except ImportError:
        mb = "no python-mbedtls"
    print("admission per upgrade (decide + release), %s %s, %s, %s" % (
        platform.python_implementation(), platform.python_version(), mb, platform.machine()))
    print()
    print("| case | µs/upgrade (median) | µs (best) | upgrades/s (median) | timed |")
    print("|---|---:|---:|---:|---:|")
    for name, med, best, total in rows:
        print("| %s | %.1f | %.1f | %s | %d |" % (name, med, best, "{:,}".format(int(1e6 / med)), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
