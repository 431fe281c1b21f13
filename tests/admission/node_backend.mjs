// A backend that routes as Node apps do (the `ws` README's way): on
// `new URL(req.url, base).pathname`, which decodes %2e, resolves dot segments and
// reads "\" as "/", and on `url.searchParams` (a standard query decoder).
//
//   node tests/admission/node_backend.mjs PORT
//
// Every message is answered with what it was asked: the raw request target, the
// pathname it routes on, the area that pathname serves ("admin" for /admin and
// below), the query parameters as decoded, the principal and Origin headers. Each
// connection is also logged as one JSON line on stdout.

import { createRequire } from "node:module";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ port, host: "127.0.0.1" });

wss.on("connection", (ws, req) => {
  const url = new URL(req.url, "http://backend.invalid");
  const info = {
    url: req.url,
    pathname: url.pathname,
    serves: url.pathname === "/admin" || url.pathname.startsWith("/admin/") ? "admin" : "other",
    params: [...url.searchParams],
    principal: req.headers["x-edgegate-principal"] || null,
    origin: req.headers.origin || null,
  };
  process.stdout.write(JSON.stringify({ event: "backend_request", ...info }) + "\n");
  ws.on("message", () => ws.send(JSON.stringify(info)));
});
