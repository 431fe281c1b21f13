"""The bench's own WebSocket processes: the picows echo backend and the two Python relays.

    python -m bench.servers echo --port P
    python -m bench.servers picows-relay --port P --backend ws://127.0.0.1:E
    python -m bench.servers websockets-relay --port P --backend ws://127.0.0.1:E

Each listens on 127.0.0.1 only, runs on uvloop, negotiates no compression, and
prints ``READY <port>`` on stdout once listening. The relays forward frame by
frame (picows) or message by message (websockets, its natural API), answer
pings hop by hop, carry the close code end to end, and pause reading one side
while the other side's write buffer is over its high-water mark.
"""

import argparse
import asyncio
import resource
import sys


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---- picows echo backend -----------------------------------------------------

def _picows_echo(host, port):
    from picows import WSListener, WSMsgType, ws_create_server

    CLOSE = WSMsgType.CLOSE
    PING = WSMsgType.PING
    PONG = WSMsgType.PONG

    class Echo(WSListener):
        __slots__ = ("t", "paused")

        def on_ws_connected(self, transport):
            self.t = transport

        def on_ws_frame(self, transport, frame):
            mt = frame.msg_type
            if mt is CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
            elif mt is PING or mt is PONG:
                pass  # auto-pong answers pings
            else:
                transport.send(mt, frame.get_payload_as_memoryview(), frame.fin)

        def pause_writing(self):
            self.t.underlying_transport.pause_reading()

        def resume_writing(self):
            self.t.underlying_transport.resume_reading()

    async def main():
        srv = await ws_create_server(lambda req: Echo(), host, port, backlog=4096,
                                     websocket_handshake_timeout=30, max_frame_size=1 << 24)
        print("READY %d" % srv.sockets[0].getsockname()[1], flush=True)
        await srv.serve_forever()

    return main()


# ---- picows relay -------------------------------------------------------------

def _picows_relay(host, port, backend):
    from picows import WSListener, WSMsgType, ws_connect, ws_create_server

    CLOSE = WSMsgType.CLOSE
    PING = WSMsgType.PING
    PONG = WSMsgType.PONG
    loop_ref = []

    class Up(WSListener):
        """The backend side of a pair (we are its client)."""

        def __init__(self, down):
            self.down = down
            self.t = None

        def on_ws_connected(self, transport):
            self.t = transport

        def on_ws_frame(self, transport, frame):
            d = self.down.t
            mt = frame.msg_type
            if mt is CLOSE:
                if not d.is_close_frame_sent:
                    d.send_close(frame.get_close_code(), frame.get_close_message())
                d.disconnect()
                transport.disconnect()
            elif mt is PING:
                transport.send_pong(frame.get_payload_as_bytes())
            elif mt is not PONG:
                d.send(mt, frame.get_payload_as_memoryview(), frame.fin)

        def on_ws_disconnected(self, transport):
            self.down.t.disconnect()

        def pause_writing(self):
            self.down.t.underlying_transport.pause_reading()

        def resume_writing(self):
            self.down.t.underlying_transport.resume_reading()

    class Down(WSListener):
        """The client side of a pair (we are its server)."""

        def __init__(self, path):
            self.path = path
            self.t = None
            self.up = None
            self.pending = []

        def on_ws_connected(self, transport):
            self.t = transport
            transport.underlying_transport.pause_reading()
            loop_ref[0].create_task(self._connect())

        async def _connect(self):
            try:
                ut, _ = await ws_connect(lambda: Up(self), backend + self.path, enable_auto_ping=False,
                                         max_frame_size=1 << 24, websocket_handshake_timeout=30)
            except Exception as e:
                print("backend connect failed: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
                self.t.send_close(1014)
                self.t.disconnect()
                return
            self.up = ut
            for mt, data, fin in self.pending:
                ut.send(mt, data, fin)
            self.pending = None
            self.t.underlying_transport.resume_reading()

        def on_ws_frame(self, transport, frame):
            mt = frame.msg_type
            up = self.up
            if mt is CLOSE:
                if up is not None:
                    if not up.is_close_frame_sent:
                        up.send_close(frame.get_close_code(), frame.get_close_message())
                else:
                    transport.send_close(frame.get_close_code(), frame.get_close_message())
                    transport.disconnect()
            elif mt is PING:
                transport.send_pong(frame.get_payload_as_bytes())
            elif mt is PONG:
                pass
            elif up is None:
                self.pending.append((mt, frame.get_payload_as_bytes(), frame.fin))
            else:
                up.send(mt, frame.get_payload_as_memoryview(), frame.fin)

        def on_ws_disconnected(self, transport):
            if self.up is not None:
                self.up.disconnect()

        def pause_writing(self):
            if self.up is not None:
                self.up.underlying_transport.pause_reading()

        def resume_writing(self):
            if self.up is not None:
                self.up.underlying_transport.resume_reading()

    async def main():
        loop_ref.append(asyncio.get_running_loop())
        def down(req):
            path = req.path
            return Down(path.decode() if isinstance(path, bytes) else path)

        srv = await ws_create_server(down, host, port, backlog=4096,
                                     enable_auto_pong=False, websocket_handshake_timeout=30,
                                     max_frame_size=1 << 24)
        print("READY %d" % srv.sockets[0].getsockname()[1], flush=True)
        await srv.serve_forever()

    return main()


# ---- websockets relay ----------------------------------------------------------

def _websockets_relay(host, port, backend):
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    async def pump(src, dst):
        try:
            async for msg in src:
                await dst.send(msg)
        except ConnectionClosed:
            pass
        rcvd = src.protocol.close_rcvd
        code = rcvd.code if rcvd is not None else 1001
        if code in (1005, 1006):
            code = 1000
        await dst.close(code, rcvd.reason if rcvd is not None else "")

    async def handler(ws):
        try:
            up = await connect(backend + ws.request.path, compression=None, ping_interval=None,
                               max_size=1 << 24, open_timeout=30)
        except Exception:
            await ws.close(1014, "bad gateway")
            return
        async with up:
            await asyncio.gather(pump(ws, up), pump(up, ws))

    async def main():
        async with serve(handler, host, port, compression=None, ping_interval=None, max_size=1 << 24,
                         open_timeout=30, backlog=4096) as srv:
            print("READY %d" % list(srv.sockets)[0].getsockname()[1], flush=True)
            await srv.serve_forever()

    return main()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.servers")
    ap.add_argument("kind", choices=["echo", "picows-relay", "websockets-relay"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--backend", default="")
    args = ap.parse_args(argv)
    _raise_nofile()
    import uvloop

    if args.kind == "echo":
        coro = _picows_echo(args.host, args.port)
    elif args.kind == "picows-relay":
        coro = _picows_relay(args.host, args.port, args.backend.rstrip("/"))
    else:
        coro = _websockets_relay(args.host, args.port, args.backend.rstrip("/"))
    try:
        uvloop.run(coro)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
