"""TLS for listeners and backends: python-mbedtls driven from asyncio without threads, or stdlib ssl.

``MbedTlsStream`` is a ``Stream`` whose socket bytes go through Mbed TLS's
sans-I/O ``TLSWrappedBuffer``: ciphertext is read into one scratch buffer
shared by every TLS stream (no per-connection cost), fed to Mbed TLS, and the
plaintext is read into the session's receive ring as with plain TCP. The
handshake is stepped as bytes arrive; ``await stream.handshake()`` waits for
it and the caller bounds that wait (``tls.handshake_ms``). TLS 1.2 only (Mbed
TLS 2.28), AEAD suites with forward secrecy only, key exchange on X25519,
P-256 or P-384, no renegotiation, SNI, and a CertificateRequest only where
client certificates are required.

``tls.backend: ssl`` uses the runtime's ``ssl`` module instead (TLS 1.2 and
1.3): ``SslStream`` drives it on memory BIOs the same way, so both engines'
handshakes are awaited, bounded and refused alike. Both expose the verified client
certificate as ``stream.peer_cert`` (DER); ``identity(der)`` turns it into
facts (subject, SANs, SHA-256 fingerprint) a policy can use as the principal.
"""

import hashlib
import ssl
import sys

from edgegate.errors import MaterialError
from edgegate.rt import aio, net

from .files import read_material

try:
    import mbedtls.tls as mtls
except ImportError:  # pragma: no cover - a box without python-mbedtls serves plaintext and ssl listeners
    mtls = None

# AEAD + forward secrecy (ECDHE) only, in the server's order of preference:
# ChaCha20-Poly1305 first. Mbed TLS 2.28 computes GCM in software tables (no
# carry-less multiply), and Pi 4 / Zero 2 W cores have no AES instructions at
# all; measured on x86-64 (python -m bench.tls --ciphers), a 4 KiB record
# encrypted and decrypted costs 18 us with ChaCha20-Poly1305, 25 us with
# AES-128-GCM, 28 us with AES-256-GCM.
MBEDTLS_CIPHERS = (
    "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
    "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
    "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
)
SSL_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
# Ciphertext is read into one scratch buffer shared by every TLS stream (it is
# handed to Mbed TLS before the next read). 15 KiB plus the partial record Mbed
# TLS may hold stays under python-mbedtls's 32 KiB input ring.
_SCRATCH = bytearray(15 * 1024)
_WRITE_CHUNK = 8192
_SCRATCH_VIEW = memoryview(_SCRATCH)
# MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY: an orderly end (its text names no "close notify").
_PEER_CLOSE_NOTIFY = 0x7880


class TlsError(MaterialError):
    """TLS material could not be loaded (the message names the file), or a handshake failed."""


def _read(path, what):
    return read_material(path, what, TlsError)


class ContextHolder:
    """The context new connections of one listener use; a commit swaps it (certificate rotation)."""

    def __init__(self, ctx):
        self.ctx = ctx


class NamedContexts:
    """A listener's Mbed TLS contexts: the default one and one per SNI name.

    python-mbedtls 2.x has no SNI callback (setting one raises
    NotImplementedError), so the stream reads the name from the ClientHello
    itself and wraps its buffers with the context chosen here.
    """

    def __init__(self, default, by_name):
        self.default = default
        self.by_name = by_name

    def for_name(self, name):
        return self.by_name.get((name or "").lower(), self.default)


# The ClientHello's first record is held (copied) until its SNI name is read.
_MAX_HELLO_RECORD = 16384 + 2048


