"""edgegate.rt.net.Stream over the stdlib ssl transport: a closed stream is quiet, whatever is asked of it.

asyncio's ssl transport, closed twice (a half-close it cannot do closes it,
then the session closes it again), has no protocol left: asking it for its
write buffer size or giving it bytes raised AttributeError, which a session
turned into a 1011 (seen once in CI through tests/tls/test_sni.py).
"""

import asyncio
import ssl

from edgegate.rt import net
from edgegate.ws.buffer import RxBuffer


def test_a_stream_closed_twice_takes_writes_and_reports_no_buffer(certs):
    async def main():
        done = asyncio.get_running_loop().create_future()

        async def handler(s):
            try:
                s.write(b"hello")
                s.write_eof()  # the ssl transport cannot half-close: this closes it
                s.close()  # the second close
                s.write(b"lost")
                s.write_view(memoryview(b"lost too"))
                s.write_eof()
                done.set_result(s.write_buffer_size)
            except Exception as e:  # noqa: BLE001 - the test reports it
                done.set_exception(e)

        sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        sctx.load_cert_chain(certs["server.pem"], certs["server.key"])
        srv = await net.serve("127.0.0.1", 0, handler, lambda: RxBuffer(4096), ssl=sctx)
        port = srv.sockets[0].getsockname()[1]
        cctx = ssl.create_default_context(cafile=certs["ca.pem"])
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=cctx, server_hostname="localhost")
        got = await asyncio.wait_for(reader.read(), 5)
        size = await asyncio.wait_for(done, 5)
        writer.close()
        srv.close()
        return got, size

    assert asyncio.run(main()) == (b"hello", 0)
