"""TLS figures: handshake rates and the memory a TLS session costs on top of a plain one.

    .venv/bin/python -m bench.tls [--seconds 3] [--conns 500]
    .venv/bin/python -m bench.tls --ciphers

1. Full TLS handshakes per second against one gateway process (TCP connect,
   handshake, close; no session resumption), sequential and with 8 concurrent
   client threads, for the mbedtls engine (TLS 1.2) and the ssl engine (TLS 1.3,
   and capped at TLS 1.2). The clients run on the same machine (stdlib ssl,
   which releases the GIL while handshaking), so the figures are a floor.
2. ``--ciphers``: the cost of one 4 KiB record (encrypt + decrypt) for each
   AEAD cipher edgegate offers, python-mbedtls buffers in one process (no
   sockets): why ChaCha20-Poly1305 is the server's first choice.
3. The gateway's RSS (/proc/PID/smaps_rollup) per idle WebSocket session
   (a client connection and its backend connection) at N sessions, over a
   plaintext listener and over each TLS engine; and per unfinished TLS
   handshake (a client that sent nothing, or part of a ClientHello).
"""

import argparse
import asyncio
import os
import resource
import socket
import ssl
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests import procs  # noqa: E402
from tests.gateway import wire  # noqa: E402
from tests.tls import tlsutil  # noqa: E402


class _Certs:
    def __init__(self, d):
        self.dir = d

    def __getitem__(self, name):
        return os.path.join(self.dir, name)


def rss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Rss:"):
                return int(line.split()[1])
    raise RuntimeError("no Rss in smaps_rollup")


def handshakes(port, ctx, seconds, threads):
    """Completed handshakes per second with ``threads`` clients looping for ``seconds``."""
    stop = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads

    def loop(i):
        while time.monotonic() < stop:
            try:
                raw = socket.create_connection(("127.0.0.1", port), 5)
                with ctx.wrap_socket(raw, server_hostname="localhost"):
                    counts[i] += 1
            except OSError:
                errors[i] += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.monotonic() - t0
    return sum(counts) / took, sum(errors)


async def _open_sessions(port, n, ctx):
    conns = []
    for i in range(n):
        if ctx is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
        writer.write(wire.request("/", host="localhost"))
        status, _ = await wire.read_head(reader)
        assert status == 101, status
        conns.append((reader, writer))
    # Each one relays a frame, so every session has been through its pumps once.
    for reader, writer in conns:
        writer.write(wire.frame(wire.OP_TEXT, b"x"))
    for reader, writer in conns:
        assert (await wire.read_frame(reader))[2] == b"x"
    return conns


def idle_memory(certs, echo_port, kind, n):
    """(RSS before, RSS with n idle sessions, KiB per session) of one gateway."""
    port = procs.free_port()
    if kind == "plaintext":
        ln, ctx = {"host": "127.0.0.1", "port": port, "plaintext": True}, None
    else:
        ln, ctx = tlsutil.tls_listener(port, certs, kind), tlsutil.client_ctx(certs["ca.pem"])
    with procs.gateway_listen([ln], tlsutil.route_to(echo_port), log_level="warn") as g:
        # One session first, so lazily imported code and first-use buffers are not counted per session.
        async def warm():
            conns = await _open_sessions(port, 2, ctx)
            for _, w in conns:
                w.close()
        asyncio.run(warm())
        time.sleep(0.5)
        before = rss_kib(g.p.pid)
        result = {}

        async def hold():
            conns = await _open_sessions(port, n, ctx)
            await asyncio.sleep(1.0)
            result["after"] = rss_kib(g.p.pid)
            for _, w in conns:
                w.close()

        asyncio.run(hold())
    after = result["after"]
    return before, after, (after - before) / n


def pending_memory(certs, echo_port, kind, n, hello_bytes):
    """(RSS before, RSS with n unfinished handshakes, KiB each): TCP open, ``hello_bytes`` of a ClientHello sent."""
    port = procs.free_port()
    ln = tlsutil.tls_listener(port, certs, kind, handshake_ms=60000)
    hello = tlsutil.client_hello()[:hello_bytes]
    with procs.gateway_listen([ln], tlsutil.route_to(echo_port), log_level="warn") as g:
        time.sleep(0.5)
        before = rss_kib(g.p.pid)
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), 5)
            if hello:
                s.sendall(hello)
            socks.append(s)
        time.sleep(1.0)
        after = rss_kib(g.p.pid)
        for s in socks:
            s.close()
    return before, after, (after - before) / n


