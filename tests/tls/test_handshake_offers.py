"""What a TLS listener puts in its handshake, as the real ``openssl s_client -msg`` sees it.

A listener with ``client_cert: none`` (the default) sends no CertificateRequest:
a browser that gets one asks its user for a certificate, and headless Chromium
fails the connection. With ``required`` one is sent and a client without a
certificate is refused. The Mbed TLS engine's key exchange uses X25519, P-256
or P-384, in that order of preference, whatever order the client offers them
in; a client offering only curves outside those (secp521r1, brainpool) is
refused (no alert: Mbed TLS ends the connection; the gateway logs
``tls_refused``): P-521 costs about twice P-256 per handshake, and every real
client offers X25519 or P-256. (With the dev ECDSA P-256 certificate a client must
offer P-256 anyway, so the P-384 and P-521 cases use an RSA certificate.)
"""

import datetime
import os
import shutil
import subprocess

import pytest

from tests import procs

from . import tlsutil

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI is not installed")


def s_client(port, certs, *args, cert=None):
    """Run ``openssl s_client -tls1_2 -msg`` to 127.0.0.1:port until its handshake ends; its output."""
    argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
            "-CAfile", certs["ca.pem"], "-msg", "-tls1_2"] + list(args)
    if cert:
        argv += ["-cert", certs[cert + ".pem"], "-key", certs[cert + ".key"]]
    run = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    return run.stdout + run.stderr


def received_handshake_messages(out):
    """The names of the handshake messages openssl received ("<<< TLS 1.2, Handshake [...], Name")."""
    return [line.rsplit(", ", 1)[1].strip() for line in out.splitlines()
            if line.startswith("<<< ") and ", Handshake " in line]


def server_temp_key(out):
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Server Temp Key:")),
                None)


def rsa_server_cert(certs):
    """An RSA server certificate for localhost from the dev CA: (cert path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from edgegate.tools import certs as dev

    with open(certs["ca.pem"], "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(certs["ca.key"], "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(dev._name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(dev._sans(["localhost", "127.0.0.1"])), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (os.path.join(certs.dir, "rsa-server.pem"), os.path.join(certs.dir, "rsa-server.key"))
    dev._write(paths[0], dev._cert_pem(cert))
    dev._write(paths[1], dev._key_pem(key), secret=True)
    return paths


@pytest.fixture(scope="module")
def rsa_gw(certs, echo_backend):
    """A Mbed TLS listener with an RSA certificate: ECDHE-RSA, so any curve the engine allows can be offered."""
    cert, key = rsa_server_cert(certs)
    port = procs.free_port()
    ln = tlsutil.tls_listener(port, certs, "mbedtls", cert=cert, key=key)
    with procs.gateway_listen([ln], tlsutil.route_to(echo_backend.port)) as g:
        yield g


@pytest.fixture(scope="module", params=tlsutil.BACKENDS)
def required_gw(request, certs, echo_backend):
    port = procs.free_port()
    ln = tlsutil.tls_listener(port, certs, request.param, client_ca=certs["ca.pem"], client_cert="required")
    with procs.gateway_listen([ln], tlsutil.route_to(echo_backend.port)) as g:
        g.backend = request.param
        yield g


def test_a_listener_with_client_cert_none_sends_no_certificate_request(gw, certs):
    out = s_client(gw.port, certs)
    got = received_handshake_messages(out)
    assert "ServerHelloDone" in got, out[-3000:]
    assert "CertificateRequest" not in got, (gw.backend, got)
    assert "Verify return code: 0 (ok)" in out, out[-3000:]


def test_a_listener_with_client_cert_required_requests_one_and_refuses_a_client_without(required_gw, certs):
    out = s_client(required_gw.port, certs)
    assert "CertificateRequest" in received_handshake_messages(out), out[-3000:]
    assert tlsutil.attempt_upgrade(required_gw.port, tlsutil.client_ctx(certs["ca.pem"]))[0] == "refused"
    with_cert = s_client(required_gw.port, certs, cert="client")
    assert "CertificateRequest" in received_handshake_messages(with_cert), with_cert[-3000:]
    assert "Verify return code: 0 (ok)" in with_cert, with_cert[-3000:]


@pytest.mark.parametrize("offered, chosen", [
    ("secp521r1:prime256v1", "prime256v1"),
    ("secp521r1:secp384r1:prime256v1:X25519", "X25519"),
])
def test_the_mbedtls_listener_prefers_x25519_then_p256_over_what_the_client_lists_first(gw, certs, offered, chosen):
    if gw.backend != "mbedtls":
        pytest.skip("the ssl engine keeps OpenSSL's own group choice")
    out = s_client(gw.port, certs, "-groups", offered)
    key = server_temp_key(out)
    assert key is not None and chosen in key, (offered, key, out[-3000:])


def test_the_mbedtls_listener_takes_p384_over_p521_and_refuses_a_client_offering_only_p521(rsa_gw, certs):
    out = s_client(rsa_gw.port, certs, "-groups", "secp521r1:secp384r1")
    key = server_temp_key(out)
    assert key is not None and "secp384r1" in key, (key, out[-3000:])
    only = s_client(rsa_gw.port, certs, "-groups", "secp521r1")
    assert server_temp_key(only) is None, only[-3000:]
    assert "ServerHelloDone" not in received_handshake_messages(only), only[-3000:]
    # Mbed TLS ends the connection without an alert; the gateway says why.
    refused = procs.wait_record(rsa_gw, "tls_refused")
    assert "no ciphersuites in common" in refused["why"], refused
    assert rsa_gw.p.poll() is None



@pytest.mark.parametrize("backend", tlsutil.BACKENDS)
def test_a_route_authenticating_by_client_certificate_behind_client_cert_none_lets_no_self_made_certificate_in(
        certs, echo_backend, backend):
    port = procs.free_port()
    route = dict(tlsutil.route_to(echo_backend.port)[0], auth={"methods": ["client_cert"]})
    with procs.gateway_listen([tlsutil.tls_listener(port, certs, backend)], [route]) as g:
        # A certificate no CA here signed, naming whoever its maker likes.
        ctx = tlsutil.client_ctx(certs["ca.pem"], certs["other-client.pem"], certs["other-client.key"])
        facts = tlsutil.upgrade_and_echo(port, ctx)
        assert facts["status"] == "401", (backend, facts)
        assert [r for r in g.records() if r.get("event") == "session_open"] == []
