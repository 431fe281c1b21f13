"""The serial console shell, sans-I/O: typed lines in, lines to print out.

The transport reads the serial line, strips ``\\r\\n`` and calls
``receive_line`` (or ``receive_overlong`` when a line went past
``max_line_bytes``, which it drops), calls ``tick`` about once a second, and
prints what each call returns. Every call returns a list of str. Every item is
a line to print followed by ``\\r\\n``, except that when ``shell.prompt`` is not
empty a non-empty list ends with it, to print without a newline. ``tick`` output
starts with ``""`` to end the line the prompt is on. The transport echoes typed
characters only while ``wants_echo`` is true, and restarts the box once
``wants_reboot`` is true.

The prompt is ``edgegate# ``, or ``edgegate(staged)# `` while ``ops.diff()``
is not empty. Nothing typed makes a call raise: errors become ``error: ...``
lines, and an unexpected exception from ``ops`` (or from this module) prints
``error: internal error``, counts in ``internal_errors`` and keeps the session.
"""

from edgegate.console.ops import OpsError
from edgegate.rt import const, ticks_diff
from edgegate.ws.errors import EdgegateError

# Session modes
_LOGIN = const(0)   # "password: "
_CMD = const(1)     # logged in, at the command prompt
_OLD = const(2)     # passwd: old password
_NEW = const(3)     # passwd: new password
_AGAIN = const(4)   # passwd: new password again
_REBOOT = const(5)  # "reboot? [y/N] "
_HALT = const(6)    # reboot confirmed; input is refused

_MAX_CONFIRM_S = const(86400)
_MAX_BAN_S = const(2678400)  # 31 days, what the gateway's ban table takes
_LOG_LINES = const(20)
_MAX_LOG_LINES = const(1000)
_MAX_HELD = const(16)  # ops.tick lines kept while nobody is logged in

PROMPT = "edgegate# "
PROMPT_STAGED = "edgegate(staged)# "
_PROMPTS = {_LOGIN: "password: ", _OLD: "old password: ", _NEW: "new password: ",
            _AGAIN: "new password again: ", _REBOOT: "reboot? [y/N] ", _HALT: ""}

_SHOW_USAGE = "show running|staged|diff|status|connections|routes|bans|metrics|log [N]"

# name, usage, one-line help, detail lines (``help NAME``)
COMMANDS = (
    ("show", _SHOW_USAGE, "print the config, the box's state or its log",
     ("running      the config in effect (JSON, keys sorted)",
      "staged       the config being edited (JSON, keys sorted)",
      "diff         staged against running",
      "status       board, uptime, config source, pending confirm",
      "connections  client connections (kick ID closes one)",
      "routes       routes and the sessions on each",
      "bans         banned addresses and the time left",
      "metrics      counters",
      "log [N]      the N most recent log records (default 20, at most 1000)")),
    ("set", "set PATH VALUE", "stage a config value",
     ("PATH names a field, e.g. routes[0].backend.url",
      "VALUE is the rest of the line, as JSON (8080, true, \"x\", {...});",
      "a bare word is taken as a string")),
    ("unset", "unset PATH", "remove a field from the staged config", ()),
    ("commit", "commit [confirmed SECONDS]", "validate, save and apply the staged config",
     ("with confirmed, the box rolls back by itself after SECONDS (1..86400)",
      "unless confirm (or a plain commit) comes first",)),
    ("confirm", "confirm", "keep the config of a commit confirmed", ()),
    ("rollback", "rollback", "return to the previous committed config", ()),
    ("discard", "discard", "drop the staged changes", ()),
    ("kick", "kick ID", "close a client connection (ID from show connections)", ()),
    ("ban", "ban ADDRESS SECONDS", "refuse new connections from ADDRESS for SECONDS (1..2678400)", ()),
    ("unban", "unban ADDRESS", "lift a ban", ()),
    ("passwd", "passwd", "change the console password",
     ("asks for the old password, then the new one twice; nothing is echoed",)),
    ("reboot", "reboot", "restart the box (asks first)", ()),
    ("logout", "logout", "end this session", ()),
    ("help", "help [CMD]", "list the commands, or explain one", ()),
)
_BY_NAME = {c[0]: c for c in COMMANDS}


