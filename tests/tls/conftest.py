"""Certificates for the TLS tests, made once per session.

``edgegate certs dev DIR`` writes the development set (CA, server, client,
expired client, a client of another CA). On top of that, with the same
internals: ``other-test.pem``/``.key`` (a server certificate for "other.test"
from the dev CA, for SNI) and ``rot-ca.pem`` with ``rot-server.pem``/``.key``
(a second CA and a localhost server certificate it signed, for rotation),
``chain-root.pem`` with ``chain-server.pem``/``.key`` (a localhost certificate
from an intermediate CA under that root; the file holds the leaf, then the
intermediate).
"""

import datetime
import os
import subprocess

import pytest

from tests import procs

from . import tlsutil


class Certs:
    def __init__(self, d):
        self.dir = str(d)

    def __getitem__(self, name):
        """The path of ``name`` in the certificate directory ("ca.pem", "server.key", ...)."""
        p = os.path.join(self.dir, name)
        assert os.path.exists(p), p
        return p

    def pem_der(self, name):
        import ssl

        with open(self[name]) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())


def _extra(d):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from edgegate.tools import certs as dev

    with open(os.path.join(d, "ca.pem"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(d, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    day, year = datetime.timedelta(days=1), datetime.timedelta(days=365)
    files = {}
    k, c = dev._leaf(ca_key, ca, "other.test", dev._sans(["other.test"]), True, now - day, now + year)
    files["other-test.pem"], files["other-test.key"] = dev._cert_pem(c), dev._key_pem(k)
    rk, rca = dev._ca("edgegate rotation CA", now)
    k, c = dev._leaf(rk, rca, "localhost", dev._sans(["localhost", "127.0.0.1"]), True, now - day, now + year)
    files["rot-ca.pem"] = dev._cert_pem(rca)
    files["rot-server.pem"], files["rot-server.key"] = dev._cert_pem(c), dev._key_pem(k)
    ck, cca = _ca(dev._name("edgegate chain root CA"), None, None, now, None)
    files["chain-root.pem"] = dev._cert_pem(cca)
    ik, ica = _ca(dev._name("edgegate intermediate CA"), ck, cca, now, 0)
    k, c = dev._leaf(ik, ica, "localhost", dev._sans(["localhost", "127.0.0.1"]), True, now - day, now + year)
    files["chain-server.pem"] = dev._cert_pem(c) + dev._cert_pem(ica)  # the leaf, then the intermediate
    files["chain-server.key"] = dev._key_pem(k)
    for name, data in files.items():
        dev._write(os.path.join(d, name), data, secret=name.endswith(".key"))


def _ca(name, issuer_key, issuer, now, path_length):
    """A CA certificate: self-signed when ``issuer`` is None (a root allowing intermediates), else under it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name)
            .issuer_name(name if issuer is None else issuer.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key if issuer is None else issuer_key, hashes.SHA256()))
    return key, cert


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls-certs")
    run = subprocess.run([procs.PY, "-m", "edgegate", "certs", "dev", str(d)], cwd=procs.ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    _extra(str(d))
    return Certs(d)


@pytest.fixture(scope="module")
def echo_backend():
    """edgegate's own echo backend (1 MiB messages), shared by a module's tests."""
    with procs.echo() as be:
        yield be


@pytest.fixture(scope="module", params=tlsutil.BACKENDS)
def gw(request, certs, echo_backend):
    """A gateway with one TLS listener (the dev certificate), once per engine, in front of the echo.

    Modules that need other listener settings define their own ``gw``.
    """
    port = procs.free_port()
    with procs.gateway_listen([tlsutil.tls_listener(port, certs, request.param)],
                              tlsutil.route_to(echo_backend.port)) as g:
        g.backend = request.param
        yield g
