"""``edgegate certs dev DIR``: a development CA, a server certificate and client certificates.

python-mbedtls cannot write subjectAltName entries, and browsers and Node
refuse server certificates without them, so this host-side tool uses the
``cryptography`` package. Keys are ECDSA P-256. Files written to DIR:
``ca.pem``/``ca.key`` (the CA), ``server.pem``/``server.key`` (SANs: the
names and addresses given, default localhost, 127.0.0.1, ::1),
``client.pem``/``client.key`` (CN "dev-client", SAN URI
``spiffe://edgegate/dev-client``), ``client-expired.pem``/``.key`` (valid
yesterday only), and ``other-ca.pem``/``other-client.pem``/``.key`` (a client
from an unrelated CA). For development and tests only. Files already in DIR
are not overwritten (and nothing is written) unless ``force`` says so.
"""

import datetime
import ipaddress
import os


def _lib():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:  # pragma: no cover - host-side dependency
        raise SystemExit("edgegate certs needs the cryptography package: pip install cryptography")
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


FILES = ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key", "client-expired.pem",
         "client-expired.key", "other-ca.pem", "other-client.pem", "other-client.key")


class ExistingFiles(Exception):
    """The directory already holds some of the files; the message names them."""


def _write(path, data, secret=False, force=False):
    mode = 0o600 if secret else 0o644
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, mode)
    os.fchmod(fd, mode)  # an overwritten key must not keep a looser mode
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key):
    _, _, serialization, _, _, _ = _lib()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert):
    _, _, serialization, _, _, _ = _lib()
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn):
    x509, _, _, _, _, NameOID = _lib()
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "edgegate dev"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn, now):
    x509, hashes, _, ec, _, _ = _lib()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca_key, ca_cert, cn, sans, server, not_before, not_after):
    x509, hashes, _, ec, EKU, _ = _lib()
    key = ec.generate_private_key(ec.SECP256R1())
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([EKU.SERVER_AUTH if server else EKU.CLIENT_AUTH]), critical=False))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, b.sign(ca_key, hashes.SHA256())


def _sans(names):
    x509 = _lib()[0]
    out = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


def make_dev_certs(directory, names=("localhost", "127.0.0.1", "::1"), force=False):
    """Write the development set into ``directory``; returns the paths written.

    Raises:
        ExistingFiles: some are there already and ``force`` is false (nothing is written).
    """
    x509 = _lib()[0]
    there = [fn for fn in FILES if os.path.lexists(os.path.join(directory, fn))]
    if there and not force:
        raise ExistingFiles("%s already holds %s: nothing written (--force overwrites them)"
                            % (directory, ", ".join(there)))
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    year = datetime.timedelta(days=365)
    ca_key, ca = _ca("edgegate dev CA", now)
    s_key, s_cert = _leaf(ca_key, ca, names[0], _sans(names), True, now - datetime.timedelta(days=1), now + year)
    c_key, c_cert = _leaf(ca_key, ca, "dev-client", [x509.UniformResourceIdentifier("spiffe://edgegate/dev-client")],
                          False, now - datetime.timedelta(days=1), now + year)
    e_key, e_cert = _leaf(ca_key, ca, "expired-client", [], False, now - datetime.timedelta(days=3),
                          now - datetime.timedelta(days=1))
    o_ca_key, o_ca = _ca("some other CA", now)
    o_key, o_cert = _leaf(o_ca_key, o_ca, "stranger", [], False, now - datetime.timedelta(days=1), now + year)
    files = {
        "ca.pem": _cert_pem(ca), "ca.key": _key_pem(ca_key),
        "server.pem": _cert_pem(s_cert), "server.key": _key_pem(s_key),
        "client.pem": _cert_pem(c_cert), "client.key": _key_pem(c_key),
        "client-expired.pem": _cert_pem(e_cert), "client-expired.key": _key_pem(e_key),
        "other-ca.pem": _cert_pem(o_ca), "other-client.pem": _cert_pem(o_cert), "other-client.key": _key_pem(o_key),
    }
    written = []
    for fn in FILES:
        p = os.path.join(directory, fn)
        _write(p, files[fn], secret=fn.endswith(".key"), force=force)
        written.append(p)
    return written
