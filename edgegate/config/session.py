"""Editing the box's config: a staged copy, diff, commit, commit confirmed, rollback, discard.

``ConfigSession`` owns the running and staged documents. ``commit`` validates
the staged copy (nothing is applied or written if it is invalid), persists it
through a ``ConfigStore``, then hands the new ``Config`` to ``apply``. A
``commit confirmed`` rolls back by itself at its deadline unless confirmed
(``tick`` drives the clock). Secrets never leave in clear: documents returned
for display are redacted, and the console password is set only by
``set_password``.
"""

from edgegate.rt import json_dumps, json_loads, ticks_add, ticks_diff

from . import paths, secrets
from .model import ConfigError, parse, safe_defaults


def _copy(doc):
    return json_loads(json_dumps(doc))


def _show(path, value):
    if secrets.is_secret(path):
        return '"%s"' % secrets.REDACTED
    return json_dumps(value)


def parse_value(text):
    """A typed value: JSON when it parses (``8080``, ``true``, ``"x"``, ``{...}``), else the bare word."""
    text = text.strip()
    if not text:
        raise ValueError("no value")
    try:
        return json_loads(text)
    except ValueError:
        if text[0] in "{[\"" or " " in text:
            raise ValueError("not JSON: %s" % text[:40]) from None
        return text


