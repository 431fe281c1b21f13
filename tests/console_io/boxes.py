"""A gateway process with its serial console, and the technician's end of the line (pyserial).

``socat_pair(dir)`` links two pseudo-terminals (the box's UART and the
technician's USB adapter); ``start_box(...)`` runs ``edgegate run`` on a config
file written into a temp dir; ``Line`` drives the technician's end: write a
line, read until an expected text arrives, with a deadline on every read.
Nothing here sleeps for a fixed time: every wait polls a condition.
"""

import json
import os
import shutil
import subprocess
import time

from edgegate.config.secrets import hash_password
from tests import procs

PASSWORD = "correct horse"
# 1000 iterations (the minimum parse_hash accepts) keeps each login quick.
PASSWORD_HASH = hash_password(PASSWORD, iterations=1000)
STEP_S = 5.0   # deadline for one answer on the console
START_S = 15.0  # deadline for a process to come up
PROMPT = "edgegate# "
PROMPT_STAGED = "edgegate(staged)# "


def until(cond, timeout=STEP_S, what="condition", step=0.02):
    """Poll ``cond()`` until it returns something true; return it, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(step)


def box_doc(port, echo_port, routes=None, console=None, limits=None):
    """A config document: one plaintext listener, routes (default /echo -> echo_port), a console password."""
    c = {"password_hash": PASSWORD_HASH}
    c.update(console or {})
    doc = {
        "listen": [{"host": "127.0.0.1", "port": port, "plaintext": True}],
        "routes": routes if routes is not None else
        [{"path": "/echo", "match": "prefix", "backend": {"url": "ws://127.0.0.1:%d/" % echo_port}}],
        "console": c,
    }
    if limits:
        doc["limits"] = limits
    return doc


class Box:
    """``edgegate run --board sim --config DIR/box.json --console PORT`` as a process."""

    def __init__(self, directory, console, env=None, doc=None, name="box.json"):
        self.dir = str(directory)
        self.path = os.path.join(self.dir, name)
        if doc is not None:
            with open(self.path, "w") as f:
                json.dump(doc, f)
        self.proc = procs.Proc([procs.PY, "-m", "edgegate", "run", "--board", "sim", "--config", self.path,
                                "--console", console], env=env)

    def records(self, event=None):
        return [r for r in self.proc.records() if event is None or r.get("event") == event]

    def wait_record(self, event, timeout=START_S, n=1):
        """The n-th log record of ``event`` (waits for it); fails if the process exits first."""

        def found():
            recs = self.records(event)
            if len(recs) >= n:
                return recs[n - 1]
            if self.proc.p.poll() is not None:
                raise AssertionError("gateway exited with %s before logging %s:\n%s"
                                     % (self.proc.p.returncode, event, self.proc.output()[-3000:]))
            return None

        return until(found, timeout, "log record %s" % event)

    def stored(self, suffix=""):
        with open(self.path + suffix) as f:
            return json.load(f)

    def wait_exit(self, timeout=START_S):
        try:
            return self.proc.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("gateway still running after %.0f s" % timeout) from None

    def stop(self):
        return self.proc.stop()


class Line:
    """The technician's end of a serial line, through pyserial."""

    def __init__(self, path):
        import serial

        self.ser = serial.Serial(path, 115200, timeout=0)
        self.seen = ""  # everything read so far
        self.at = 0     # how much of ``seen`` earlier expects consumed

    def _read(self):
        data = self.ser.read(4096)
        if data:
            self.seen += data.decode("utf-8", "replace")
        return data

    def expect(self, text, timeout=STEP_S):
        """Read until ``text`` arrives after what earlier calls consumed; return what came up to it."""

        def found():
            self._read()
            i = self.seen.find(text, self.at)
            return i + 1 if i >= 0 else None

        i = until(found, timeout, "%r on the console; got %r" % (text, self.seen[self.at:][-600:])) - 1
        out = self.seen[self.at:i]
        self.at = i + len(text)
        return out

    def send(self, line):
        self.ser.write(line.encode("utf-8") + b"\r")
        self.ser.flush()

    def command(self, line, prompt=None):
        """Send ``line`` and return the text the box answered before its next prompt."""
        self.send(line)
        if prompt is None:  # either prompt
            out = self.expect("# ")
            for p in (PROMPT, PROMPT_STAGED):
                if out.endswith(p[:-2]):
                    out = out[:-len(p) + 2]
        else:
            out = self.expect(prompt)
        # drop the echo of the line itself
        first, _, rest = out.partition("\r\n")
        return rest if first.endswith(line) else out

    def login(self, password=PASSWORD, prompted=False):
        """Log in; ``prompted``: the password prompt has been read already."""
        if not prompted:
            self.expect("password: ")
        self.send(password)
        self.expect("logged in")
        self.expect("# ")

    def close(self):
        self.ser.close()


def pty_console(box):
    """A Line on the pseudo-terminal a ``--console pty`` box logged, at its password prompt."""
    path = box.wait_record("console_port")["port"]
    box.wait_record("console")
    line = Line(path)  # opening the port drops the banner the box wrote before: ask for a prompt
    line.send("")
    line.expect("password: ")
    return line


def socat_pair(directory):
    """(process, box_end, technician_end): two linked pseudo-terminals, raw, no echo.

    Returns None when socat is not installed (the caller skips, saying so).
    """
    exe = shutil.which("socat")
    if exe is None:
        return None
    a = os.path.join(str(directory), "uart")
    b = os.path.join(str(directory), "usb")
    p = subprocess.Popen([exe, "-d", "-d", "pty,raw,echo=0,link=%s" % a, "pty,raw,echo=0,link=%s" % b],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until(lambda: os.path.exists(a) and os.path.exists(b) or p.poll() is not None, START_S, "socat links")
        if p.poll() is not None:
            raise AssertionError("socat exited with %s" % p.returncode)
    except BaseException:
        p.kill()
        p.wait()
        raise
    return p, a, b
