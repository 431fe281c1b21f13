"""``edgegate console --port DEV``: a technician's terminal to a box's serial console (pyserial).

Interactive (stdin is a terminal): raw keystrokes go to the box, whatever the
box sends is printed; the box echoes (and does not echo passwords). Ctrl-]
quits. Scripted (stdin is a pipe): each input line is sent, and the box's
output is printed until it has been quiet for a moment; then it exits.
"""

import os
import selectors
import sys
import time

_QUIT = b"\x1d"  # Ctrl-]


def terminal(port, baudrate=115200):
    import serial  # pyserial

    ser = serial.serial_for_url(port, baudrate=baudrate, timeout=0)
    out = sys.stdout.buffer
    if not sys.stdin.isatty():
        return _scripted(ser, out)
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ, "in")
    sel.register(ser.fileno(), selectors.EVENT_READ, "ser")
    out.write(b"edgegate console on %s (Ctrl-] quits)\r\n" % port.encode())
    out.flush()
    try:
        ser.write(b"\r")
        while True:
            for key, _ in sel.select():
                if key.data == "in":
                    data = os.read(fd, 256)
                    if not data or _QUIT in data:
                        return 0
                    ser.write(data)
                else:
                    data = ser.read(max(1, ser.in_waiting))
                    out.write(data)
                    out.flush()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        out.write(b"\r\n")
        ser.close()


def _drain(ser, out, quiet_s=0.4, max_s=10.0):
    end = time.monotonic() + max_s
    last = time.monotonic()
    while time.monotonic() < end and time.monotonic() - last < quiet_s:
        data = ser.read(4096)
        if data:
            out.write(data)
            out.flush()
            last = time.monotonic()
        else:
            time.sleep(0.02)


def _scripted(ser, out):
    ser.write(b"\r")
    _drain(ser, out)
    for line in sys.stdin.buffer:
        ser.write(line.rstrip(b"\r\n") + b"\r")
        _drain(ser, out)
    out.write(b"\n")
    ser.close()
    return 0
