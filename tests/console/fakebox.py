"""FakeBox: an in-memory BoxOps for console tests. It records every call and
raises whatever a test puts in ``raises[method name]``."""

from edgegate.config import ConfigError
from edgegate.console.ops import BoxOps, OpsError

PASSWORD = "correct horse"


class FakeBox(BoxOps):
    """A fake box: canned answers, a call log, a staged dict and a password."""

    def __init__(self):
        self.calls = []
        self.raises = {}
        self.password = PASSWORD
        self.running_doc = {"listen": [{"host": "0.0.0.0", "port": 8080, "plaintext": True}],
                            "routes": []}
        self.staged_doc = {"listen": [{"host": "0.0.0.0", "port": 8080, "plaintext": True}],
                           "routes": []}
        self.diff_lines = []
        self.tick_lines = []
        self.answer = {}  # method name -> return value, overriding the default
        self.status_pairs = [("board", "pi4"), ("uptime_s", 42), ("pending_confirm", "no")]
        self.conns = []
        self.route_list = []
        self.ban_list = []
        self.counters = {}
        self.records = []

    def _call(self, name, *args):
        self.calls.append((name,) + args)
        exc = self.raises.get(name)
        if exc is not None:
            raise exc

    def names(self):
        """The names of the methods called, in order (check_password arguments left out)."""
        return [c[0] for c in self.calls]

    def check_password(self, password):
        self._call("check_password")  # the argument is not kept: tests look for it in output
        return password == self.password

    def set_password(self, old, new):
        self._call("set_password")
        if old != self.password:
            raise OpsError("old password is wrong")
        if len(new) < 8:
            raise OpsError("new password is shorter than 8 characters")
        self.password = new

    def running(self):
        self._call("running")
        return self.running_doc

    def staged(self):
        self._call("staged")
        return self.staged_doc

    def set(self, path, value_text):
        self._call("set", path, value_text)
        if path.startswith("bad"):
            raise ConfigError(path, "unknown key")
        self.diff_lines.append("+ %s = %s" % (path, value_text))

    def unset(self, path):
        self._call("unset", path)
        if path.startswith("bad"):
            raise ConfigError(path, "not set")
        self.diff_lines.append("- %s" % path)

    def diff(self):
        self._call("diff")
        return list(self.diff_lines)

    def commit(self, now_ms, confirm_ms=0):
        self._call("commit", now_ms, confirm_ms)
        self.diff_lines = []
        return self.answer.get("commit", "committed: 2 changes")

    def confirm(self, now_ms):
        self._call("confirm", now_ms)
        return self.answer.get("confirm")

    def rollback(self, now_ms):
        self._call("rollback", now_ms)
        return self.answer.get("rollback", "rolled back to the previous config")

    def discard(self):
        self._call("discard")
        self.diff_lines = []

    def tick(self, now_ms):
        self._call("tick", now_ms)
        lines, self.tick_lines = self.tick_lines, []
        return lines

    def status(self, now_ms):
        self._call("status", now_ms)
        return self.status_pairs

    def connections(self, now_ms):
        self._call("connections", now_ms)
        return self.conns

    def routes(self):
        self._call("routes")
        return self.route_list

    def kick(self, conn_id):
        self._call("kick", conn_id)
        if conn_id != 7:
            raise OpsError("no connection %d" % conn_id)

    def bans(self, now_ms):
        self._call("bans", now_ms)
        return self.ban_list

    def ban(self, address, seconds, now_ms):
        self._call("ban", address, seconds, now_ms)
        if address == "nonsense":
            raise OpsError("'nonsense' is not an address")

    def unban(self, address):
        self._call("unban", address)
        if address != "10.0.0.9":
            raise OpsError("%s is not banned" % address)

    def metrics(self):
        self._call("metrics")
        return self.counters

    def log(self, n):
        self._call("log", n)
        return self.records[-n:]

    def reboot(self):
        self._call("reboot")