def client_hello_name(data):
    """The SNI host name of the ClientHello at the start of ``data``.

    Returns (decided, name): (False, None) while the first record is still
    incomplete; otherwise name is None when there is none (or the bytes are
    not a ClientHello: Mbed TLS then refuses them with the default context).
    """
    if len(data) < 5:
        return False, None
    n = (data[3] << 8) | data[4]
    if data[0] != 0x16 or n > _MAX_HELLO_RECORD:
        return True, None
    if len(data) < 5 + n:
        return False, None
    b = bytes(data[5:5 + n])
    try:
        if b[0] != 1:  # not a ClientHello
            return True, None
        p = 4 + 2 + 32  # handshake header, client_version, random
        p += 1 + b[p]  # session_id
        p += 2 + ((b[p] << 8) | b[p + 1])  # cipher_suites
        p += 1 + b[p]  # compression_methods
        end = min(len(b), p + 2 + ((b[p] << 8) | b[p + 1]))
        p += 2
        while p + 4 <= end:
            typ, ln = (b[p] << 8) | b[p + 1], (b[p + 2] << 8) | b[p + 3]
            p += 4
            if typ == 0:  # server_name: list length, then (type, length, name)...
                q = p + 2
                while q + 3 <= p + ln:
                    nl = (b[q + 1] << 8) | b[q + 2]
                    if b[q] == 0:
                        return True, b[q + 3:q + 3 + nl].decode("ascii", "replace")
                    q += 3 + nl
                return True, None
            p += ln
    except IndexError:  # a ClientHello spanning records: no name read, default context
        pass
    return True, None


