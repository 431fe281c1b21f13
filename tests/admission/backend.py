"""A backend on the websockets library that tells what it was asked: run as a process.

    python -m tests.admission.backend PORT [SUBPROTOCOL ...]

It selects the first of its SUBPROTOCOLs the gateway offers (none when it
offers none of them) and echoes every message, except the text ``?request``,
answered with JSON: the request target, every header as received and the
sub-protocols offered and chosen. Each connection is also logged as JSON
lines on stdout: ``{"event": "backend_request", ...}`` when it opens and
``{"event": "backend_closed", "principal", "code", "reason"}`` when it ends.
"""

import asyncio
import json
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


def main():
    port = int(sys.argv[1])
    mine = sys.argv[2:]
    seen = {}

    def process_request(conn, request):
        offered = []
        for v in request.headers.get_all("Sec-WebSocket-Protocol"):
            offered += [p.strip() for p in v.split(",") if p.strip()]
        seen[id(conn)] = {"path": request.path, "headers": list(request.headers.raw_items()), "offered": offered}

    def select(conn, offered):
        return next((p for p in mine if p in offered), None)

    async def handler(conn):
        info = dict(seen.pop(id(conn), {}), chosen=conn.subprotocol)
        sys.stdout.write(json.dumps(dict(info, event="backend_request")) + "\n")
        sys.stdout.flush()
        try:
            async for m in conn:
                await conn.send(json.dumps(info) if m == "?request" else m)
        except ConnectionClosed:
            pass
        principal = dict((k.lower(), v) for k, v in info.get("headers", ())).get("x-edgegate-principal")
        sys.stdout.write(json.dumps({"event": "backend_closed", "principal": principal, "code": conn.close_code,
                                     "reason": conn.close_reason}) + "\n")
        sys.stdout.flush()

    async def run():
        async with serve(handler, "127.0.0.1", port, process_request=process_request, select_subprotocol=select,
                         compression=None):
            await asyncio.Future()

    asyncio.run(run())


if __name__ == "__main__":
    main()
