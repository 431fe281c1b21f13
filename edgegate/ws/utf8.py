"""Incremental strict UTF-8 validation for text messages split across frames and reads.

Uses the runtime's C decoder when ``edgegate.rt.utf8_decoder`` offers one and a
portable byte state machine otherwise (RFC 3629: no overlongs, no surrogates,
nothing above U+10FFFF). Fails on the first bad byte, mid-message.
"""

from edgegate import rt

from .errors import InvalidUtf8


class Utf8Dfa:
    """Portable state machine: ``feed(data)`` returns False at the first invalid byte."""

    def __init__(self):
        self.need = 0
        self.lo = 0x80
        self.hi = 0xBF

    def feed(self, data):
        need = self.need
        lo = self.lo
        hi = self.hi
        for b in data:
            if need == 0:
                if b < 0x80:
                    continue
                lo = 0x80
                hi = 0xBF
                if 0xC2 <= b <= 0xDF:
                    need = 1
                elif 0xE1 <= b <= 0xEF:
                    need = 2
                    if b == 0xED:
                        hi = 0x9F  # U+D800..U+DFFF are surrogates
                elif b == 0xE0:
                    need = 2
                    lo = 0xA0  # overlong below U+0800
                elif b == 0xF0:
                    need = 3
                    lo = 0x90  # overlong below U+10000
                elif 0xF1 <= b <= 0xF3:
                    need = 3
                elif b == 0xF4:
                    need = 3
                    hi = 0x8F  # above U+10FFFF
                else:
                    return False
            else:
                if b < lo or b > hi:
                    return False
                lo = 0x80
                hi = 0xBF
                need -= 1
        self.need = need
        self.lo = lo
        self.hi = hi
        return True

    def complete(self):
        return self.need == 0


class Utf8Validator:
    """Validates one message's text across any number of ``feed`` calls."""

    __slots__ = ("_native", "_dec", "_dfa")

    def __init__(self, use_native=True):
        self._native = rt.utf8_decoder if use_native else None
        self._dec = None
        self._dfa = None
        self.reset()

    def reset(self):
        """Start a new message."""
        if self._native is not None:
            self._dec = self._native()
        else:
            self._dfa = Utf8Dfa()

    def feed(self, data, final=False):
        """Check the next bytes; ``final`` marks the end of the message.

        Raises:
            InvalidUtf8: at the first byte that cannot be valid UTF-8.
        """
        if self._dec is not None:
            try:
                self._dec.decode(data, final)
            except ValueError:
                raise InvalidUtf8("invalid utf-8 in text") from None
            return
        dfa = self._dfa
        if not dfa.feed(data) or (final and not dfa.complete()):
            raise InvalidUtf8("invalid utf-8 in text")


def decode_utf8(data):
    """Return data decoded as strict UTF-8, or raise InvalidUtf8."""
    if rt.utf8_decoder is None:  # pragma: no cover - MicroPython
        dfa = Utf8Dfa()
        if not dfa.feed(data) or not dfa.complete():
            raise InvalidUtf8("invalid utf-8")
    try:
        return bytes(data).decode("utf-8")
    except ValueError:
        raise InvalidUtf8("invalid utf-8") from None
