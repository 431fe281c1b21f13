"""The contract between the console shell and the box it runs on (documentation and a base class).

The shell (``edgegate.console.shell``) is sans-I/O: it turns typed lines into
calls on a ``BoxOps`` and the answers into lines. The gateway provides the real
``BoxOps`` (config session + running gateway); tests provide their own.
Every method is synchronous and takes ``now_ms`` where time matters.
Config errors are raised as ``edgegate.config.ConfigError`` (``.path`` names
the field); every other refusal is ``OpsError`` with a message fit to print.
No method ever returns a secret: password and key material come back as
"<hashed>" or "<file:...>".
"""

from edgegate.ws.errors import EdgegateError


class OpsError(EdgegateError):
    """A console request the box refused (unknown connection, nothing to roll back, ...)."""


class BoxOps:
    """What a box offers its console. Subclasses implement every method."""

    # -- authentication --
    def check_password(self, password):
        """True if ``password`` is the console password (constant-time compare of hashes)."""
        raise NotImplementedError

    def set_password(self, old, new):
        """Change the console password; raises OpsError if ``old`` is wrong or ``new`` too weak."""
        raise NotImplementedError

    # -- configuration: a staged copy is edited, then committed --
    def running(self):
        """The running config document (dict), secrets redacted."""
        raise NotImplementedError

    def staged(self):
        """The staged config document (dict), secrets redacted."""
        raise NotImplementedError

    def set(self, path, value_text):
        """Set ``path`` (e.g. ``routes[0].backend.url``) in the staged copy.

        ``value_text`` is JSON (``8080``, ``true``, ``"x"``, ``{...}``); a bare word
        is taken as a string. Raises ConfigError naming the path.
        """
        raise NotImplementedError

    def unset(self, path):
        """Remove ``path`` from the staged copy; raises ConfigError."""
        raise NotImplementedError

    def diff(self):
        """Lines describing staged vs running (``+ path = value`` / ``- path`` / ``~ path: a -> b``)."""
        raise NotImplementedError

    def commit(self, now_ms, confirm_ms=0):
        """Validate, persist and apply the staged copy; returns a one-line summary.

        With ``confirm_ms`` the commit rolls back by itself at ``now_ms + confirm_ms``
        unless ``confirm`` (or a plain ``commit``) comes first. Raises ConfigError.
        """
        raise NotImplementedError

    def confirm(self, now_ms):
        """Confirm a pending ``commit confirmed``; raises OpsError if none is pending."""
        raise NotImplementedError

    def rollback(self, now_ms):
        """Return to the previous committed config (persisted and applied); a summary line."""
        raise NotImplementedError

    def discard(self):
        """Drop staged changes (staged becomes a copy of running)."""
        raise NotImplementedError

    def tick(self, now_ms):
        """Time passes: returns lines to show (e.g. an automatic rollback), usually []."""
        raise NotImplementedError

    # -- the running gateway --
    def status(self, now_ms):
        """List of (name, value) pairs: board, uptime, config source, sessions, pending confirm..."""
        raise NotImplementedError

    def connections(self, now_ms):
        """List of dicts: id, peer, path, state, age_ms, frames_in, frames_out."""
        raise NotImplementedError

    def routes(self):
        """List of dicts: path, match, backend, messages (the message policy: name, then
        ``proto=name`` per sub-protocol override; "-" when none), active (sessions on it)."""
        raise NotImplementedError

    def kick(self, conn_id):
        """Close connection ``conn_id`` (int) with 1008; raises OpsError if unknown."""
        raise NotImplementedError

    def bans(self, now_ms):
        """List of dicts: address, remaining_ms, reason."""
        raise NotImplementedError

    def ban(self, address, seconds, now_ms):
        """Refuse new connections from ``address`` for ``seconds``; raises OpsError."""
        raise NotImplementedError

    def unban(self, address):
        """Lift a ban; raises OpsError if there is none."""
        raise NotImplementedError

    def metrics(self):
        """Dict of counter name -> int."""
        raise NotImplementedError

    def log(self, n):
        """The n most recent log records as one-line strings (no secrets)."""
        raise NotImplementedError

    def reboot(self):
        """Ask the box to restart (drains connections first)."""
        raise NotImplementedError
