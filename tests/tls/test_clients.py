"""Real TLS clients against a TLS listener, for both engines (mbedtls and ssl).

Stdlib ssl with hand-built upgrade bytes, the websockets library over wss,
Node's ws package over wss, and ``openssl s_client``: each verifies the dev
server certificate against ca.pem and gets its frames echoed. Mbed TLS 2.28
negotiates TLS 1.2; the ssl engine offers TLS 1.3 as well. Every suite is
ECDHE with an AEAD cipher (GCM or ChaCha20-Poly1305).
"""

import asyncio
import json
import os
import re
import shutil
import ssl
import subprocess
import time

import pytest

from tests import procs
from tests.gateway import wire

from . import tlsutil

NODE_DIR = os.path.join(procs.ROOT, "tests", "node")
AEAD = re.compile(r"(GCM|CHACHA20)")


def test_stdlib_ssl_client_upgrades_and_gets_a_frame_echoed(gw, certs):
    facts = tlsutil.upgrade_and_echo(gw.port, tlsutil.client_ctx(certs["ca.pem"]), payload=b"\x00\x01raw tls")
    assert facts["status"] == "101", facts
    assert facts["echo"] == (True, wire.OP_BINARY, b"\x00\x01raw tls")
    assert facts["peer_der"] == certs.pem_der("server.pem")
    if gw.backend == "mbedtls":
        assert facts["version"] == "TLSv1.2", facts
        assert facts["cipher"].startswith("ECDHE-") and AEAD.search(facts["cipher"]), facts
    else:
        assert facts["version"] == "TLSv1.3", facts  # TLS 1.3 suites are all (EC)DHE + AEAD


def test_stdlib_ssl_client_limited_to_tls12_gets_an_ecdhe_aead_suite(gw, certs):
    ctx = tlsutil.client_ctx(certs["ca.pem"], maximum=ssl.TLSVersion.TLSv1_2)
    facts = tlsutil.upgrade_and_echo(gw.port, ctx)
    assert facts["status"] == "101" and facts["version"] == "TLSv1.2", facts
    assert facts["cipher"].startswith("ECDHE-") and AEAD.search(facts["cipher"]), facts


def test_websockets_library_over_wss_echoes_text_binary_a_fragmented_mebibyte_and_the_close_code(gw, certs):
    import websockets

    async def main():
        ctx = tlsutil.client_ctx(certs["ca.pem"])
        url = "wss://localhost:%d/" % gw.port
        async with websockets.connect(url, ssl=ctx, max_size=None, compression=None, open_timeout=5,
                                      close_timeout=5) as ws:
            await ws.send("héllo über wss ✓")
            assert await asyncio.wait_for(ws.recv(), 5) == "héllo über wss ✓"
            await ws.send(bytes(range(256)) * 4)
            assert await asyncio.wait_for(ws.recv(), 5) == bytes(range(256)) * 4
            big = bytes((i * 31 + 7) & 0xFF for i in range(1 << 20))
            chunk = wire.MAX_FRAME
            await ws.send([big[at:at + chunk] for at in range(0, len(big), chunk)])  # 16 frames
            got = await asyncio.wait_for(ws.recv(), 10)
            assert len(got) == len(big) and got == big
            await ws.close(4321, "tls bye")
        assert ws.close_code == 4321 and ws.close_reason == "tls bye"

    asyncio.run(main())


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_ws_client_over_wss_verifies_the_ca_and_gets_everything_back(gw, certs):
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "ws")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       capture_output=True, timeout=120)
    run = subprocess.run(["node", os.path.join(NODE_DIR, "wss_client.mjs"), "wss://127.0.0.1:%d/" % gw.port,
                          certs["ca.pem"], "localhost"], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip(), run.stderr
    out = json.loads(run.stdout)
    assert run.returncode == 0, out
    assert out["authorized"] is True
    assert out["protocol"] == ("TLSv1.2" if gw.backend == "mbedtls" else "TLSv1.3"), out
    assert AEAD.search(out["cipher"]["standardName"].replace("_", "-").upper()) or \
        AEAD.search(out["cipher"]["name"].upper()), out["cipher"]
    assert out["text"] == {"binary": False, "data": "nöde über wss ✓"}
    assert out["binary"]["binary"] is True and out["binary"]["sha"] == out["binary"]["sent_sha"]
    assert out["big"]["bytes"] == 1 << 20 and out["big"]["sha"] == out["big"]["sent_sha"]
    assert out["close"] == {"code": 4000, "reason": "node bye"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI is not installed")
def test_openssl_s_client_tls12_verifies_and_negotiates_ecdhe_with_aead(gw, certs):
    run = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % gw.port, "-tls1_2",
                          "-CAfile", certs["ca.pem"], "-servername", "localhost", "-verify_hostname", "localhost"],
                         input="", capture_output=True, text=True, timeout=20)
    out = run.stdout
    assert "Verify return code: 0 (ok)" in out, out[-3000:] + run.stderr
    m = re.search(r"^\s*Cipher\s*:\s*(\S+)", out, re.M)
    assert m, out[-3000:]
    assert m.group(1).startswith("ECDHE-") and AEAD.search(m.group(1)), m.group(1)
    assert re.search(r"^\s*Protocol\s*:\s*TLSv1\.2", out, re.M), out[-3000:]


