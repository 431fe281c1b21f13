"""Client-side helpers for the TLS tests: contexts, listener documents, raw upgrades over TLS.

The raw helpers speak blocking sockets through stdlib ``ssl`` and hand-built
bytes (``tests.gateway.wire``), so what a refusal looks like on the wire (an
alert, a reset, EOF, and never a 101) is seen without a library in between.
"""

import socket
import ssl
import struct
import time
import warnings

from tests.gateway import wire

BACKENDS = ["mbedtls", "ssl"]
STEP_S = 5.0  # no single read waits longer


def tls_listener(port, certs, backend, **tls):
    """A ``listen[]`` entry on 127.0.0.1:port with the dev server certificate."""
    t = {"backend": backend, "cert": certs["server.pem"], "key": certs["server.key"]}
    t.update(tls)
    return {"host": "127.0.0.1", "port": port, "tls": t}


def route_to(port):
    return [{"path": "/", "backend": {"url": "ws://127.0.0.1:%d" % port}}]


def client_ctx(cafile, cert=None, key=None, minimum=None, maximum=None, ciphers=None):
    """A verifying client context (hostname checked) trusting ``cafile``."""
    ctx = ssl.create_default_context(cafile=cafile)
    if ciphers:
        ctx.set_ciphers(ciphers)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def tls_connect(port, ctx, server_hostname="localhost", timeout=STEP_S):
    """A blocking TLS socket to 127.0.0.1:port, handshake done."""
    raw = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=server_hostname)
    except BaseException:
        raw.close()
        raise


def recv_until(sock, marker, limit=65536):
    """Read until ``marker`` (or EOF); returns what was read."""
    buf = b""
    while marker not in buf and len(buf) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_frame(sock):
    """(fin, opcode, payload) of the next server frame (unmasked)."""
    b0, b1 = recv_exact(sock, 2)
    assert b1 & 0x80 == 0, "server frames must not be masked"
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", recv_exact(sock, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", recv_exact(sock, 8))
    return bool(b0 & 0x80), b0 & 0x0F, recv_exact(sock, n) if n else b""


def upgrade_and_echo(port, ctx, server_hostname="localhost", payload=b"over tls"):
    """Handshake, HTTP upgrade and one binary frame echoed; returns facts about the connection.

    {"version", "cipher", "peer_der", "status", "echo"}.
    """
    with tls_connect(port, ctx, server_hostname) as s:
        facts = {"version": s.version(), "cipher": s.cipher()[0], "peer_der": s.getpeercert(binary_form=True)}
        s.sendall(wire.request("/", host="localhost"))
        head = recv_until(s, b"\r\n\r\n")
        facts["status"] = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/1.1 ") else head[:40]
        if facts["status"] == "101":
            s.sendall(wire.frame(wire.OP_BINARY, payload))
            fin, op, got = read_frame(s)
            facts["echo"] = (fin, op, got)
            s.sendall(wire.frame(wire.OP_CLOSE, wire.close_payload(1000)))
        return facts


def attempt_upgrade(port, ctx, server_hostname="localhost"):
    """Try handshake + upgrade; return ("upgraded", head) or ("refused", why).

    With TLS 1.3 the client's handshake ends before the server has checked the
    client's certificate, so a refusal may only show on the first read: the
    request is sent whenever the handshake seems done, and whatever comes back
    (alert, reset, EOF) is read until the connection ends.
    """
    try:
        s = tls_connect(port, ctx, server_hostname)
    except (ssl.SSLError, OSError) as e:
        return "refused", "handshake: %r" % (e,)
    with s:
        try:
            s.sendall(wire.request("/", host="localhost"))
            head = recv_until(s, b"\r\n\r\n")
        except (ssl.SSLError, OSError) as e:
            return "refused", "after handshake (%s): %r" % (s.version(), e)
    if head.startswith(b"HTTP/1.1 101"):
        return "upgraded", head
    return "refused", "answer %r" % head[:60]


def read_until_closed(sock, deadline_s):
    """Read (discarding) until the peer closes; return (bytes read, seconds it took)."""
    t0 = time.monotonic()
    got = b""
    sock.settimeout(0.2)
    while time.monotonic() - t0 < deadline_s:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:  # reset: closed too
            break
        if not chunk:
            break
        got += chunk
    else:
        raise AssertionError("connection still open after %.1fs" % deadline_s)
    return got, time.monotonic() - t0


def client_hello(server_hostname="localhost"):
    """The bytes of a real ClientHello (stdlib ssl, through memory BIOs); None: without SNI."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = server_hostname is not None
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert hello[:1] == b"\x16" and len(hello) > 100, hello[:16]
    return hello


def can_offer(maximum):
    """Whether this OpenSSL builds a ClientHello whose highest version is ``maximum`` (or None and why)."""
    try:
        ctx = old_client_ctx(maximum)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
    except (ssl.SSLError, ValueError) as e:
        return "the local OpenSSL (%s) cannot offer %s: %s" % (ssl.OPENSSL_VERSION, maximum.name, e)
    hello = out.read()
    want = {ssl.TLSVersion.TLSv1: b"\x03\x01", ssl.TLSVersion.TLSv1_1: b"\x03\x02"}[maximum]
    # record(5) + handshake type(1) + length(3), then client_version
    if len(hello) < 11 or hello[9:11] != want:
        return "the local OpenSSL (%s) does not put %s in its ClientHello" % (ssl.OPENSSL_VERSION, maximum.name)
    return None


def old_client_ctx(maximum, cafile=None):
    """A client that offers at most ``maximum`` (TLS 1.0/1.1 need security level 0 on OpenSSL 3)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cafile:
        ctx.load_verify_locations(cafile)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():  # offering TLS 1.0/1.1 is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = maximum
    return ctx


def san_names(der):
    """DNS names and addresses in a certificate's subjectAltName, and its CN."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    c = x509.load_der_x509_certificate(der)
    try:
        san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        names += [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    cn = c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return names, cn[0].value if cn else None


def issuer_cn(der):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.load_der_x509_certificate(der).issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


class MemoryClient:
    """A TLS client over memory BIOs on a blocking socket: the test decides which records share a write."""

    def __init__(self, port, ctx, server_hostname="localhost"):
        self.sock = socket.create_connection(("127.0.0.1", port), STEP_S)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=server_hostname)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self._feed()
        self.flush()

    def _feed(self):
        data = self.sock.recv(65536)
        if not data:
            self.inc.write_eof()
            return False
        self.inc.write(data)
        return True

    def flush(self):
        """Send every record made so far in one write."""
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def read(self, until, limit=1 << 20):
        """Plaintext until ``until(buf)`` is true or the peer ends; returns it."""
        buf = b""
        while not until(buf) and len(buf) < limit:
            try:
                buf += self.obj.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            if not self._feed():
                try:
                    buf += self.obj.read(65536)
                except ssl.SSLError:
                    pass
                break
        return buf

    def close(self):
        self.sock.close()
