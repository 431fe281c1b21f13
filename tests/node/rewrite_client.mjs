// Node's `ws` as a client of the rewriting tests: sends each message of argv[3]
// (a JSON list of strings) and prints, as one JSON object, every message that
// came back and the close.
//
//   node rewrite_client.mjs ws://127.0.0.1:PORT/path '["msg1", "msg2"]'

import WebSocket from "ws";

const url = process.argv[2];
const sends = JSON.parse(process.argv[3]);
const got = [];
const ws = new WebSocket(url);
const timer = setTimeout(() => { console.log(JSON.stringify({ got, fatal: "timeout" })); process.exit(1); }, 10000);
ws.on("open", () => { for (const m of sends) ws.send(m); });
ws.on("message", (data) => {
  got.push(data.toString("utf8"));
  if (got.length === sends.length) ws.close(1000, "done");
});
ws.on("close", (code, reason) => {
  clearTimeout(timer);
  console.log(JSON.stringify({ got, close: code, reason: reason.toString("utf8") }));
});
ws.on("error", (e) => { clearTimeout(timer); console.log(JSON.stringify({ got, fatal: String(e) })); process.exit(1); });
