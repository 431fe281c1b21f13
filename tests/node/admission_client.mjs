// Node's `ws` package as a client of edgegate's admission: one line of JSON per attempt.
//
//   node admission_client.mjs '<JSON list of attempts>'
//
// An attempt is {url, headers?, protocols?, localAddress?, send?, hold?, tls?}. Each one
// opens a WebSocket with those request headers and offered sub-protocols
// (from localAddress when given) and reports either the refusal,
//   {"status": 401, "headers": {"www-authenticate": "...", "retry-after": "..."}}
// or the session: the sub-protocol the client got and the answer to `send`
// (default "hello"; the test backend answers "?request" with what it was asked),
//   {"status": 101, "protocol": "chat.v1", "echo": "hello"}
// then closes it normally; with `hold: true` it waits for the gateway to close it
// instead (and reports the close code, reason and closed_at_ms, the wall clock).
// Failures of the client itself are {"error": "..."}.
// Everything goes out as one JSON list on stdout.

import { readFileSync } from "node:fs";
import WebSocket from "ws";

const STEP_MS = Number(process.env.STEP_MS || 10000);

function attempt(a) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(r);
      }
    };
    const timer = setTimeout(() => finish({ error: `no answer in ${STEP_MS} ms` }), STEP_MS);
    const opts = { headers: a.headers || {}, handshakeTimeout: STEP_MS };
    if (a.localAddress) opts.localAddress = a.localAddress;
    if (a.tls) {
      // wss://: {ca, cert?, key?} file paths; the server name checked is the URL's host or tls.servername
      opts.ca = readFileSync(a.tls.ca);
      if (a.tls.cert) opts.cert = readFileSync(a.tls.cert);
      if (a.tls.key) opts.key = readFileSync(a.tls.key);
      if (a.tls.servername) opts.servername = a.tls.servername;
    }
    let ws;
    try {
      ws = new WebSocket(a.url, a.protocols || [], opts);
    } catch (e) {
      finish({ error: String(e) });
      return;
    }
    ws.on("unexpected-response", (req, res) => {
      const h = {};
      for (const k of ["www-authenticate", "retry-after", "content-type"]) {
        if (res.headers[k] !== undefined) h[k] = res.headers[k];
      }
      res.resume();
      finish({ status: res.statusCode, headers: h });
      req.destroy();
    });
    ws.on("error", (e) => finish({ error: String(e && e.message) }));
    ws.on("open", () => {
      ws.once("message", (data) => {
        const r = { status: 101, protocol: ws.protocol, echo: data.toString("utf8") };
        ws.once("close", (code, reason) =>
          finish(Object.assign(r, { close: code, reason: reason.toString("utf8"), closed_at_ms: Date.now() })));
        if (!a.hold) ws.close(1000, "done");
      });
      ws.send(a.send === undefined ? "hello" : a.send);
    });
  });
}

async function main() {
  const attempts = JSON.parse(process.argv[2]);
  const out = [];
  for (const a of attempts) out.push(await attempt(a));
  return out;
}

// stdout to a pipe is asynchronous in Node: exit only once the line is written.
main().then(
  (out) => process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0)),
  (err) => process.stdout.write(JSON.stringify([{ error: String(err) }]) + "\n", () => process.exit(1)),
);
