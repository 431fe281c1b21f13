"""The console's serial transport: a pyserial port (or a pseudo-terminal in the simulator) <-> the shell.

``serial_console(shell, port)`` reads the device without blocking the event
loop (``add_reader`` on its file descriptor), feeds bytes through the line
discipline, writes the answers, and ticks the shell once a second.
``port`` is a pyserial URL or device (``/dev/serial0``, ``/dev/pts/7``,
``loop://``) or ``pty``: the gateway opens a pseudo-terminal pair, keeps the
master, and logs the slave's path for ``edgegate console --port PATH``.
"""

import os

from edgegate.console.line import LineDiscipline, render
from edgegate.rt import aio, ticks_ms


class _PtyPort:
    """The master side of a fresh pseudo-terminal pair (the simulator's UART)."""

    def __init__(self):
        import tty

        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.name = os.ttyname(slave)
        self._slave = slave  # kept open so the pair survives clients coming and going
        os.set_blocking(self.master, False)

    def fileno(self):
        return self.master

    def read_available(self):
        try:
            return os.read(self.master, 4096)
        except BlockingIOError:
            return b""

    def write(self, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                return  # nobody is reading: the console drops output rather than block the gateway
            view = view[n:]

    def close(self):
        os.close(self.master)
        os.close(self._slave)


class _SerialPort:
    def __init__(self, url, baudrate):
        import serial  # pyserial

        self.ser = serial.serial_for_url(url, baudrate=baudrate, timeout=0, write_timeout=0)
        self.name = url

    def fileno(self):
        return self.ser.fileno()

    def read_available(self):
        return self.ser.read(max(1, self.ser.in_waiting))

    def write(self, data):
        import serial

        try:
            self.ser.write(data)
        except serial.SerialTimeoutException:
            pass  # a full UART buffer drops console output; never blocks the gateway

    def close(self):
        self.ser.close()


def open_port(port, baudrate=115200):
    return _PtyPort() if port == "pty" else _SerialPort(port, baudrate)


async def serial_console(shell, port, log, max_line_bytes=256, stop=None):
    """Run the console on ``port`` (an opened port) until ``stop`` (an Event) is set."""
    loop = aio.asyncio.get_running_loop()
    disc = LineDiscipline(shell, max_line_bytes)

    def readable():
        try:
            data = port.read_available()
        except OSError as e:
            log.warn("console_read_failed", error=str(e))
            return
        if data:
            out = disc.feed(data, ticks_ms())
            if out:
                port.write(out)

    port.write(render(shell.start(ticks_ms()), shell.prompt))
    loop.add_reader(port.fileno(), readable)
    log.info("console", port=port.name)
    try:
        while stop is None or not stop.is_set():
            await aio.sleep_ms(1000)
            out = shell.tick(ticks_ms())
            if out:
                port.write(render(out, shell.prompt))
    finally:
        loop.remove_reader(port.fileno())
