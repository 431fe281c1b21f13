"""A well-behaved websockets client that keeps echoing in the background, and asyncio glue.

``async with Steady(url) as s:`` connects, checks every echo byte for byte,
and ``await s.advance()`` returns once a few more round trips have completed:
call it before, during and after whatever a test does to other connections.
On exit it closes with 1000 and asserts the close came back as 1000, that no
echo differed, and that the connection never failed.
"""

import asyncio

import websockets

from .wire import STEP_S


def run(coro, timeout=30.0):
    """Run one test's coroutine on a fresh loop, bounded by ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Steady:
    PACE_S = 0.005  # between round trips: a steady trickle, not a flood

    def __init__(self, url, **kw):
        self.url = url
        self.kw = kw
        self.ws = None
        self.count = 0
        self.error = None
        self._stop = False
        self._task = None
        self._tick = None

    async def __aenter__(self):
        self.ws = await websockets.connect(self.url, open_timeout=STEP_S, compression=None, **self.kw)
        self._tick = asyncio.Event()
        self._task = asyncio.create_task(self._loop())
        await self.advance()
        return self

    async def _loop(self):
        i = 0
        try:
            while not self._stop:
                msg = "steady %d" % i if i % 2 else b"steady \x00\xff %d" % i
                await self.ws.send(msg)
                got = await self.ws.recv()
                if got != msg:
                    raise AssertionError("echo %d came back as %r, sent %r" % (i, got, msg))
                self.count += 1
                self._tick.set()
                i += 1
                await asyncio.sleep(self.PACE_S)
        except BaseException as e:  # recorded, then raised by advance() and __aexit__
            self.error = e
            self._tick.set()
            raise

    async def advance(self, n=3, timeout=STEP_S):
        """Wait until ``n`` more echoes came back intact; raise what broke the connection, if anything."""
        target = self.count + n
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.count < target:
            if self.error is not None:
                raise AssertionError("the well-behaved connection broke: %r" % (self.error,))
            self._tick.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("the well-behaved connection made no progress in %.1fs (%d echoes)"
                                     % (timeout, self.count))
            try:
                await asyncio.wait_for(self._tick.wait(), left)
            except asyncio.TimeoutError:
                pass
        return self.count

    async def __aexit__(self, *exc):
        self._stop = True
        try:
            await asyncio.wait_for(self._task, STEP_S)
        except BaseException:
            if exc[0] is None:
                raise
        if exc[0] is None:
            assert self.error is None, self.error
            await self.ws.close(1000, "steady done")
            assert self.ws.close_code == 1000, (self.ws.close_code, self.ws.close_reason)
            assert self.ws.close_reason == "steady done"
        else:
            self.ws.transport.abort()