@pytest.mark.parametrize("backend", tlsutil.BACKENDS)
def test_a_certificate_file_with_an_intermediate_sends_the_chain_to_a_client_trusting_only_the_root(
        certs, echo_backend, backend):
    port = procs.free_port()
    ln = tlsutil.tls_listener(port, certs, backend, cert=certs["chain-server.pem"], key=certs["chain-server.key"])
    with procs.gateway_listen([ln], tlsutil.route_to(echo_backend.port)):
        facts = tlsutil.upgrade_and_echo(port, tlsutil.client_ctx(certs["chain-root.pem"]), payload=b"chained")
    assert facts["status"] == "101" and facts["echo"][2] == b"chained", facts
    assert tlsutil.issuer_cn(facts["peer_der"]) == "edgegate intermediate CA"


def test_a_close_frame_and_close_notify_in_one_write_still_deliver_the_close_code(gw, certs):
    # The last frame and the TLS close_notify often share a segment; the
    # frame must be relayed before the orderly TLS end counts as EOF.
    c = tlsutil.MemoryClient(gw.port, tlsutil.client_ctx(certs["ca.pem"]))
    try:
        c.obj.write(wire.request("/", host="localhost"))
        c.flush()
        head = c.read(lambda b: b"\r\n\r\n" in b)
        assert head.startswith(b"HTTP/1.1 101"), head[:60]
        c.obj.write(wire.frame(wire.OP_CLOSE, wire.close_payload(4000, "notify")))
        try:
            c.obj.unwrap()  # close_notify, queued behind the close frame
        except ssl.SSLWantReadError:
            pass
        c.flush()  # both records in one write
        c.read(lambda b: False)
    finally:
        c.close()

    def ended():
        return [r for r in gw.records() if r.get("event") == "session_end" and r.get("client_close") == 4000]

    deadline = time.monotonic() + 5
    while not ended() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ended(), gw.output()[-1500:]


def test_a_client_ending_with_close_notify_leaves_only_json_lines_in_the_log(gw, certs):
    s = tlsutil.tls_connect(gw.port, tlsutil.client_ctx(certs["ca.pem"]))
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # half a request, then an orderly TLS end
    try:
        s.unwrap()  # close_notify; the gateway may close without its own
    except (ssl.SSLError, OSError):
        pass
    s.close()
    facts = tlsutil.upgrade_and_echo(gw.port, tlsutil.client_ctx(certs["ca.pem"]))  # the gateway goes on
    assert facts["status"] == "101"
    stray = [line for line in gw.output().splitlines() if line.strip() and not line.startswith("{")]
    assert stray == [], stray