class MbedTlsStream(net.Stream):
    """A Stream carried over Mbed TLS (server side, or client side with ``server_hostname``).

    ``ctx`` is a ContextHolder (listeners) or a ClientContext (backends).
    """

    __slots__ = ("_tls", "_ctx", "_hostname", "_handshaken", "_hs_waiter", "_failed", "_tls_buffered", "_notified",
                 "_hello")

    def __init__(self, rx, high_water, lender, on_made, ctx, server_hostname=None):
        super().__init__(rx, high_water, lender, on_made)
        self.secure = True
        self._ctx = ctx
        self._hostname = server_hostname
        self._tls = None
        self._handshaken = False
        self._hs_waiter = None
        self._failed = None
        self._tls_buffered = False
        self._notified = False  # close_notify sent
        self._hello = None

    def connection_made(self, transport):
        ctx = self._ctx.ctx if isinstance(self._ctx, ContextHolder) else self._ctx
        self._ctx = None
        if isinstance(ctx, NamedContexts):  # the context is chosen by the ClientHello's name
            self._ctx = ctx
            self._hello = bytearray()
        elif self._hostname is not None:
            self._tls = ctx.wrap_buffers(self._hostname)
        else:
            self._tls = ctx.wrap_buffers()
        super().connection_made(transport)
        if self._hostname is not None:
            self._step()  # the client speaks first

    # -- ciphertext in --
    def get_buffer(self, sizehint):
        return _SCRATCH_VIEW

    def buffer_updated(self, nbytes):
        if self._tls is None:
            if self._hello is None:
                return
            self._hello += _SCRATCH_VIEW[:nbytes]
            decided, name = client_hello_name(self._hello)
            if not decided:
                return
            hello, self._hello = self._hello, None
            self._tls = self._ctx.for_name(name).wrap_buffers()
            self._ctx = None
            self._pushed(hello)
            return
        self._pushed(_SCRATCH_VIEW[:nbytes])

    def _pushed(self, data):
        try:
            self._engine_feed(data)
        except Exception as e:  # noqa: BLE001 - Mbed TLS raises its own error types
            self._fail(e)
            return
        if not self._handshaken:
            self._step()
        if self._handshaken:
            self._pull()

    def _step(self):
        try:
            over = self._engine_advance()
        except Exception as e:  # noqa: BLE001 - a refused handshake ends this connection only
            self._send_pending()  # the alert, where the engine wrote one
            self._fail(e)
            return
        self._send_pending()
        if not over:
            return
        self._handshaken = True
        self.peer_cert = self._engine_peer_der() or None
        self._wake_handshake()

    def _pull(self):
        got = 0
        while True:
            rx = self.rx
            if rx is None:
                rx = self.rx = self._lender.lend(self) if self._lender is not None else None
            tail = rx.tail()
            if not len(tail):
                # Ring full: stop reading the socket; fill() pulls again once there is room.
                self._tls_buffered = True
                if not self._read_paused:
                    self.transport.pause_reading()
                    self._read_paused = True
                break
            try:
                n = self._engine_decrypt(tail)
            except Exception as e:  # noqa: BLE001 - the engine's own error types
                self._fail(e)
                return
            if n < 0:
                self.eof = True
                break
            if not n:
                break
            rx.commit(n)
            got += n
        self.pending += got
        if got == 0 and self.rx is not None and self.rx.start == self.rx.end and self._lender is not None:
            self.release_rx()
        self._send_pending()
        if got or self.eof:
            self._wake()

    def _send_pending(self):
        if self._tls is None:
            return
        t = self.transport
        while True:
            data = self._engine_outgoing()
            if not data:
                return
            if t is not None and not self.closed:
                t.write(data)

    def _fail(self, e):
        self._failed = e
        self.eof = True
        self._wake_handshake()
        self._wake()
        if self.transport is not None:
            self.transport.abort()

    def _wake_handshake(self):
        w, self._hs_waiter = self._hs_waiter, None
        net.resolve(w)

    async def handshake(self):
        """Wait for the handshake; raises TlsError if it failed or the peer left."""
        if not self._handshaken and self._failed is None and not self.closed:
            self._hs_waiter = aio.asyncio.get_running_loop().create_future()
            await self._hs_waiter
        if not self._handshaken:
            raise TlsError("tls handshake failed: %s" % (self._failed or "connection closed"))

    def connection_lost(self, exc):
        super().connection_lost(exc)
        self._wake_handshake()

    async def fill(self):
        if self._tls_buffered and self.rx is not None and self.rx.size - (self.rx.end - self.rx.start) > 0:
            self._tls_buffered = False
            self._pull()
        return await super().fill()

    # -- plaintext out --
    def write(self, data):
        if self.closed or self._tls is None:
            return
        self._engine_encrypt(memoryview(data))

    def write_view(self, view):
        self.write(view)  # encrypted into Mbed TLS's own buffer: nothing keeps the view

    def _close_notify(self):
        if self._tls is not None and self._handshaken and not self.closed and not self._notified:
            self._notified = True
            try:
                self._engine_shutdown()
            except Exception:  # noqa: BLE001
                pass
            self._send_pending()

    def write_eof(self):
        self._close_notify()
        super().write_eof()

    def close(self):
        """Close after a close_notify, so the peer sees a clean TLS end, not a truncation."""
        self._close_notify()
        super().close()

    # -- the engine: Mbed TLS --
    def _engine_feed(self, data):
        self._tls.receive_from_network(data)

    def _engine_advance(self):
        """Step the handshake: True once it is over, False while it needs bytes; raises if refused."""
        tls = self._tls
        # One do_handshake() is one Mbed TLS handshake step (python-mbedtls's own
        # socket wrapper loops the same way): step until the handshake is over.
        # WantWrite means a flight is waiting in the output buffer: send it, go on.
        while tls._handshake_state is not mtls.HandshakeStep.HANDSHAKE_OVER:
            try:
                tls.do_handshake()
            except mtls.WantWriteError:
                if not tls.peek_outgoing(1):
                    raise  # nothing to send: no progress is possible, never spin
                self._send_pending()
            except mtls.WantReadError:
                return False
        return True

    def _engine_peer_der(self):
        """The peer's certificate (DER) if the engine verified it, else None."""
        if not self._tls.context.configuration.validate_certificates:  # one sent anyway is not verified
            return None
        try:
            return self._tls.getpeercert(binary_form=True)
        except Exception:  # noqa: BLE001 - no certificate presented
            return None

    def _engine_decrypt(self, tail):
        """Plaintext into ``tail``: bytes read, 0 until a record is complete, -1 once the peer has ended."""
        try:
            return self._tls.readinto(tail, len(tail))
        except (mtls.WantReadError, mtls.WantWriteError):
            return 0
        except mtls.RaggedEOF:
            return -1
        except Exception as e:  # noqa: BLE001
            if getattr(e, "err", None) == _PEER_CLOSE_NOTIFY:
                return -1
            raise

    def _engine_outgoing(self):
        """The next ciphertext to send (b"" when there is none)."""
        data = self._tls.peek_outgoing(16384)
        if data:
            self._tls.consume_outgoing(len(data))
        return data

    def _engine_encrypt(self, view):
        # python-mbedtls encrypts into a 32 KiB ring and cannot say how much of
        # a write went in when that ring fills, so plaintext goes in chunks that
        # always fit an emptied ring.
        for at in range(0, len(view), _WRITE_CHUNK):
            try:
                self._tls.write(view[at:at + _WRITE_CHUNK])
            except (mtls.WantReadError, mtls.WantWriteError):
                self._fail(TlsError("tls write refused"))
                return
            self._send_pending()

    def _engine_shutdown(self):
        self._tls.shutdown()  # close_notify


