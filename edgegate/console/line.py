"""Serial line discipline (portable, sans-I/O): bytes typed in, lines for the shell, bytes to echo.

CR, LF or CRLF end a line; backspace (0x08/0x7f) erases; Ctrl-C drops the line;
Ctrl-U erases it. A line longer than ``max_line_bytes`` is dropped whole (the
shell is told, nothing is lost), other control bytes are ignored. Echo follows
the shell's ``wants_echo`` (off while a password is typed).
"""

from edgegate.rt import const

_CR = const(13)
_LF = const(10)
_BS = const(8)
_DEL = const(127)
_ETX = const(3)   # Ctrl-C
_NAK = const(21)  # Ctrl-U


class LineDiscipline:
    def __init__(self, shell, max_line_bytes=256):
        self.shell = shell
        self.max_line_bytes = max_line_bytes
        self._buf = bytearray()
        self._overlong = False
        self._after_cr = False

    def feed(self, data, now_ms):
        """Return the bytes to write back (echo and the shell's answers)."""
        out = bytearray()
        for b in bytes(data):
            if b == _LF and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = b == _CR
            if b == _CR or b == _LF:
                out += b"\r\n"
                out += self._line(now_ms)
            elif b == _BS or b == _DEL:
                if self._buf and not self._overlong:
                    self._buf = self._buf[:-1]
                    if self.shell.wants_echo:
                        out += b"\b \b"
            elif b == _ETX or b == _NAK:
                self._buf = bytearray()
                self._overlong = False
                if b == _ETX:
                    out += b"^C\r\n"
                    p = self.shell.prompt
                    out += render([p] if p else [], p)
            elif b < 32:
                continue
            elif self._overlong:
                continue
            elif len(self._buf) >= self.max_line_bytes:
                self._overlong = True
                self._buf = bytearray()
            else:
                self._buf.append(b)
                if self.shell.wants_echo:
                    out.append(b)
        return bytes(out)

    def _line(self, now_ms):
        if self._overlong:
            self._overlong = False
            return render(self.shell.receive_overlong(now_ms), self.shell.prompt)
        raw = bytes(self._buf)
        self._buf = bytearray()
        try:
            text = raw.decode("utf-8")
        except UnicodeError:
            text = "".join(chr(c) if c < 128 else "?" for c in raw)
        return render(self.shell.receive_line(text, now_ms), self.shell.prompt)


def render(lines, prompt=""):
    """Shell output to bytes: every line ends in CRLF except a trailing prompt."""
    out = []
    n = len(lines)
    for i, line in enumerate(lines):
        if i == n - 1 and prompt and line == prompt:
            out.append(line)
        else:
            out.append(line + "\r\n")
    return "".join(out).encode("utf-8")
