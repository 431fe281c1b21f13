"""What a TLS listener refuses: old protocol versions, plaintext, and bad client certificates.

Refusals happen before the upgrade: no refused client ever sees a 101, and
the gateway opens no session for it. Client certificates are checked against
``client_ca``: ``required`` (both engines) refuses a client without one, with
an expired one, or with one from another CA; ``optional`` (ssl engine only)
also lets a client without a certificate in. The verified certificate's
SHA-256 fingerprint is logged with the session. A TLS 1.2 client asking to
renegotiate gets no_renegotiation.
"""

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from tests import procs
from tests.gateway import wire

from . import tlsutil


@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["tls1.0", "tls1.1"])
def test_tls10_and_tls11_clients_are_refused(gw, certs, maximum):
    why = tlsutil.can_offer(maximum)
    if why:
        pytest.skip(why)
    # The same permissive client (security level 0, every suite) gets in once TLS 1.2 is allowed:
    # the refusal is the version, not the client's setup.
    ok = tlsutil.upgrade_and_echo(gw.port, tlsutil.old_client_ctx(ssl.TLSVersion.TLSv1_2))
    assert ok["status"] == "101" and ok["version"] == "TLSv1.2", ok
    with pytest.raises((ssl.SSLError, ConnectionError)) as e:
        tlsutil.tls_connect(gw.port, tlsutil.old_client_ctx(maximum)).close()
    print("%s refused by %s: %r" % (maximum.name, gw.backend, e.value))
    assert gw.p.poll() is None


@pytest.mark.parametrize("what", ["websocket upgrade", "plain GET"])
def test_plaintext_http_to_a_tls_listener_gets_no_upgrade_and_the_connection_closes(gw, what):
    s = socket.create_connection(("127.0.0.1", gw.port), 5)
    with s:
        s.sendall(wire.request("/") if what == "websocket upgrade" else b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        got, took = tlsutil.read_until_closed(s, 5.0)
    assert b"HTTP/" not in got and b"101" not in got, got[:80]
    # At most a TLS alert record came back (content type 21).
    assert got == b"" or got[:1] == b"\x15", got[:80]
    assert gw.p.poll() is None


def _client_cert_gateway(certs, backend, mode, echo_port):
    port = procs.free_port()
    ln = tlsutil.tls_listener(port, certs, backend, client_ca=certs["ca.pem"], client_cert=mode)
    return procs.gateway_listen([ln], tlsutil.route_to(echo_port))


BAD_CLIENTS = ["client-expired", "other-client"]


def _ctx(certs, who):
    if who is None:
        return tlsutil.client_ctx(certs["ca.pem"])
    return tlsutil.client_ctx(certs["ca.pem"], certs[who + ".pem"], certs[who + ".key"])


def _session_opens(g):
    return [r for r in g.records() if r.get("event") == "session_open"]


def _fingerprint(certs, name):
    return hashlib.sha256(certs.pem_der(name)).hexdigest()[:16]


@pytest.mark.parametrize("backend", tlsutil.BACKENDS)
def test_required_client_certificates_refuse_none_expired_and_foreign_before_the_upgrade(certs, echo_backend,
                                                                                          backend):
    with _client_cert_gateway(certs, backend, "required", echo_backend.port) as g:
        for who in [None] + BAD_CLIENTS:
            outcome, why = tlsutil.attempt_upgrade(g.port, _ctx(certs, who))
            assert outcome == "refused", (who, why)
            print("%s, required, %s: %s" % (backend, who or "no certificate", why))
        assert _session_opens(g) == []
        facts = tlsutil.upgrade_and_echo(g.port, _ctx(certs, "client"), payload=b"with a cert")
        assert facts["status"] == "101" and facts["echo"][2] == b"with a cert", facts
        opened = procs.wait_record(g, "session_open")
        assert opened["client_cert"] == _fingerprint(certs, "client.pem"), opened
        assert g.p.poll() is None
        assert "session_error" not in g.output()


def test_optional_client_certificates_with_ssl_accept_none_and_valid_and_refuse_foreign_and_expired(
        certs, echo_backend):
    with _client_cert_gateway(certs, "ssl", "optional", echo_backend.port) as g:
        for who in BAD_CLIENTS:
            outcome, why = tlsutil.attempt_upgrade(g.port, _ctx(certs, who))
            assert outcome == "refused", (who, why)
        assert _session_opens(g) == []
        anon = tlsutil.upgrade_and_echo(g.port, _ctx(certs, None), payload=b"anonymous")
        assert anon["status"] == "101" and anon["echo"][2] == b"anonymous", anon
        with_cert = tlsutil.upgrade_and_echo(g.port, _ctx(certs, "client"), payload=b"known")
        assert with_cert["status"] == "101" and with_cert["echo"][2] == b"known", with_cert
        # Each session_open is written before its session relays a frame, so both are in the log now.
        opens = _session_opens(g)
        assert [r["client_cert"] for r in opens] == [None, _fingerprint(certs, "client.pem")], opens


def test_optional_client_certificates_with_mbedtls_are_a_config_error_naming_the_field(certs):
    doc = {"listen": [tlsutil.tls_listener(443, certs, "mbedtls", client_ca=certs["ca.pem"],
                                           client_cert="optional")],
           "routes": tlsutil.route_to(9000)}
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    run = subprocess.run([procs.PY, "-m", "edgegate", "check", path], cwd=procs.ROOT, capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "listen[0].tls.client_cert" in run.stderr, run.stderr
    # The same document with backend ssl is valid.
    doc["listen"][0]["tls"]["backend"] = "ssl"
    with open(path, "w") as f:
        json.dump(doc, f)
    ok = subprocess.run([procs.PY, "-m", "edgegate", "check", path], cwd=procs.ROOT, capture_output=True,
                        text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI is not installed")
def test_a_tls12_client_asking_to_renegotiate_is_refused_and_the_gateway_goes_on(gw, certs):
    out = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % gw.port, "-tls1_2", "-CAfile",
                          certs["ca.pem"], "-servername", "localhost"],
                         stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, text=True)

    def text():
        with open(out.name) as f:
            return f.read()

    def wait(cond, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, "%s: not within %.0fs:\n%s" % (what, timeout, text()[-2000:])
            time.sleep(0.02)

    try:
        wait(lambda: "Verify return code: 0 (ok)" in text() or p.poll() is not None, "handshake")
        assert p.poll() is None, text()[-2000:]
        p.stdin.write("R\n")  # s_client's command: renegotiate
        p.stdin.flush()
        wait(lambda: "no renegotiation" in text() or p.poll() is not None, "refusal")
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        out.close()
    assert "RENEGOTIATING" in text() and "no renegotiation" in text(), text()[-2000:]
    assert tlsutil.upgrade_and_echo(gw.port, tlsutil.client_ctx(certs["ca.pem"]))["status"] == "101"
    assert gw.p.poll() is None