class SslStream(MbedTlsStream):
    """A listener's Stream over the runtime's ``ssl`` (TLS 1.2 and 1.3), driven like the Mbed TLS one.

    OpenSSL runs on memory BIOs fed from the shared scratch buffer, so the
    gateway awaits and bounds its handshake, and logs a refusal with OpenSSL's
    reason, exactly as for Mbed TLS (asyncio's SSL transport drops a failed
    handshake without a word, and admits a connection only after it). Only
    the engine differs, hence the subclass: to the gateway it is a TLS stream
    like any other.
    """

    __slots__ = ("_in", "_out")

    def connection_made(self, transport):
        ctx, self._ctx = self._ctx.ctx, None  # the holder's current context (a commit swaps it)
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = ctx.wrap_bio(self._in, self._out, server_side=True)  # SNI: the context's own callback
        net.Stream.connection_made(self, transport)

    def buffer_updated(self, nbytes):
        self._pushed(_SCRATCH_VIEW[:nbytes])

    def _engine_feed(self, data):
        self._in.write(data)

    def _engine_advance(self):
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def _engine_peer_der(self):
        return self._tls.getpeercert(binary_form=True)  # only ever asked for, and verified, by the context

    def _engine_decrypt(self, tail):
        try:
            return self._tls.read(len(tail), tail)
        except ssl.SSLWantReadError:
            return 0
        except ssl.SSLZeroReturnError:  # close_notify
            return -1

    def _engine_outgoing(self):
        return self._out.read()

    def _engine_encrypt(self, view):
        try:
            self._tls.write(view)
        except ssl.SSLError as e:
            self._fail(e)
            return
        self._send_pending()

    def _engine_shutdown(self):
        self._tls.unwrap()  # writes close_notify, then wants the peer's: SSLWantReadError


def identity(der):
    """Facts of a verified peer certificate: subject, SANs, SHA-256 fingerprint (hex)."""
    if not der:
        return None
    facts = {"fingerprint_sha256": hashlib.sha256(der).hexdigest(), "subject": "", "sans": []}
    try:
        from mbedtls import x509

        crt = x509.CRT.from_DER(der)
        facts["subject"] = str(crt.subject)
        facts["sans"] = [str(n) for n in (crt.subject_alternative_names or ())]
    except Exception:  # noqa: BLE001 - facts stay the fingerprint only
        pass
    return facts


# ---- contexts -------------------------------------------------------------

def mbedtls_server_context(tls_cfg):
    """A ServerContext for a listener's ``tls`` settings (files read here; TlsError names them)."""
    import mbedtls.tls as mtls
    from mbedtls import pk, x509

    def chain(cert_path, key_path):
        # CRT.from_PEM reads the first certificate only: the file's blocks (the
        # leaf, then its intermediates) are read one by one, so all are sent.
        text = _read(cert_path, "certificate").decode("ascii", "replace")
        begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
        blocks = [b[b.index(begin):] + end for b in text.split(end) if begin in b]
        try:
            if not blocks:
                raise ValueError("no certificate block")
            certs = tuple(x509.CRT.from_PEM(b) for b in blocks)
        except Exception as e:  # noqa: BLE001
            raise TlsError("certificate %s: not a PEM certificate (%s)" % (cert_path, e)) from None
        raw = _read(key_path, "key")
        try:
            key = pk.ECC.from_buffer(raw)
        except Exception:  # noqa: BLE001
            try:
                key = pk.RSA.from_buffer(raw)
            except Exception as e:  # noqa: BLE001
                raise TlsError("key %s: not a PEM EC or RSA private key (%s)" % (key_path, e)) from None
        # Mbed TLS would take a key of another certificate and fail every handshake.
        if certs[0].subject_public_key.export_public_key("DER") != key.export_public_key("DER"):
            raise TlsError("key %s: does not belong to certificate %s" % (key_path, cert_path))
        return (certs, key)

    main = chain(tls_cfg.cert, tls_cfg.key)
    trust = None
    if tls_cfg.client_ca:
        try:
            trust = mtls.TrustStore.from_pem_file(tls_cfg.client_ca)
        except Exception as e:  # noqa: BLE001
            _read(tls_cfg.client_ca, "client CA")
            raise TlsError("client CA %s: %s" % (tls_cfg.client_ca, e)) from None
    by_name = {}
    for entry in tls_cfg.sni:
        c = chain(entry.cert, entry.key)
        for name in entry.names:
            by_name[name.lower()] = c

    required = tls_cfg.client_cert == "required"

    def context(certificate_chain):
        ctx = mtls.ServerContext(mtls.TLSConfiguration(
            certificate_chain=certificate_chain,
            ciphers=[c for c in MBEDTLS_CIPHERS if c in mtls.ciphers_available()],
            lowest_supported_version=mtls.TLSVersion.TLSv1_2,
            highest_supported_version=mtls.TLSVersion.TLSv1_2,
            validate_certificates=required,
            trust_store=trust,
        ))
        _native_settings(ctx, ask_client_cert=required)
        return ctx

    default = context(main)
    if not by_name:
        return default
    return NamedContexts(default, {name: context(c) for name, c in by_name.items()})


