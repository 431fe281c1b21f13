"""The Autobahn fuzzingclient cases through a wss listener (Mbed TLS engine).

kosoku drives ws:// only (its address is HOST:PORT), so two gateways are
chained: kosoku -> edgegate A (plaintext listener) -> wss:// backend =
edgegate B (TLS listener, backend mbedtls, verified against ca.pem as
localhost) -> edgegate's echo. Every case's bytes cross B's TLS listener
and A's wss client. Sections 1-7, 9 and 10 must have no FAILED case; the
counts per verdict are printed (pytest -s).
"""

import os
import subprocess
import tempfile
import time

import pytest

from tests import procs
from tests.conformance import test_autobahn as ab

from . import tlsutil

pytestmark = ab.pytestmark

LIMITS = dict(ab.BIG, max_conns=16)


def test_fuzzingclient_cases_through_a_wss_listener_never_fail(certs):
    out = tempfile.mkdtemp(prefix="autobahn-wss-")
    b_port = procs.free_port()
    a_port = procs.free_port()
    with procs.echo(max_message_bytes=ab.BIG["max_message_bytes"]) as echo, \
            procs.gateway_listen([tlsutil.tls_listener(b_port, certs, "mbedtls")], tlsutil.route_to(echo.port),
                                 limits=LIMITS, log_level="warn") as b, \
            procs.gateway_listen([{"host": "127.0.0.1", "port": a_port, "plaintext": True}],
                                 [{"path": "/", "backend": {"url": "wss://127.0.0.1:%d" % b_port,
                                                            "tls": {"ca": certs["ca.pem"],
                                                                    "server_name": "localhost"}}}],
                                 limits=LIMITS, log_level="warn") as a:
        args = [ab._kosoku(), "-m", "fuzzingclient", "-o", out, "-p", "4"]
        for s in ab.SECTIONS:
            args += ["-i", s]
        t0 = time.monotonic()
        run = subprocess.run(args + ["127.0.0.1:%d" % a_port], capture_output=True, text=True, timeout=300)
        took = time.monotonic() - t0
        verdicts = ab._verdicts(os.path.join(out, "index.json"))
        failed = sorted(c for c, v in verdicts.items() if v == "FAILED")
        others = {c: v for c, v in verdicts.items() if v != "OK"}
        print("\nautobahn fuzzingclient via edgegate -> wss (mbedtls) -> edgegate: %d cases in %.1fs: %s"
              % (len(verdicts), took, ab._summary(verdicts)))
        print("not OK:", others)
        assert len(verdicts) >= 290, run.stdout[-2000:] + run.stderr[-2000:]
        assert failed == [], {c: verdicts[c] for c in failed}
        for g in (a, b):
            assert g.p.poll() is None, g.output()[-2000:]
            assert "session_error" not in g.output(), g.output()[-3000:]
        assert set(others.values()) <= {"INFORMATIONAL", "NON-STRICT"}, others