class ConfigSession:
    """Args:
        board: the board profile (dict) every document is validated against.
        store: a ConfigStore.
        apply: callable(Config) putting a validated config into service.
        doc: the running document (None when running safe defaults).
    """

    def __init__(self, board, store, apply, doc, source="config", prepare=None):
        self.board = board
        self.store = store
        self.apply = apply
        # prepare(Config): checks what validation cannot (files named by the
        # config); raises ConfigError, before anything is written or applied.
        self.prepare = prepare
        self.running_doc = doc
        self.staged_doc = _copy(doc) if doc is not None else {}
        self.previous_doc = None
        self.source = source
        self.pending_deadline = None
        self.pending_ms = 0
        self.commits = 0

    # -- reading --
    def running(self):
        return secrets.redact(self.running_doc) if self.running_doc is not None else {}

    def staged(self):
        return secrets.redact(self.staged_doc)

    def diff(self):
        return paths.diff(self.running_doc or {}, self.staged_doc, _show)

    # -- editing the staged copy --
    def _parts(self, path):
        try:
            return paths.parse_path(path)
        except ValueError as e:
            raise ConfigError(path or "path", str(e)) from None

    def _secrets_of(self, doc):
        out = []
        for path in secrets.SECRET_PATHS:
            try:
                out.append((path, paths.get(doc, list(path))))
            except ValueError:
                pass
        return out

    def _edit(self, path, change):
        # Editing a parent (set console {...}, unset console) must not drop or
        # replace a secret: those change only through passwd.
        parts = self._parts(path)
        if secrets.is_secret(paths.format_path(parts)):
            raise ConfigError(path, "a secret: use passwd")
        kept = self._secrets_of(self.staged_doc)
        try:
            change(parts)
            for p, value in kept:
                paths.set_value(self.staged_doc, list(p), value)
        except ValueError as e:
            raise ConfigError(path, str(e)) from None

    def set(self, path, value_text):
        self._edit(path, lambda parts: paths.set_value(self.staged_doc, parts, parse_value(value_text)))

    def unset(self, path):
        self._edit(path, lambda parts: paths.unset(self.staged_doc, parts))

    def discard(self):
        self.staged_doc = _copy(self.running_doc) if self.running_doc is not None else {}

    # -- commits --
    def _activate(self, doc, cfg):
        self.apply(cfg)
        self.running_doc = _copy(doc)
        self.staged_doc = _copy(doc)
        self.source = "config"
        self.commits += 1

    def commit(self, now_ms, confirm_ms=0):
        """Validate, persist and apply the staged copy; returns a summary line.

        Raises:
            ConfigError: the staged copy is invalid (nothing changes).
        """
        cfg = parse(self.staged_doc, self.board)
        if self.prepare is not None:
            self.prepare(cfg)
        if self.pending_deadline is not None:
            self.confirm(now_ms)
        new = _copy(self.staged_doc)
        old = self.running_doc
        self.store.save(new, old, pending=confirm_ms > 0)
        self._activate(new, cfg)
        self.previous_doc = old
        changes = len(paths.diff(old or {}, new, _show))
        if confirm_ms > 0:
            self.pending_deadline = ticks_add(now_ms, confirm_ms)
            self.pending_ms = confirm_ms
            return "committed %d change(s); rolls back in %d s unless confirmed" % (changes, confirm_ms // 1000)
        return "committed %d change(s)" % changes

    def confirm(self, now_ms):
        if self.pending_deadline is None:
            raise ConfigError("confirm", "no commit is waiting for confirmation")
        self.store.confirm()
        self.pending_deadline = None
        return "commit confirmed"

    def _back(self):
        prev = self.previous_doc
        if prev is None:  # the commit replaced safe defaults: back to them
            now_running = self.running_doc
            self.store.restore(None)
            self.pending_deadline = None
            self.apply(safe_defaults(self.board))
            self.running_doc = None
            self.staged_doc = {}
            self.source = "safe-defaults"
            self.previous_doc = now_running
            return
        cfg = parse(prev, self.board)
        self.store.restore(prev) if self.pending_deadline is not None else self.store.save(prev, self.running_doc)
        self.pending_deadline = None
        now_running = self.running_doc
        self._activate(prev, cfg)
        self.previous_doc = now_running

    def rollback(self, now_ms):
        """Return to the config before the last commit (persisted and applied)."""
        if self.previous_doc is None:
            raise ConfigError("rollback", "no previous config to roll back to")
        self._back()
        return "rolled back to the previous config"

    def tick(self, now_ms):
        """Lines to report; rolls an unconfirmed commit back at its deadline."""
        if self.pending_deadline is not None and ticks_diff(now_ms, self.pending_deadline) >= 0:
            secs = self.pending_ms // 1000
            self._back()
            return ["commit not confirmed within %d s: rolled back to the previous config" % secs]
        return []

    def pending_remaining_ms(self, now_ms):
        if self.pending_deadline is None:
            return 0
        return max(0, ticks_diff(self.pending_deadline, now_ms))

    # -- secrets --
    def check_password(self, password):
        """Against the running config's hash; on safe defaults (no usable config),
        against the board's factory hash so the box can still be repaired."""
        if self.running_doc is None:
            stored = self.board.get("factory_password_hash")
        else:
            stored = self.running_doc.get("console", {}).get("password_hash")
        if not stored:
            return False
        return secrets.check_password(password, stored)

    def set_password(self, old, new, now_ms):
        """Change the console password: checked, hashed, committed at once (not staged)."""
        if not self.check_password(old):
            raise ConfigError("console.password_hash", "old password is wrong")
        if len(new) < secrets.MIN_PASSWORD_CHARS:
            raise ConfigError("console.password_hash",
                              "new password under %d characters" % secrets.MIN_PASSWORD_CHARS)
        if self.running_doc is None:
            # Safe defaults: nothing to commit it into yet; it goes with the next commit.
            self.staged_doc.setdefault("console", {})["password_hash"] = secrets.hash_password(new)
            return "password staged: it takes effect with the next commit"
        doc = _copy(self.running_doc)
        doc.setdefault("console", {})["password_hash"] = secrets.hash_password(new)
        cfg = parse(doc, self.board)
        self.store.save(doc, self.running_doc)
        staged = self.staged_doc
        staged.setdefault("console", {})["password_hash"] = doc["console"]["password_hash"]
        self.previous_doc = self.running_doc
        self._activate(doc, cfg)
        self.staged_doc = staged
        return "password changed"
