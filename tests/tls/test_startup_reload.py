"""TLS files at start and at a reload.

At start: a missing or unreadable certificate or key (or one that is not
PEM, or a key of another certificate) makes ``edgegate run`` exit 2 with a
message naming the file, and the port is never opened, in plaintext or
otherwise. At a reload (``Gateway.apply`` in-process, what a console commit
calls): the certificate files are rotated on disk under the same paths (a
new certificate from another CA); live connections keep echoing, and new
ones get the new certificate.
"""

import asyncio
import json
import os
import shutil
import socket
import ssl
import tempfile
import time

import pytest

from tests import procs

from . import tlsutil


def _never_listens_and_exits(argv, port, timeout=20.0):
    """Run ``argv``; poll the port while it runs. Returns (returncode, output, accepted connections)."""
    p = procs.Proc(argv)
    accepted = 0
    deadline = time.monotonic() + timeout
    try:
        while p.p.poll() is None:
            assert time.monotonic() < deadline, "still running after %.0fs:\n%s" % (timeout, p.output())
            try:
                with socket.create_connection(("127.0.0.1", port), 0.1):
                    accepted += 1
            except OSError:
                pass
            time.sleep(0.02)
    finally:
        code = p.stop()
    try:
        with socket.create_connection(("127.0.0.1", port), 0.1):
            accepted += 1
    except OSError:
        pass
    return code, p.output(), accepted


def _broken(certs, d, what):
    """(cert path, key path, the path the message must name) for one kind of broken file."""
    cert, key = certs["server.pem"], certs["server.key"]
    if what == "missing cert":
        return os.path.join(d, "nope.pem"), key, os.path.join(d, "nope.pem")
    if what == "missing key":
        return cert, os.path.join(d, "nope.key"), os.path.join(d, "nope.key")
    if what == "unreadable key (a directory)":
        k = os.path.join(d, "dir.key")
        os.mkdir(k)
        return cert, k, k
    if what == "cert not PEM":
        c = os.path.join(d, "garbage.pem")
        with open(c, "w") as f:
            f.write("this is not a certificate\n")
        return c, key, c
    if what == "key of another certificate":
        return cert, certs["other-test.key"], certs["other-test.key"]
    raise AssertionError(what)


BROKEN = ["missing cert", "missing key", "unreadable key (a directory)", "cert not PEM", "key of another certificate"]


@pytest.mark.parametrize("what", BROKEN)
@pytest.mark.parametrize("backend", tlsutil.BACKENDS)
def test_a_bad_certificate_or_key_stops_run_with_exit_2_naming_the_file_and_nothing_listens(certs, backend,
                                                                                             what):
    d = tempfile.mkdtemp(prefix="tls-broken-")
    cert, key, named = _broken(certs, d, what)
    port = procs.free_port()
    doc = {"listen": [{"host": "127.0.0.1", "port": port, "tls": {"backend": backend, "cert": cert, "key": key}}],
           "routes": tlsutil.route_to(9)}
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    code, out, accepted = _never_listens_and_exits(
        [procs.PY, "-m", "edgegate", "run", "--config", path, "--console", "none"], port)
    print("%s, %s: exit %s: %s" % (backend, what, code, out.strip().splitlines()[-1:]))
    assert code == 2, out
    assert named in out, out
    assert accepted == 0
    assert '"event": "listening"' not in out


# ---- hot reload, in-process ------------------------------------------------

def _config(doc):
    from edgegate.cli import load_board
    from edgegate.config import parse

    return parse(doc, load_board("sim"))


from tests.logsink import LogSink as _Sink


async def _echo_once(ws, msg):
    await ws.send(msg)
    got = await asyncio.wait_for(ws.recv(), 5)
    assert got == msg
    return got


@pytest.mark.parametrize("backend", tlsutil.BACKENDS)
def test_rotated_certificate_files_serve_new_connections_after_apply_while_live_ones_keep_echoing(
        certs, echo_backend, backend):
    import websockets

    from edgegate.gateway.log import Log
    from edgegate.gateway.server import Gateway

    d = tempfile.mkdtemp(prefix="tls-rotate-")
    live_cert, live_key = os.path.join(d, "live.pem"), os.path.join(d, "live.key")
    shutil.copy(certs["server.pem"], live_cert)
    shutil.copy(certs["server.key"], live_key)
    port = procs.free_port()
    doc = {"listen": [{"host": "127.0.0.1", "port": port,
                       "tls": {"backend": backend, "cert": live_cert, "key": live_key}}],
           "routes": tlsutil.route_to(echo_backend.port)}
    old_ca = tlsutil.client_ctx(certs["ca.pem"])
    new_ca = tlsutil.client_ctx(certs["rot-ca.pem"])
    url = "wss://localhost:%d/" % port

    async def peer_der(ctx, name="localhost"):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=name)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        return der

    async def main():
        sink = _Sink()
        gw = Gateway(_config(doc), Log("info", sink=sink))
        await gw.start()
        try:
            async with websockets.connect(url, ssl=old_ca, open_timeout=5) as live:
                await _echo_once(live, "before")
                assert await peer_der(old_ca) == certs.pem_der("server.pem")

                # Rotate under the same paths: a certificate from another CA.
                shutil.copy(certs["rot-server.pem"], live_cert)
                shutil.copy(certs["rot-server.key"], live_key)
                await gw.apply(_config(doc))
                assert [r for r in sink.records() if r["event"] == "config_not_applied"] == []

                for i in range(5):
                    await _echo_once(live, "still here %d" % i)
                assert await peer_der(new_ca) == certs.pem_der("rot-server.pem")
                no_sni = tlsutil.client_ctx(certs["rot-ca.pem"])
                no_sni.check_hostname = False
                assert await peer_der(no_sni, "") == certs.pem_der("rot-server.pem")  # no name sent
                async with websockets.connect(url, ssl=new_ca, open_timeout=5) as fresh:
                    await _echo_once(fresh, "new certificate")
                    await _echo_once(live, "both at once")
                with pytest.raises(ssl.SSLCertVerificationError):
                    await peer_der(old_ca)  # the old certificate is no longer served
                await _echo_once(live, "after")
        finally:
            await gw.stop()
        return sink

    sink = asyncio.run(main())
    assert not any(r["event"] == "session_error" for r in sink.records())


def test_a_reload_with_a_missing_key_is_refused_and_the_old_certificate_stays(certs, echo_backend):
    from edgegate.gateway.log import Log
    from edgegate.gateway.server import Gateway

    port = procs.free_port()
    doc = {"listen": [tlsutil.tls_listener(port, certs, "mbedtls")], "routes": tlsutil.route_to(echo_backend.port)}
    bad = json.loads(json.dumps(doc))
    bad["listen"][0]["tls"]["key"] = os.path.join(tempfile.mkdtemp(), "gone.key")

    async def main():
        sink = _Sink()
        gw = Gateway(_config(doc), Log("info", sink=sink))
        await gw.start()
        try:
            assert await gw.apply(_config(bad)) == 0
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tlsutil.client_ctx(certs["ca.pem"]),
                                                           server_hostname="localhost")
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            writer.close()
        finally:
            await gw.stop()
        return sink, der

    sink, der = asyncio.run(main())
    refused = [r for r in sink.records() if r["event"] == "config_not_applied"]
    assert len(refused) == 1 and "gone.key" in refused[0]["why"], refused
    assert der == certs.pem_der("server.pem")