# ---- what python-mbedtls 2.10 cannot say ----------------------------------
#
# Its TLSConfiguration maps validate_certificates=False to
# MBEDTLS_SSL_VERIFY_OPTIONAL, with which a server sends a CertificateRequest
# (a browser then wants a client certificate, and headless Chromium fails), and
# it has no curve setting, so Mbed TLS's default list applies: largest curves
# first, secp521r1 whenever a client offers it (about half the handshakes per
# second of P-256). Both are set with Mbed TLS's own functions, called through
# ctypes on the mbedtls_ssl_config that python-mbedtls embeds in its
# configuration object, before any connection uses it.

# Key exchange curves in the server's order of preference (Mbed TLS names).
MBEDTLS_CURVES = ("x25519", "secp256r1", "secp384r1")
_VERIFY_NONE, _VERIFY_OPTIONAL, _VERIFY_REQUIRED = 0, 1, 2  # MBEDTLS_SSL_VERIFY_*
_native = None  # (library, curve list, offset of the mbedtls_ssl_config in a configuration object)
_probes = []  # probe configurations that failed the check are kept: freeing one might crash


def _configuration_of(ctx):
    import gc

    return next(r for r in gc.get_referents(ctx) if type(r).__name__ == "MbedTLSConfiguration")


def _find_native():
    """Load the settings' functions and find, once, where they write in a configuration object.

    The mbedtls_ssl_config is assumed to follow the configuration object's
    ``_configuration`` reference (python-mbedtls's _tls.pxd declares it so);
    that is checked on a probe configuration: setting its authmode to each
    value must change one byte to that value and nothing else, and setting the
    curve list must store the list's address. Raises TlsError otherwise.
    """
    import ctypes

    import mbedtls._tls as _t

    # The extension's own handle: symbols resolve in the Mbed TLS it links (bundled or the system's).
    lib = ctypes.CDLL(_t.__file__)
    try:
        authmode, curves_fn, info = (lib.mbedtls_ssl_conf_authmode, lib.mbedtls_ssl_conf_curves,
                                     lib.mbedtls_ecp_curve_info_from_name)
    except AttributeError as e:
        raise TlsError("python-mbedtls: Mbed TLS function not found (%s); use tls.backend ssl" % e) from None
    authmode.argtypes, authmode.restype = (ctypes.c_void_p, ctypes.c_int), None
    curves_fn.argtypes, curves_fn.restype = (ctypes.c_void_p, ctypes.c_void_p), None
    # mbedtls_ecp_curve_info starts with its mbedtls_ecp_group_id (an enum: an int).
    info.argtypes, info.restype = (ctypes.c_char_p,), ctypes.POINTER(ctypes.c_int)
    ids = [p[0] for p in (info(name.encode()) for name in MBEDTLS_CURVES) if p]
    if not ids:
        raise TlsError("python-mbedtls: none of the curves %s is built in; use tls.backend ssl" % (MBEDTLS_CURVES,))
    curves = (ctypes.c_int * (len(ids) + 1))(*ids)  # ends with MBEDTLS_ECP_DP_NONE (0)

    probe = _configuration_of(mtls.ServerContext(mtls.TLSConfiguration(validate_certificates=False)))
    size, word = type(probe).__basicsize__, ctypes.sizeof(ctypes.c_void_p)
    words = (ctypes.c_void_p * (size // word)).from_address(id(probe))
    try:
        base = (list(words).index(id(probe.configuration)) + 1) * word
    except ValueError:
        raise TlsError("python-mbedtls: configuration layout not recognised; use tls.backend ssl") from None

    def changes(call):
        before = ctypes.string_at(id(probe), size)
        call()
        after = ctypes.string_at(id(probe), size)
        return before, after, [i for i in range(size) if before[i] != after[i]]

    seen = []
    for mode in (_VERIFY_REQUIRED, _VERIFY_NONE, _VERIFY_OPTIONAL):
        _, after, changed = changes(lambda: authmode(id(probe) + base, mode))
        seen.append((changed, [after[i] for i in changed]))
    at = seen[0][0][0] if len(seen[0][0]) == 1 else -1
    before, after, _ = changes(lambda: curves_fn(id(probe) + base, ctypes.addressof(curves)))
    pointer = ctypes.addressof(curves).to_bytes(word, sys.byteorder)
    if seen != [([at], [m]) for m in (_VERIFY_REQUIRED, _VERIFY_NONE, _VERIFY_OPTIONAL)] \
            or pointer in before or pointer not in after:
        _probes.append(probe)
        raise TlsError("python-mbedtls: cannot set authmode and curves (layout check failed); use tls.backend ssl")
    return lib, curves, base


def _native_settings(ctx, ask_client_cert):
    """No CertificateRequest unless ``ask_client_cert``; key exchange on MBEDTLS_CURVES only."""
    global _native
    if _native is None:
        _native = _find_native()
    lib, curves, base = _native
    import ctypes

    address = id(_configuration_of(ctx)) + base
    if not ask_client_cert:
        lib.mbedtls_ssl_conf_authmode(address, _VERIFY_NONE)
    lib.mbedtls_ssl_conf_curves(address, ctypes.addressof(curves))


def ssl_server_context(tls_cfg):
    """A stdlib SSLContext for a listener's ``tls`` settings (TLS 1.2 and 1.3)."""
    def load(ctx, cert, key):
        _read(cert, "certificate")
        _read(key, "key")
        try:
            ctx.load_cert_chain(cert, key)
        except (ssl.SSLError, ValueError) as e:
            raise TlsError("certificate %s / key %s: %s" % (cert, key, e)) from None

    def make():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(SSL_CIPHERS)
        ctx.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
        if tls_cfg.client_ca:
            _read(tls_cfg.client_ca, "client CA")
            ctx.load_verify_locations(tls_cfg.client_ca)
        ctx.verify_mode = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL,
                           "required": ssl.CERT_REQUIRED}[tls_cfg.client_cert]
        return ctx

    main = make()
    load(main, tls_cfg.cert, tls_cfg.key)
    by_name = {}
    for entry in tls_cfg.sni:
        c = make()
        load(c, entry.cert, entry.key)
        for name in entry.names:
            by_name[name.lower()] = c
    if by_name:
        def sni(sslobj, server_name, _ctx):
            c = by_name.get((server_name or "").lower())
            if c is not None:
                sslobj.context = c
        main.sni_callback = sni
    return main


def mbedtls_client_context(ca_path):
    """A ClientContext verifying a backend against ``ca_path`` (the name is pinned per connection)."""
    import mbedtls.tls as mtls

    _read(ca_path, "backend CA")
    try:
        trust = mtls.TrustStore.from_pem_file(ca_path)
    except Exception as e:  # noqa: BLE001
        raise TlsError("backend CA %s: %s" % (ca_path, e)) from None
    return mtls.ClientContext(mtls.TLSConfiguration(
        trust_store=trust,
        validate_certificates=True,
        ciphers=[c for c in MBEDTLS_CIPHERS if c in mtls.ciphers_available()],
        lowest_supported_version=mtls.TLSVersion.TLSv1_2,
        highest_supported_version=mtls.TLSVersion.TLSv1_2,
    ))
