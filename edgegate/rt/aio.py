"""The asyncio subset the gateway may use, identical on CPython and MicroPython.

Tasks, sleep/sleep_ms, Event, Lock, wait_for, gather, TimeoutError and ``run``.
On CPython ``run`` uses uvloop when it is installed (unless EDGEGATE_LOOP=asyncio).
"""

try:
    import asyncio
except ImportError:  # pragma: no cover - MicroPython builds that name it uasyncio
    import uasyncio as asyncio  # type: ignore[import-not-found, no-redef]

from . import IS_MICROPYTHON

Event = asyncio.Event
Lock = asyncio.Lock
gather = asyncio.gather
sleep = asyncio.sleep
wait_for = asyncio.wait_for
create_task = asyncio.create_task
CancelledError = asyncio.CancelledError
TimeoutError = asyncio.TimeoutError

if IS_MICROPYTHON:  # pragma: no cover - MicroPython
    sleep_ms = asyncio.sleep_ms

    def run(coro):
        return asyncio.run(coro)

    def loop_name():
        return "micropython"

else:  # pragma: no cover - CPython

    def sleep_ms(ms):
        return asyncio.sleep(ms / 1000)

    def _uvloop():
        import os

        if os.environ.get("EDGEGATE_LOOP", "") == "asyncio":
            return None
        try:
            import uvloop  # type: ignore[import-not-found]
        except ImportError:
            return None
        return uvloop

    def run(coro):
        """Run coro to completion on uvloop when installed, else the stdlib loop."""
        uv = _uvloop()
        if uv is None:
            return asyncio.run(coro)
        with asyncio.Runner(loop_factory=uv.new_event_loop) as runner:
            return runner.run(coro)

    def loop_name():
        """Which event loop is running (for logs and benches)."""
        return type(asyncio.get_running_loop()).__module__.split(".")[0]


def on_terminate(callback):
    """Call ``callback()`` on SIGTERM or SIGINT (a no-op where signals do not exist)."""
    if IS_MICROPYTHON:  # pragma: no cover - MicroPython
        return
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, callback)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
            pass