def _buffer_pair(certs, cipher):
    """A handshaken (client, server) pair of python-mbedtls buffers that agreed on ``cipher``."""
    import mbedtls.tls as mtls
    from mbedtls import pk, x509

    pem = open(certs["server.pem"]).read()
    end = "-----END CERTIFICATE-----"
    cert = x509.CRT.from_PEM(pem.split(end)[0] + end)
    key = pk.ECC.from_buffer(open(certs["server.key"], "rb").read())
    v12 = dict(lowest_supported_version=mtls.TLSVersion.TLSv1_2, highest_supported_version=mtls.TLSVersion.TLSv1_2)
    srv = mtls.ServerContext(mtls.TLSConfiguration(certificate_chain=((cert,), key), ciphers=[cipher],
                                                   validate_certificates=False, **v12))
    cli = mtls.ClientContext(mtls.TLSConfiguration(trust_store=mtls.TrustStore.from_pem_file(certs["ca.pem"]),
                                                   ciphers=[cipher], **v12))
    s, c = srv.wrap_buffers(), cli.wrap_buffers("localhost")
    over = mtls.HandshakeStep.HANDSHAKE_OVER
    for _ in range(50):
        for a, b in ((c, s), (s, c)):
            if a._handshake_state is not over:
                try:
                    a.do_handshake()
                except (mtls.WantReadError, mtls.WantWriteError):
                    pass
            out = a.peek_outgoing(65536)
            if out:
                a.consume_outgoing(len(out))
                b.receive_from_network(out)
        if c._handshake_state is over and s._handshake_state is over:
            return c, s
    raise RuntimeError("no handshake with %s" % cipher)


def cipher_costs(certs, n=3000, size=4096):
    """[(cipher, us per record encrypted by one side and decrypted by the other)], median of 5."""
    from edgegate.gateway.tls import MBEDTLS_CIPHERS

    msg = os.urandom(size)
    buf = bytearray(2 * size)
    out = []
    for cipher in MBEDTLS_CIPHERS:
        if "-RSA-" in cipher:
            continue  # the dev certificate is ECDSA; the RSA suites use the same record ciphers
        c, s = _buffer_pair(certs, cipher)
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                c.write(msg)
                data = c.peek_outgoing(65536)
                c.consume_outgoing(len(data))
                s.receive_from_network(data)
                if s.readinto(buf, len(buf)) != size:
                    raise RuntimeError("short read")
            runs.append((time.perf_counter() - t0) / n * 1e6)
        out.append((cipher, sorted(runs)[2]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--conns", type=int, default=500)
    ap.add_argument("--ciphers", action="store_true", help="only the record cost of each cipher")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    d = tempfile.mkdtemp(prefix="measure-tls-")
    from edgegate.tools.certs import make_dev_certs

    make_dev_certs(d)
    certs = _Certs(d)
    import mbedtls

    print("machine: %d CPUs, Python %s, %s, python-mbedtls %s (%s)"
          % (os.cpu_count(), sys.version.split()[0], ssl.OPENSSL_VERSION, mbedtls.__version__,
             mbedtls.version.version))
    print("certificates: ECDSA P-256 (edgegate certs dev); clients: stdlib ssl, full handshakes")
    print()
    print("one 4 KiB record, encrypted and decrypted (python-mbedtls buffers, one process, median of 5)")
    for cipher, us in cipher_costs(certs):
        print("  %-48s %6.1f us" % (cipher, us))
    print()
    if args.ciphers:
        return
    print("TLS handshakes/s against one gateway process (%.0f s each)" % args.seconds)
    print("%-24s %12s %14s" % ("engine", "sequential", "8 concurrent"))
    with procs.echo() as be:
        for engine, maximum, label in (("mbedtls", None, "mbedtls (TLS 1.2)"),
                                       ("ssl", None, "ssl (TLS 1.3)"),
                                       ("ssl", ssl.TLSVersion.TLSv1_2, "ssl (TLS 1.2)")):
            port = procs.free_port()
            with procs.gateway_listen([tlsutil.tls_listener(port, certs, engine)], tlsutil.route_to(be.port),
                                      log_level="warn") as g:
                ctx = tlsutil.client_ctx(certs["ca.pem"], maximum=maximum)
                with tlsutil.tls_connect(port, ctx) as s:
                    version, cipher = s.version(), s.cipher()[0]
                seq, e1 = handshakes(port, ctx, args.seconds, 1)
                conc, e2 = handshakes(port, ctx, args.seconds, 8)
                alive = g.p.poll() is None
            print("%-24s %12.0f %14.0f   %s %s%s%s" % (label, seq, conc, version, cipher,
                                                      "" if not (e1 or e2) else "  errors %d/%d" % (e1, e2),
                                                      "" if alive else "  GATEWAY DIED"))
        print()
        print("gateway RSS with %d idle WebSocket sessions (client + backend connection each)" % args.conns)
        print("%-12s %12s %12s %18s" % ("listener", "RSS before", "RSS after", "KiB per session"))
        plain = None
        for kind in ("plaintext", "mbedtls", "ssl"):
            before, after, per = idle_memory(certs, be.port, kind, args.conns)
            extra = "" if plain is None else "   (+%.1f KiB over plaintext)" % (per - plain)
            if plain is None:
                plain = per
            print("%-12s %9d KiB %9d KiB %15.1f%s" % (kind, before, after, per, extra))
        print()
        print("gateway RSS with %d unfinished TLS handshakes (mbedtls listeners count them against"
              " limits.max_conns; tls.handshake_ms bounds their life)" % args.conns)
        print("%-12s %-22s %12s %12s %14s" % ("listener", "client sent", "RSS before", "RSS after", "KiB each"))
        for kind in ("mbedtls", "ssl"):
            for hello_bytes, what in ((0, "nothing"), (100, "100 B of ClientHello")):
                before, after, per = pending_memory(certs, be.port, kind, args.conns, hello_bytes)
                print("%-12s %-22s %8d KiB %8d KiB %14.1f" % (kind, what, before, after, per))


if __name__ == "__main__":
    main()
