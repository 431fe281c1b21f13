"""Every refused TLS handshake is logged with its reason, by both engines.

Each refusal is a ``tls_refused`` record naming the client's address and port
and why (the TLS library's reason, or "handshake timeout"), and counts in
``tls_handshake_failures`` or ``tls_handshake_timeouts``. The clients are
real: plaintext HTTP sent to the TLS port, a client offering only TLS 1.0,
one without the certificate the listener requires, and one that connects and
says nothing until ``tls.handshake_ms`` (1 s) has passed.
"""

import socket
import ssl
import time

import pytest

from tests import procs
from tests.gateway import wire

from . import tlsutil

HANDSHAKE_MS = 1000

# What each engine's library says (substrings of ``why``, lowercase).
REASONS = {
    "plaintext": {"ssl": "http request", "mbedtls": "processing of the clienthello"},
    "tls1.0": {"ssl": "unsupported protocol", "mbedtls": "not within min/max"},
    "no certificate": {"ssl": "peer did not return a certificate", "mbedtls": "no client certification received"},
}


@pytest.fixture(scope="module", params=tlsutil.BACKENDS)
def gw(request, certs, echo_backend):
    port = procs.free_port()
    ln = tlsutil.tls_listener(port, certs, request.param, client_ca=certs["ca.pem"], client_cert="required",
                              handshake_ms=HANDSHAKE_MS)
    with procs.gateway_listen([ln], tlsutil.route_to(echo_backend.port)) as g:
        g.backend = request.param
        yield g


def refusal_of(g, sock_name, timeout=10.0):
    """The tls_refused record of the connection whose client end was ``sock_name``."""
    peer = "%s:%d" % sock_name[:2]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in g.records():
            if r.get("event") == "tls_refused" and r.get("peer") == peer:
                return r
        time.sleep(0.02)
    raise AssertionError("no tls_refused for %s:\n%s" % (peer, g.output()[-2000:]))


def plaintext(port, certs):
    s = socket.create_connection(("127.0.0.1", port), tlsutil.STEP_S)
    with s:
        s.sendall(wire.request("/"))
        tlsutil.read_until_closed(s, tlsutil.STEP_S)
        return s.getsockname()


def tls10(port, certs):
    why = tlsutil.can_offer(ssl.TLSVersion.TLSv1)
    if why:
        pytest.skip(why)
    raw = socket.create_connection(("127.0.0.1", port), tlsutil.STEP_S)
    with raw:
        name = raw.getsockname()
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tlsutil.old_client_ctx(ssl.TLSVersion.TLSv1).wrap_socket(raw, server_hostname="localhost")
        return name


def no_certificate(port, certs):
    raw = socket.create_connection(("127.0.0.1", port), tlsutil.STEP_S)
    ctx = tlsutil.client_ctx(certs["ca.pem"], maximum=ssl.TLSVersion.TLSv1_2)
    with raw:
        name = raw.getsockname()
        with pytest.raises((ssl.SSLError, ConnectionError)):
            ctx.wrap_socket(raw, server_hostname="localhost")
        return name


CLIENTS = {"plaintext": plaintext, "tls1.0": tls10, "no certificate": no_certificate}


@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_refused_handshake_is_logged_with_its_reason(gw, certs, client):
    name = CLIENTS[client](gw.port, certs)
    rec = refusal_of(gw, name)
    print(gw.backend, client, rec["why"])
    assert REASONS[client][gw.backend] in rec["why"].lower(), rec


def test_a_client_that_says_nothing_is_logged_as_a_handshake_timeout(gw):
    s = socket.create_connection(("127.0.0.1", gw.port), tlsutil.STEP_S)
    with s:
        got, took = tlsutil.read_until_closed(s, tlsutil.STEP_S)
        rec = refusal_of(gw, s.getsockname())
    assert rec["why"] == "handshake timeout", rec
    assert took >= HANDSHAKE_MS / 1000 * 0.9, took


def test_refusals_are_counted_as_failures_and_timeouts(certs, echo_backend):
    for backend in tlsutil.BACKENDS:
        port = procs.free_port()
        ln = tlsutil.tls_listener(port, certs, backend, handshake_ms=HANDSHAKE_MS)
        with procs.gateway_listen([ln], tlsutil.route_to(echo_backend.port)) as g:
            refusal_of(g, plaintext(port, certs))
            s = socket.create_connection(("127.0.0.1", port), tlsutil.STEP_S)
            with s:
                tlsutil.read_until_closed(s, tlsutil.STEP_S)
                refusal_of(g, s.getsockname())
            assert tlsutil.upgrade_and_echo(port, tlsutil.client_ctx(certs["ca.pem"]))["status"] == "101"
            g.stop()
            counters = [r for r in g.records() if r.get("event") == "stopped"][0]["counters"]
        assert counters.get("tls_handshake_failures") == 1, (backend, counters)
        assert counters.get("tls_handshake_timeouts") == 1, (backend, counters)
