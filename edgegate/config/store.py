"""Persistence of the config document with a last-known-good copy and a pending-confirm marker.

The store never writes a file in place: each write goes through the
``Storage`` it is given (write a temporary file, flush, fsync, rename over the
old one). Three names per config: ``NAME`` (the committed document),
``NAME.lkg`` (the one before it, last known good) and ``NAME.pending`` (present
while a ``commit confirmed`` waits; an unconfirmed commit never survives a
restart). At start: a pending marker rolls back to ``NAME.lkg``; a missing,
corrupt or invalid ``NAME`` falls back to ``NAME.lkg``, then to safe defaults
that deny every connection. ``load`` says which happened.
"""

from edgegate.rt import json_dumps, json_loads

from .model import ConfigError, parse, safe_defaults

CONFIG = "config"
LAST_KNOWN_GOOD = "last-known-good"
SAFE_DEFAULTS = "safe-defaults"


class Storage:
    """Where documents live. ``write`` must be atomic (tmp, flush, fsync, rename)."""

    def read(self, name):
        """The bytes stored under name, or None when there is none."""
        raise NotImplementedError

    def write(self, name, data):
        raise NotImplementedError

    def remove(self, name):
        """Remove name if present."""
        raise NotImplementedError


class MemoryStorage(Storage):
    """A Storage in a dict: the quick relay (nothing persisted) and portable tests."""

    def __init__(self):
        self.files = {}

    def read(self, name):
        return self.files.get(name)

    def write(self, name, data):
        self.files[name] = bytes(data)

    def remove(self, name):
        self.files.pop(name, None)


def encode(doc):
    return (json_dumps(doc) + "\n").encode("utf-8")


class ConfigStore:
    def __init__(self, storage, name):
        self.storage = storage
        self.name = name
        self.lkg_name = name + ".lkg"
        self.pending_name = name + ".pending"

    def _load_doc(self, name, board):
        raw = self.storage.read(name)
        if raw is None:
            raise ConfigError(name, "missing")
        try:
            doc = json_loads(bytes(raw).decode("utf-8"))
        except (ValueError, UnicodeError):
            raise ConfigError(name, "corrupt (not JSON)") from None
        return doc, parse(doc, board)

    def load(self, board):
        """Return (Config, document or None, source, notes).

        ``source`` is ``config``, ``last-known-good`` or ``safe-defaults``;
        ``notes`` are lines for the console and log saying what happened.
        """
        notes = []
        if self.storage.read(self.pending_name) is not None:
            raw = self.storage.read(self.lkg_name)
            if raw is not None:
                self.storage.write(self.name, raw)
            else:  # the commit replaced safe defaults: back to them
                self.storage.remove(self.name)
            self.storage.remove(self.pending_name)
            notes.append("an unconfirmed commit did not survive the restart: rolled back")
        try:
            doc, cfg = self._load_doc(self.name, board)
            return cfg, doc, CONFIG, notes
        except ConfigError as e:
            notes.append("%s unusable (%s)" % (self.name, e))
        try:
            doc, cfg = self._load_doc(self.lkg_name, board)
            notes.append("running the last known good config")
            return cfg, doc, LAST_KNOWN_GOOD, notes
        except ConfigError as e:
            notes.append("%s unusable (%s)" % (self.lkg_name, e))
        notes.append("running safe defaults: no listener, every connection refused")
        return safe_defaults(board), None, SAFE_DEFAULTS, notes

    def save(self, new_doc, old_doc, pending=False):
        """Persist ``new_doc``; ``old_doc`` becomes last known good.

        Order: last known good, then the pending marker, then the document, so
        a crash between any two steps leaves the old or the new config, whole.
        """
        if old_doc is not None:
            self.storage.write(self.lkg_name, encode(old_doc))
        if pending:
            self.storage.write(self.pending_name, b"{}\n")
        self.storage.write(self.name, encode(new_doc))

    def confirm(self):
        self.storage.remove(self.pending_name)

    def restore(self, doc):
        """Write ``doc`` back as the committed document (None: remove it) and drop the pending marker."""
        if doc is None:
            self.storage.remove(self.name)
        else:
            self.storage.write(self.name, encode(doc))
        self.storage.remove(self.pending_name)
