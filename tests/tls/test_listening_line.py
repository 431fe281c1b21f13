"""The ``listening`` log line says, per bound address, whether it is TLS (which engine, which
client-certificate mode) or plaintext: an operator reading the log sees what the box serves."""

from tests import procs


def test_listening_line_says_tls_or_plaintext_per_address(certs, echo_backend):
    tls_port, mtls_port, plain_port = procs.free_port(), procs.free_port(), procs.free_port()
    listen = [
        {"host": "127.0.0.1", "port": tls_port, "tls": {"cert": certs["server.pem"], "key": certs["server.key"]}},
        {"host": "127.0.0.1", "port": mtls_port,
         "tls": {"backend": "ssl", "cert": certs["server.pem"], "key": certs["server.key"],
                 "client_cert": "required", "client_ca": certs["ca.pem"]}},
        {"host": "127.0.0.1", "port": plain_port, "plaintext": True},
    ]
    routes = [{"path": "/", "backend": {"url": "ws://127.0.0.1:%d/" % echo_backend.port}}]
    g = procs.gateway_listen(listen, routes)
    try:
        line = [r for r in g.records() if r["event"] == "listening"][0]
        assert line["carried"] == {
            "127.0.0.1:%d" % tls_port: "tls mbedtls, client_cert none",
            "127.0.0.1:%d" % mtls_port: "tls ssl, client_cert required",
            "127.0.0.1:%d" % plain_port: "plaintext",
        }
    finally:
        g.stop()
