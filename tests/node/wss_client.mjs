// Node's `ws` package as a client of a wss:// URL, trusting only the CA given.
//
//   node wss_client.mjs wss://127.0.0.1:PORT/ CA.pem [servername]
//
// Prints one JSON object on stdout: the TLS facts (authorized, protocol,
// cipher) and what came back (text, binary, a 1 MiB fragmented message as
// SHA-256 digests, the close code). Exit 0: every step ran (the Python test
// judges); 1: the script could not finish (see "fatal").

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const url = process.argv[2];
const ca = readFileSync(process.argv[3]);
const servername = process.argv[4] || "localhost";
const STEP_MS = 10000;

const sha = (b) => createHash("sha256").update(b).digest("hex");

function pattern(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function withDeadline(promise, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${STEP_MS} ms`)), STEP_MS);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function open() {
  return withDeadline(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, servername, rejectUnauthorized: true, maxPayload: 16 << 20 });
    const messages = [];
    const waiters = [];
    ws.on("message", (data, isBinary) => {
      const w = waiters.shift();
      if (w) w({ data, isBinary }); else messages.push({ data, isBinary });
    });
    ws.closed = new Promise((res) => ws.on("close", (code, reason) => res({ code, reason: reason.toString() })));
    ws.next = (what) => withDeadline(new Promise((res) => {
      const m = messages.shift();
      if (m) res(m); else waiters.push(res);
    }), what);
    ws.on("open", () => resolve(ws));
    ws.on("error", reject);
    ws.on("unexpected-response", (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }), "open");
}

async function main() {
  const out = { url };
  const ws = await open();
  const sock = ws._socket;
  out.authorized = sock.authorized;
  out.protocol = sock.getProtocol();
  out.cipher = sock.getCipher();

  ws.send("nöde über wss ✓");
  const t = await ws.next("text");
  out.text = { binary: t.isBinary, data: t.data.toString("utf8") };

  const bin = pattern(60000, 3);  // one frame under max_frame_bytes
  ws.send(bin);
  const b = await ws.next("binary");
  out.binary = { binary: b.isBinary, sha: sha(b.data), sent_sha: sha(bin) };

  const big = pattern(1 << 20, 9);
  const step = 65536;
  for (let at = 0; at < big.length; at += step) {
    ws.send(big.subarray(at, at + step), { binary: true, fin: at + step >= big.length, compress: false });
  }
  const g = await ws.next("1 MiB");
  out.big = { bytes: g.data.length, sha: sha(g.data), sent_sha: sha(big) };

  ws.close(4000, "node bye");
  out.close = await withDeadline(ws.closed, "close");
  return out;
}

function finish(obj, status) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(status));
}

main().then(
  (out) => finish(out, 0),
  (err) => finish({ fatal: String((err && err.stack) || err) }, 1),
);
