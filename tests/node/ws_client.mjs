// Node's `ws` package as a client of a ws:// URL: runs the relay scenarios and
// prints one JSON object (what came back, base64 where bytes matter) on stdout.
//
//   node ws_client.mjs ws://127.0.0.1:PORT/ [max_frame_bytes] [max_message_bytes]
//
// Payloads are deterministic: pattern(n, seed)[i] = (i * 31 + seed) & 0xff, so
// the Python side rebuilds them and compares byte for byte. Exit status 0 means
// every scenario ran (not that it passed: the Python test judges); 1 means the
// script itself could not finish (its error is in the JSON's "fatal").

import WebSocket from "ws";

const url = process.argv[2];
const maxFrame = Number(process.argv[3] || 65536);
const maxMessage = Number(process.argv[4] || 1048576);
const STEP_MS = 10000;

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

// A connection whose messages, pongs and close are awaited in order.
function open(protocols) {
  return withDeadline(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols || [], { maxPayload: 16 * 1024 * 1024 });
    const messages = [];
    const waiters = [];
    ws.on("message", (data, isBinary) => {
      const m = { binary: isBinary, b64: Buffer.from(data).toString("base64"), bytes: data.length };
      const w = waiters.shift();
      if (w) w(m); else messages.push(m);
    });
    ws.closed = new Promise((res) => {
      ws.on("close", (code, reason) => res({ code, reason: reason.toString("utf8") }));
    });
    ws.next = (what) => withDeadline(new Promise((res) => {
      const m = messages.shift();
      if (m) res(m); else waiters.push(res);
    }), what);
    ws.on("open", () => resolve(ws));
    ws.on("error", reject);
    ws.on("unexpected-response", (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }), "open");
}

function sendFragments(ws, chunks, binary) {
  chunks.forEach((c, i) => ws.send(c, { binary, fin: i === chunks.length - 1, compress: false }));
}

async function main() {
  const out = { url };
  const ws = await open(["chat.v1", "other"]);
  out.protocol = ws.protocol;
  out.extensions = ws.extensions;

  ws.send("héllo wörld ✓ 🚀");
  out.text = await ws.next("text");

  ws.send(pattern(1000, 1));
  out.binary = await ws.next("binary");

  sendFragments(ws, ["frag", "mént", "ed ✓"], false);
  out.fragmented_text = await ws.next("fragmented text");

  // One character split across two frames: UTF-8 is checked across fragments.
  sendFragments(ws, [Buffer.from([0x61, 0xe2, 0x9c]), Buffer.from([0x93, 0x62])], false);
  out.split_character = await ws.next("split character");

  sendFragments(ws, [pattern(100, 2), pattern(0, 0), pattern(200, 3)], true);
  out.fragmented_binary = await ws.next("fragmented binary");

  ws.send("");
  out.empty_text = await ws.next("empty text");

  ws.send(Buffer.alloc(0));
  out.empty_binary = await ws.next("empty binary");

  ws.send(pattern(maxFrame, 4), { binary: true });
  out.max_frame = await ws.next("max frame");

  const big = pattern(maxMessage, 5);
  const parts = [];
  for (let at = 0; at < maxMessage; at += maxFrame) parts.push(big.subarray(at, at + maxFrame));
  sendFragments(ws, parts, true);
  out.max_message = await ws.next("max message");
  out.max_message_frames = parts.length;

  out.pings = [];
  for (const payload of [Buffer.from("edge-ping"), pattern(125, 6), Buffer.alloc(0)]) {
    const pong = withDeadline(new Promise((res) => ws.once("pong", (d) => res(d))), "pong");
    ws.ping(payload);
    out.pings.push({ sent: payload.toString("base64"), got: (await pong).toString("base64") });
  }

  ws.close(1000, "done");
  out.main_close = await withDeadline(ws.closed, "close");

  out.closes = [];
  for (const code of [1000, 1001, 3000, 4999]) {
    const c = await open();
    const reason = `bye ${code}`;
    c.close(code, reason);
    const got = await withDeadline(c.closed, `close ${code}`);
    out.closes.push({ sent: code, sent_reason: reason, code: got.code, reason: got.reason });
  }
  return out;
}

// stdout to a pipe is asynchronous in Node: exit only once the line is written.
function finish(obj, status) {
  process.stdout.write(JSON.stringify(obj) + "\n", () => process.exit(status));
}

main().then(
  (out) => finish(out, 0),
  (err) => finish({ fatal: String((err && err.stack) || err) }, 1),
);
