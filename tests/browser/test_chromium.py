"""A real browser through the gateway: headless Chromium opens wss:// from a page on loopback.

For each TLS engine (``mbedtls``, ``ssl``), a gateway with the dev server
certificate fronts edgegate's echo on a route whose ``origins`` list one page
server's origin. A page from that origin opens ``wss://localhost:PORT/``,
sends a text and a binary message and gets both back unchanged; a page from
another origin (another loopback port) sees its WebSocket fail, and the
gateway logs the upgrade refused with 403 for its Origin. Skipped only where
Debian's ``chromium`` is not installed (``.ci/run`` installs it).
"""

import http.server
import json
import subprocess
import threading

import pytest

from tests import procs
from tests.tls import tlsutil

from . import cdp

pytestmark = pytest.mark.skipif(cdp.binary() is None, reason="Debian's chromium is not installed (apt-get install "
                                                               "chromium; .ci/run does)")

PAGE = b"<!doctype html><title>edgegate</title><p>wss test page</p>"
BINARY = list(range(256)) + [0, 0, 255]

# Sends text, then binary, reads both echoes, closes; every wait is bounded in the page.
ECHO_JS = r"""
(async (url, binary) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  let opened = false, waiting = null;
  const got = [];
  const next = (what) => new Promise((resolve, reject) => {
    waiting = {resolve, reject};
    setTimeout(() => reject(new Error("no " + what + " within 10 s")), 10000);
  });
  ws.onopen = () => { opened = true; waiting.resolve(); };
  ws.onmessage = (e) => { got.push(e.data); waiting.resolve(); };
  ws.onclose = (e) => waiting.reject(new Error("closed " + e.code));
  try {
    await next("open");
    ws.send("hello through edgegate");
    ws.send(new Uint8Array(binary));
    while (got.length < 2) await next("echo");
    ws.close(1000);
    return {opened, text: got[0], binary: Array.from(new Uint8Array(got[1]))};
  } catch (e) {
    return {opened, error: String(e)};
  }
})(%s, %s)
"""


class PageServer:
    """An HTTP server on a loopback port serving PAGE; its origin is http://127.0.0.1:PORT."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Certs:
    def __init__(self, d):
        self.dir = str(d)

    def __getitem__(self, name):
        return "%s/%s" % (self.dir, name)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser-certs")
    run = subprocess.run([procs.PY, "-m", "edgegate", "certs", "dev", str(d)], cwd=procs.ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return Certs(d)


@pytest.fixture(scope="module")
def pages():
    allowed, foreign = PageServer(), PageServer()
    yield allowed, foreign
    allowed.close()
    foreign.close()


@pytest.fixture(scope="module")
def chromium(certs):
    browser = cdp.Chromium(cdp.spki_pin(certs["server.pem"]))
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def echo_backend():
    with procs.echo() as be:
        yield be


@pytest.fixture(scope="module", params=tlsutil.BACKENDS)
def gw(request, certs, echo_backend, pages):
    allowed, _ = pages
    port = procs.free_port()
    route = {"path": "/", "backend": {"url": "ws://127.0.0.1:%d" % echo_backend.port}, "origins": [allowed.origin]}
    with procs.gateway_listen([tlsutil.tls_listener(port, certs, request.param)], [route]) as g:
        g.backend = request.param
        yield g
        assert "session_error" not in g.output()


def echo_from(chromium, page, gw):
    url = "wss://localhost:%d/" % gw.port
    return chromium.run_in_page(page.origin + "/", ECHO_JS % (json.dumps(url), json.dumps(BINARY)))


def test_a_page_from_an_allowed_origin_gets_text_and_binary_echoed_over_wss(chromium, pages, gw):
    allowed, _ = pages
    got = echo_from(chromium, allowed, gw)
    assert got == {"opened": True, "text": "hello through edgegate", "binary": BINARY}, (gw.backend, got,
                                                                                        gw.output()[-2000:])
    opened = procs.wait_record(gw, "session_open")
    assert opened.get("client_cert") is None, opened


def test_a_page_from_a_foreign_origin_is_refused_with_403(chromium, pages, gw):
    _, foreign = pages
    got = echo_from(chromium, foreign, gw)
    assert got["opened"] is False and "closed 1006" in got["error"], (gw.backend, got)
    refused = procs.wait_record(gw, "reject")
    assert refused["status"] == 403 and "origin" in refused["why"], refused