class Shell:
    """One console session on one serial line; see the module docstring for the I/O rules."""

    def __init__(self, ops, max_line_bytes=256, max_failures=5, lockout_ms=60000,
                 idle_logout_ms=600000, banner="edgegate console"):
        for name, v in (("max_line_bytes", max_line_bytes), ("max_failures", max_failures),
                        ("lockout_ms", lockout_ms), ("idle_logout_ms", idle_logout_ms)):
            if not isinstance(v, int) or v <= 0:
                raise ValueError("%s must be a positive integer" % name)
        self.ops = ops
        self.max_line_bytes = max_line_bytes
        self.max_failures = max_failures
        self.lockout_ms = lockout_ms
        self.idle_logout_ms = idle_logout_ms
        self.banner = banner
        self.wants_reboot = False
        self.internal_errors = 0
        self.last_error = None  # the last unexpected exception, for the transport's log
        self.prompt = ""        # the prompt the last non-empty output ended with
        self._mode = _LOGIN
        self._failures = 0
        self._locked_at = None
        self._last_ms = 0
        self._pw = None         # passwd: (old,) then (old, new)
        self._held = []
        self._tick_failing = False

    @property
    def logged_in(self):
        return _CMD <= self._mode <= _REBOOT

    @property
    def wants_echo(self):
        return self._mode != _LOGIN and not _OLD <= self._mode <= _AGAIN

    # -- the four entry points --

    def start(self, now_ms):
        """Begin a session: the banner and the password prompt. Lockout state is kept."""
        self._last_ms = now_ms
        if self._mode == _HALT:
            return self._finish([self.banner, "reboot in progress"])
        self._end_session()
        return self._finish([self.banner])

    def receive_line(self, line, now_ms):
        """Handle one typed line (without its newline); returns the lines to print."""
        return self._guarded(line, now_ms)

    def receive_overlong(self, now_ms):
        """The transport dropped a line longer than ``max_line_bytes``; the session goes on."""
        return self._guarded(None, now_ms)

    def tick(self, now_ms):
        """Forward ``ops.tick`` and log out an idle session; [] when there is nothing to say."""
        out = []
        try:
            out = ["%s" % (x,) for x in self.ops.tick(now_ms) or ()]
            self._tick_failing = False
        except Exception as e:  # noqa: BLE001 - a broken box must not take the console down
            self._count(e)
            if not self._tick_failing:
                out = ["error: internal error"]
            self._tick_failing = True
        self._lock_left_ms(now_ms)  # expire a lockout before the tick counter could wrap
        if not self.logged_in:
            if self._mode == _LOGIN:
                self._held = (self._held + out)[-_MAX_HELD:]
            return []
        if self._idle(now_ms):
            out.append("logged out: idle for %d s" % (self.idle_logout_ms // 1000))
            self._end_session()
        if not out:
            return []
        return self._finish([""] + out)

    # -- internals --

    def _guarded(self, line, now_ms):
        try:
            out = self._receive(line, now_ms)
        except Exception as e:  # noqa: BLE001 - nothing typed may crash the shell
            self._count(e)
            if self._mode != _LOGIN and self._mode != _HALT:
                self._mode = _CMD
            self._pw = None
            out = ["error: internal error"]
        return self._finish(out)

    def _count(self, e):
        self.internal_errors += 1
        self.last_error = e

    def _finish(self, out):
        out = [_printable(s) for s in out]
        self.prompt = self._prompt()
        if self.prompt:
            out.append(self.prompt)
        return out

    def _prompt(self):
        if self._mode != _CMD:
            return _PROMPTS[self._mode]
        try:
            staged = bool(self.ops.diff())
        except Exception as e:  # noqa: BLE001
            self._count(e)
            staged = False
        return PROMPT_STAGED if staged else PROMPT

    def _end_session(self):
        self._mode = _LOGIN
        self._pw = None

    def _idle(self, now_ms):
        return max(0, ticks_diff(now_ms, self._last_ms)) >= self.idle_logout_ms

    def _lock_left_ms(self, now_ms):
        if self._locked_at is None:
            return 0
        left = self.lockout_ms - max(0, ticks_diff(now_ms, self._locked_at))
        if left <= 0:
            self._locked_at = None
            self._failures = 0
            return 0
        return left

    def _receive(self, line, now_ms):
        mode = self._mode
        if mode == _HALT:
            return ["reboot in progress"]
        if mode != _LOGIN and self._idle(now_ms):
            # The line was typed into a session that had already timed out: drop it.
            self._end_session()
            return ["logged out: idle for %d s" % (self.idle_logout_ms // 1000)]
        self._last_ms = now_ms
        if line is not None:
            try:
                if len(line) > self.max_line_bytes or len(line.encode()) > self.max_line_bytes:
                    line = None
            except UnicodeError:  # CPython: a lone surrogate cannot come off a serial line
                return self._abort(["error: line is not valid text"])
        if line is None:
            return self._abort(["error: line longer than %d bytes refused" % self.max_line_bytes])
        if mode == _LOGIN:
            return self._login(line, now_ms)
        if mode == _CMD:
            return self._command(line, now_ms)
        if mode == _REBOOT:
            return self._reboot(line)
        return self._passwd(line)

    def _abort(self, out):
        # A refused line ends a passwd or reboot question, never the session.
        if _OLD <= self._mode <= _AGAIN:
            out.append("password not changed")
        elif self._mode == _REBOOT:
            out.append("reboot cancelled")
        if self._mode != _LOGIN:
            self._mode = _CMD
        self._pw = None
        return out

    def _login(self, password, now_ms):
        left = self._lock_left_ms(now_ms)
        if left:
            # No check_password call while locked: the answer would be an oracle.
            return ["locked: try again in %d s" % ((left + 999) // 1000)]
        if not password:
            return []
        try:
            ok = self.ops.check_password(password) is True
        except Exception as e:  # noqa: BLE001 - counts as a failure, says nothing more
            self._count(e)
            ok = False
        if ok:
            self._failures = 0
            self._mode = _CMD
            out = ["logged in (help lists the commands)"]
            if self._held:
                out.append("while nobody was logged in:")
                out.extend("  " + s for s in self._held)
                self._held = []
            return out
        self._failures += 1
        out = ["login incorrect"]
        if self._failures >= self.max_failures:
            self._locked_at = now_ms
            out.append("locked: try again in %d s" % ((self.lockout_ms + 999) // 1000))
        return out

    def _passwd(self, line):
        if self._mode == _OLD:
            self._pw = (line,)
            self._mode = _NEW
            return []
        if self._mode == _NEW:
            self._pw = (self._pw[0], line)
            self._mode = _AGAIN
            return []
        old, new = self._pw
        self._pw = None
        self._mode = _CMD
        if line != new:
            return ["error: the new passwords differ", "password not changed"]
        try:
            said = _said(self.ops.set_password(old, new), "password changed")
            plain = ["password changed"]
        except EdgegateError as e:
            said = [_error_line(e), "password not changed"]
            plain = ["error: refused", "password not changed"]
        for line in said:
            if (old and old in line) or (new and new in line):
                return plain  # the same outcome, without anything that could be a password
        return said

    def _reboot(self, answer):
        self._mode = _CMD
        if _spaces(answer).lower() not in ("y", "yes"):
            return ["reboot cancelled"]
        try:
            self.ops.reboot()
        except EdgegateError as e:
            return [_error_line(e)]
        self.wants_reboot = True
        self._mode = _HALT
        return ["rebooting"]

    def _command(self, line, now_ms):
        name, args = _head(_spaces(line))
        if not name:
            return []
        if name not in _BY_NAME:
            return ["error: unknown command '%s' (try help)" % name]
        try:
            return getattr(self, "_do_" + name)(args, now_ms)
        except EdgegateError as e:
            return [_error_line(e)]

    # -- commands: each takes the rest of the line and returns lines --

    def _do_help(self, args, now_ms):
        if not args:
            out = ["commands (help CMD for details):"]
            out.extend(_columns([("  " + c[0], c[2]) for c in COMMANDS]))
            return out
        c = _BY_NAME.get(args)
        if c is None:
            return ["error: unknown command '%s' (try help)" % args]
        return ["usage: " + c[1], c[2]] + ["  " + s for s in c[3]]

    def _do_show(self, args, now_ms):
        what, rest = _head(args)
        ops = self.ops
        if what == "log":
            n = _LOG_LINES
            if rest:
                n = _number(rest, 1, _MAX_LOG_LINES)
                if n is None:
                    return ["error: N must be a number from 1 to %d" % _MAX_LOG_LINES]
            return ["%s" % (r,) for r in ops.log(n)] or ["log is empty"]
        if rest or what not in ("running", "staged", "diff", "status", "connections",
                                "routes", "bans", "metrics"):
            return ["usage: " + _SHOW_USAGE]
        if what == "running":
            return pretty_json(ops.running())
        if what == "staged":
            return pretty_json(ops.staged())
        if what == "diff":
            return ["%s" % (d,) for d in ops.diff()] or ["no staged changes"]
        if what == "status":
            return _columns([("%s" % (k,), "%s" % (v,)) for k, v in ops.status(now_ms)]) or ["no status"]
        if what == "metrics":
            m = ops.metrics()
            rows = [("%s" % (k,), "%s" % (m[k],)) for k in sorted(m, key=_key_text)]
            return _columns(rows) or ["no metrics"]
        if what == "connections":
            rows = [_cells(c, ("id", "peer", "path", "state"))
                    + (_seconds(c.get("age_ms"), 0),) + _cells(c, ("frames_in", "frames_out"))
                    for c in ops.connections(now_ms)]
            head = ("id", "peer", "path", "state", "age", "in", "out")
            return _columns([head] + rows) if rows else ["no connections"]
        if what == "routes":
            cols = ("path", "match", "backend", "messages", "active")
            rows = [_cells(r, cols) for r in ops.routes()]
            return _columns([cols] + rows) if rows else ["no routes"]
        rows = [(_cells(b, ("address",)) + (_seconds(b.get("remaining_ms"), 999),)
                 + _cells(b, ("reason",))) for b in ops.bans(now_ms)]
        return _columns([("address", "left", "reason")] + rows) if rows else ["no bans"]

    def _do_set(self, args, now_ms):
        path, value = _head(args)
        if not value:
            return ["usage: set PATH VALUE"]
        self.ops.set(path, value)
        return []

    def _do_unset(self, args, now_ms):
        path, rest = _head(args)
        if not path or rest:
            return ["usage: unset PATH"]
        self.ops.unset(path)
        return []

    def _do_commit(self, args, now_ms):
        if not args:
            return _said(self.ops.commit(now_ms), "committed")
        word, rest = _head(args)
        if word != "confirmed" or not rest:
            return ["usage: commit [confirmed SECONDS]"]
        s = _number(rest, 1, _MAX_CONFIRM_S)
        if s is None:
            return ["error: SECONDS must be a number from 1 to %d" % _MAX_CONFIRM_S]
        return _said(self.ops.commit(now_ms, s * 1000),
                     "committed; rolls back in %d s unless confirmed" % s)

    def _do_confirm(self, args, now_ms):
        if args:
            return ["usage: confirm"]
        return _said(self.ops.confirm(now_ms), "commit confirmed")

    def _do_rollback(self, args, now_ms):
        if args:
            return ["usage: rollback"]
        return _said(self.ops.rollback(now_ms), "rolled back")

    def _do_discard(self, args, now_ms):
        if args:
            return ["usage: discard"]
        return _said(self.ops.discard(), "staged changes discarded")

    def _do_kick(self, args, now_ms):
        n = _number(args, 0, 999999999)
        if n is None:
            return ["usage: kick ID"]
        return _said(self.ops.kick(n), "connection %d closed" % n)

    def _do_ban(self, args, now_ms):
        address, rest = _head(args)
        if not rest or " " in rest:
            return ["usage: ban ADDRESS SECONDS"]
        s = _number(rest, 1, _MAX_BAN_S)
        if s is None:
            return ["error: SECONDS must be a number from 1 to %d" % _MAX_BAN_S]
        return _said(self.ops.ban(address, s, now_ms), "%s banned for %d s" % (address, s))

    def _do_unban(self, args, now_ms):
        if not args or " " in args:
            return ["usage: unban ADDRESS"]
        return _said(self.ops.unban(args), "%s unbanned" % args)

    def _do_passwd(self, args, now_ms):
        if args:
            return ["usage: passwd"]
        self._mode = _OLD
        return []

    def _do_reboot(self, args, now_ms):
        if args:
            return ["usage: reboot"]
        self._mode = _REBOOT
        return []

    def _do_logout(self, args, now_ms):
        if args:
            return ["usage: logout"]
        self._end_session()
        return ["logged out"]


# -- helpers --

def _error_line(e):
    """``error: <path>: <message>`` for a ConfigError, ``error: <message>`` otherwise."""
    msg = "%s" % (e,)
    path = getattr(e, "path", None)
    if path is not None and not isinstance(e, OpsError):
        path = "%s" % (path,)
        if msg.startswith(path + ": "):  # ConfigError already says "path: message"
            msg = msg[len(path) + 2:]
        if path:
            msg = path + ": " + msg
    return "error: " + (msg or "refused")


def _said(result, default):
    """What an ops call answered: its summary line(s), or ``default`` when it said nothing."""
    if isinstance(result, str):
        return [result or default]
    if isinstance(result, (list, tuple)) and result:
        return ["%s" % (r,) for r in result]
    return [default]


def _spaces(line):
    return line.replace("\t", " ").strip(" ")


def _head(s):
    """(first word, rest with leading spaces removed) of a line already passed through _spaces."""
    k = s.find(" ")
    if k < 0:
        return s, ""
    return s[:k], s[k + 1:].lstrip(" ")


def _number(s, lo, hi):
    """The int that ASCII digits ``s`` spell if lo <= it <= hi, else None."""
    if not s or len(s) > 9:
        return None
    for c in s:
        if c not in "0123456789":
            return None
    n = int(s)
    return n if lo <= n <= hi else None


def _cells(d, keys):
    return tuple("%s" % (d.get(k, "-"),) for k in keys)


def _seconds(ms, round_up):
    if isinstance(ms, int) and not isinstance(ms, bool):
        return "%ds" % ((ms + round_up) // 1000)
    return "-"


def _columns(rows):
    """Rows of str cells as lines, each column padded to its widest cell."""
    widths = []
    for r in rows:
        for i, c in enumerate(r):
            if i == len(widths):
                widths.append(0)
            if len(c) > widths[i]:
                widths[i] = len(c)
    return ["  ".join(c + " " * (widths[i] - len(c)) for i, c in enumerate(r)).rstrip(" ")
            for r in rows]


def _printable(s):
    """``s`` with control characters and lone surrogates shown as escapes, never sent raw."""
    for c in s:
        o = ord(c)
        if o < 0x20 or 0x7F <= o < 0xA0 or 0xD800 <= o < 0xE000:
            break
    else:
        return s
    out = []
    for c in s:
        o = ord(c)
        if o < 0x20 or 0x7F <= o < 0xA0:
            out.append("\\x%02x" % o)
        elif 0xD800 <= o < 0xE000:
            out.append("\\u%04x" % o)
        else:
            out.append(c)
    return "".join(out)


_ESCAPES = {"\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def json_string(s):
    """``s`` as an ASCII JSON string literal (what CPython's ``json.dumps(s)`` writes)."""
    out = ["\""]
    for c in s:
        o = ord(c)
        if 0x20 <= o < 0x7F and c != "\"" and c != "\\":
            out.append(c)
        elif c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif o > 0xFFFF:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 | (o >> 10), 0xDC00 | (o & 0x3FF)))
        else:
            out.append("\\u%04x" % o)
    out.append("\"")
    return "".join(out)


def _key_text(k):
    # JSON keys are strings: null, true, false and numbers are written as JSON would
    if isinstance(k, str):
        return k
    if k is None or isinstance(k, (bool, int, float)):
        return _scalar(k)
    return "%s" % (k,)


def _scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return "%d" % v
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json_string(v)
    return json_string("%s" % (v,))


def pretty_json(value):
    """``value`` as indented JSON lines with keys sorted: the same text on every interpreter.

    For JSON data without floats this is CPython's
    ``json.dumps(value, indent=2, sort_keys=True).split("\\n")``.
    """
    out = []
    _pretty(value, "", "", "", out)
    return out


def _pretty(v, indent, head, tail, out):
    if isinstance(v, dict):
        items = [(_key_text(k), v[k]) for k in v]
        items.sort(key=lambda kv: kv[0])
        opener, closer = "{", "}"
    elif isinstance(v, (list, tuple)):
        items = [(None, x) for x in v]
        opener, closer = "[", "]"
    else:
        out.append(indent + head + _scalar(v) + tail)
        return
    if not items:
        out.append(indent + head + opener + closer + tail)
        return
    out.append(indent + head + opener)
    inner = indent + "  "
    last = len(items) - 1
    for i, (k, x) in enumerate(items):
        _pretty(x, inner, "" if k is None else json_string(k) + ": ", "," if i < last else "", out)
    out.append(indent + closer + tail)
