"""A backend on the websockets library that records every message it receives: run as a process.

    python -m tests.gateway.recorder PORT [SUBPROTOCOL ...]

It selects the first of its SUBPROTOCOLs the gateway offers and echoes every
message whole. Each received message is also logged on stdout as one JSON line
``{"event": "backend_got", "text": bool, "data": str}`` (binary as hex), so a
test can show what reached the backend and, above all, what did not.
"""

import asyncio
import json
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


def main():
    port = int(sys.argv[1])
    mine = sys.argv[2:]

    def select(conn, offered):
        return next((p for p in mine if p in offered), None)

    async def handler(ws):
        try:
            async for m in ws:
                text = isinstance(m, str)
                print(json.dumps({"event": "backend_got", "text": text, "data": m if text else m.hex()}),
                      flush=True)
                try:
                    await ws.send(m)
                except ConnectionClosed:
                    pass  # the close came in behind it: record what is still queued, echo nothing
        except ConnectionClosed:
            pass

    async def run():
        async with serve(handler, "127.0.0.1", port, max_size=None, compression=None,
                         select_subprotocol=select):
            await asyncio.Future()

    asyncio.run(run())


if __name__ == "__main__":
    main()
