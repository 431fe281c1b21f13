"""The client certificate as the principal: a TLS listener requiring client certificates.

Certificates come from ``python -m edgegate certs dev DIR`` (client.pem: CN
dev-client, SAN URI spiffe://edgegate/dev-client, signed by the dev CA). The
route /cert admits by client certificate only: over TLS with the certificate
the backend gets ``X-Edgegate-Principal: cert:<first SAN>``; the same route
on the gateway's plaintext listener has no certificate to go by (401).
"""

import json
import os
import ssl
import subprocess

import pytest

from tests import procs

from .util import node_attempts, ws_attempt

PRINCIPAL = "cert:spiffe://edgegate/dev-client"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("admission-certs"))
    run = subprocess.run([procs.PY, "-m", "edgegate", "certs", "dev", d], cwd=procs.ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return lambda name: os.path.join(d, name)


@pytest.fixture(scope="module")
def tls_gw(certs, backend, keys):
    plain, tls = procs.free_port(), procs.free_port()
    url = "ws://127.0.0.1:%d/" % backend.port
    listen = [{"host": "127.0.0.1", "port": plain, "plaintext": True},
              {"host": "127.0.0.1", "port": tls,
               "tls": {"cert": certs("server.pem"), "key": certs("server.key"), "client_cert": "required",
                       "client_ca": certs("ca.pem")}}]
    route = [{"path": "/cert", "backend": {"url": url}, "auth": {"methods": ["client_cert"]}},
             {"path": "/either", "backend": {"url": url}, "auth": {"methods": ["api_key", "client_cert"]}}]
    g = procs.gateway(backend.port, port=plain, routes=route, extra={"listen": listen, "auth": keys.auth()})
    g.plain_url, g.tls_url = "ws://127.0.0.1:%d" % plain, "wss://localhost:%d" % tls
    yield g
    g.stop()


def principal(r):
    assert r["status"] == 101, r
    return dict((k.lower(), v) for k, v in json.loads(r["echo"])["headers"])["x-edgegate-principal"]


def _ctx(certs):
    ctx = ssl.create_default_context(cafile=certs("ca.pem"))
    ctx.load_cert_chain(certs("client.pem"), certs("client.key"))
    return ctx


def _wss(url, ctx, headers=None):
    from websockets.sync.client import connect

    with connect(url, ssl=ctx, additional_headers=headers or {}, proxy=None, compression=None) as ws:
        ws.send("?request")
        return {"status": 101, "protocol": ws.subprotocol, "echo": ws.recv(timeout=10)}


def test_client_certificate_is_the_principal_websockets(tls_gw, certs):
    assert principal(_wss(tls_gw.tls_url + "/cert", _ctx(certs))) == PRINCIPAL


def test_client_certificate_is_the_principal_node(tls_gw, certs):
    tls = {"ca": certs("ca.pem"), "cert": certs("client.pem"), "key": certs("client.key")}
    r = node_attempts([{"url": tls_gw.tls_url + "/cert", "tls": tls, "send": "?request"}])[0]
    assert principal(r) == PRINCIPAL


def test_an_api_key_wins_when_listed_first(tls_gw, certs, keys):
    r = _wss(tls_gw.tls_url + "/either", _ctx(certs), headers={"X-Api-Key": keys.api_key})
    assert principal(r) == "key:meter-1"
    assert principal(_wss(tls_gw.tls_url + "/either", _ctx(certs))) == PRINCIPAL


def test_no_certificate_on_the_plaintext_listener_401(tls_gw, keys):
    r = ws_attempt(tls_gw.plain_url + "/cert")
    assert r == {"status": 401, "headers": {"www-authenticate": 'Bearer realm="edgegate"'}}
    assert node_attempts([{"url": tls_gw.plain_url + "/cert"}])[0]["status"] == 401
    assert principal(ws_attempt(tls_gw.plain_url + "/either", headers={"X-Api-Key": keys.api_key},
                                send="?request")) == "key:meter-1"
