"""SNI: one listener, two certificates, chosen by the name the client asks for (both engines).

The default certificate is the dev server's (localhost, 127.0.0.1, ::1); the
``sni`` entry serves "other.test" (same CA). A client asking for
"other.test" gets that certificate and a working WebSocket; one asking for
localhost, for a name the listener does not know, or for no name, gets the
default.
"""

import ssl

import pytest

from tests import procs

from . import tlsutil


@pytest.fixture(scope="module", params=tlsutil.BACKENDS)
def gw(request, certs, echo_backend):
    port = procs.free_port()
    sni = [{"names": ["other.test", "alias.other.test"], "cert": certs["other-test.pem"],
            "key": certs["other-test.key"]}]
    with procs.gateway_listen([tlsutil.tls_listener(port, certs, request.param, sni=sni)],
                              tlsutil.route_to(echo_backend.port)) as g:
        g.backend = request.param
        yield g
        assert "session_error" not in g.output()


def test_a_client_asking_for_other_test_gets_its_certificate_and_an_echo(gw, certs):
    facts = tlsutil.upgrade_and_echo(gw.port, tlsutil.client_ctx(certs["ca.pem"]), "other.test", b"sni")
    assert facts["status"] == "101" and facts["echo"][2] == b"sni", facts
    assert tlsutil.san_names(facts["peer_der"]) == (["other.test"], "other.test")
    assert facts["peer_der"] == certs.pem_der("other-test.pem")


def test_names_match_case_insensitively_and_every_name_of_an_entry_counts(gw, certs):
    ctx = tlsutil.client_ctx(certs["ca.pem"])
    ctx.check_hostname = False  # the certificate names other.test only; the choice is what is checked
    for name in ("OTHER.Test", "alias.other.test"):
        with tlsutil.tls_connect(gw.port, ctx, name) as s:
            assert s.getpeercert(binary_form=True) == certs.pem_der("other-test.pem"), name


@pytest.mark.parametrize("name", ["localhost", "unknown.example", None], ids=["localhost", "unknown", "no-sni"])
def test_other_names_and_no_name_get_the_default_certificate(gw, certs, name):
    ctx = tlsutil.client_ctx(certs["ca.pem"])
    if name != "localhost":
        ctx.check_hostname = False
    with tlsutil.tls_connect(gw.port, ctx, name) as s:
        der = s.getpeercert(binary_form=True)
    names, cn = tlsutil.san_names(der)
    assert "localhost" in names and "127.0.0.1" in names and cn == "localhost", (names, cn)
    assert der == certs.pem_der("server.pem")


def test_a_client_verifying_other_test_against_the_default_certificate_would_fail(gw, certs):
    # Control: hostname checking is live, so the pass above is the certificate switch.
    ctx = tlsutil.client_ctx(certs["ca.pem"])
    with pytest.raises(ssl.SSLCertVerificationError):
        tlsutil.tls_connect(gw.port, ctx, "nothing.test").close()


def test_the_sni_name_is_read_from_a_real_client_hello_only_once_its_first_record_is_complete():
    from edgegate.gateway.tls import client_hello_name

    hello = tlsutil.client_hello("Other.Test")
    for cut in (0, 4, 5, 100, len(hello) - 1):
        assert client_hello_name(hello[:cut]) == (False, None), cut
    assert client_hello_name(hello) == (True, "Other.Test")
    assert client_hello_name(tlsutil.client_hello(None)) == (True, None)
    assert client_hello_name(b"GET / HTTP/1.1\r\n\r\n") == (True, None)
    assert client_hello_name(b"\x16\x03\x01\xff\xff") == (True, None)  # a record too long to hold
