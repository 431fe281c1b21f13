"""Headless Chromium driven over the DevTools protocol, with ``websockets`` as the CDP client.

``Chromium`` starts Debian's ``chromium`` with a fresh profile and the
DevTools endpoint on a loopback port it picks itself (read from the profile's
``DevToolsActivePort``). ``Chromium.run_in_page(url, js)`` opens ``url`` in a
new tab, waits for its load event, evaluates ``js`` there (a promise is
awaited) and returns the value. The browser trusts the test's server
certificate by its public key only (``spki``), not every certificate.
"""

import asyncio
import base64
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time

STEP_S = 20.0  # no single step (start, load, evaluation) waits longer

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]


def binary():
    return shutil.which("chromium")


def spki_pin(cert_pem_path):
    """base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate: what --ignore-certificate-errors-spki-list takes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with open(cert_pem_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


class CdpError(Exception):
    pass


class Chromium:
    def __init__(self, spki):
        self.profile = tempfile.mkdtemp(prefix="edgegate-chromium-")
        self.log = open(os.path.join(self.profile, "chromium.log"), "w+")
        # Only a certificate with this public key is accepted despite its (test) CA:
        # --ignore-certificate-errors-spki-list, not --ignore-certificate-errors.
        argv = [binary()] + FLAGS + ["--user-data-dir=" + self.profile,
                                     "--ignore-certificate-errors-spki-list=" + spki, "about:blank"]
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.endpoint = self._endpoint()
        except BaseException:
            self.close()
            raise

    def _endpoint(self):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + STEP_S
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise CdpError("chromium exited with %s:\n%s" % (self.p.returncode, self.output()[-3000:]))
            try:
                with open(path) as f:
                    port, ws_path = f.read().split()[:2]
                return "ws://127.0.0.1:%s%s" % (port, ws_path)
            except (OSError, ValueError):
                time.sleep(0.05)
        raise CdpError("no DevTools endpoint after %.0fs:\n%s" % (STEP_S, self.output()[-3000:]))

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def run_in_page(self, url, js):
        return asyncio.run(self._run_in_page(url, js))

    async def _run_in_page(self, url, js):
        import websockets

        async with websockets.connect(self.endpoint, max_size=None, open_timeout=STEP_S) as ws:
            cdp = _Session(ws)
            target = (await cdp.call("Target.createTarget", url="about:blank"))["targetId"]
            try:
                sid = (await cdp.call("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]
                await cdp.call("Page.enable", session=sid)
                await cdp.call("Page.navigate", session=sid, url=url)
                await cdp.event("Page.loadEventFired", sid)
                got = await cdp.call("Runtime.evaluate", session=sid, expression=js, awaitPromise=True,
                                     returnByValue=True)
                if "exceptionDetails" in got:
                    raise CdpError("page script failed: %s" % json.dumps(got["exceptionDetails"])[:2000])
                return got["result"].get("value")
            finally:
                await cdp.call("Target.closeTarget", targetId=target)

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class _Session:
    """Calls and events on one browser connection (flat sessions: ``sessionId`` on each message)."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.events = []

    async def _next(self):
        return json.loads(await asyncio.wait_for(self.ws.recv(), STEP_S))

    async def call(self, method, session=None, **params):
        n = next(self.ids)
        msg = {"id": n, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        while True:
            m = await self._next()
            if m.get("id") == n:
                if "error" in m:
                    raise CdpError("%s: %s" % (method, m["error"]))
                return m["result"]
            if "method" in m:
                self.events.append(m)

    async def event(self, method, session):
        def match(m):
            return m.get("method") == method and m.get("sessionId") == session

        for m in self.events:
            if match(m):
                self.events.remove(m)
                return m
        while True:
            m = await self._next()
            if match(m):
                return m
            if "method" in m:
                self.events.append(m)
