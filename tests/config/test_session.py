"""edgegate.config.session: staged edits, diff, commit, commit confirmed, rollback, passwords."""

from edgegate.config import secrets
from edgegate.config.model import Config, ConfigError
from edgegate.config.session import ConfigSession, parse_value
from edgegate.config.store import ConfigStore, MemoryStorage
from edgegate.rt import json_loads, ticks_add
from tests.portable import TestCase

BOARD = {"name": "testboard", "mem_budget_bytes": 64 << 20}
PW = "correct horse"
HASH = secrets.hash_password(PW, b"0123456789abcdef", 1000)
T0 = 5000


def base_doc():
    return {"listen": [{"host": "127.0.0.1", "port": 8080, "plaintext": True}],
            "routes": [{"path": "/a", "backend": {"url": "ws://127.0.0.1:9000/"}}],
            "console": {"password_hash": HASH}}


class RecordingStorage(MemoryStorage):
    def __init__(self):
        super().__init__()
        self.ops = []

    def write(self, name, data):
        self.ops.append(("write", name))
        super().write(name, data)

    def remove(self, name):
        self.ops.append(("remove", name))
        super().remove(name)


class cheap_hashes:
    """New password hashes at 1000 iterations inside the with block (PBKDF2 is pure Python on MicroPython)."""

    def __enter__(self):
        self.real = secrets.hash_password
        real = self.real

        def cheap(password, salt=None, iterations=1000):
            return real(password, salt, 1000)

        secrets.hash_password = cheap
        return self

    def __exit__(self, *exc):
        secrets.hash_password = self.real
        return False


class Box:
    """A ConfigSession on a MemoryStorage holding ``doc``, with every applied Config recorded."""

    def __init__(self, doc=None):
        self.storage = RecordingStorage()
        self.store = ConfigStore(self.storage, "box.json")
        if doc is None:
            doc = base_doc()
        self.store.save(doc, None)
        self.storage.ops = []
        self.applied = []
        self.cs = ConfigSession(BOARD, self.store, self.applied.append, doc)

    def stored(self, name="box.json"):
        raw = self.storage.files.get(name)
        return None if raw is None else json_loads(raw.decode())

    def ports(self):
        """The listener port of each applied config, in order."""
        return [c.listeners[0].port for c in self.applied]


class ParseValueTests(TestCase):
    def test_parse_value_reads_json(self):
        for text, value in (("8080", 8080), ("true", True), ("false", False), ("null", None), ("1.5", 1.5),
                            ("\"x y\"", "x y"), ("[1, 2]", [1, 2]), ("{\"a\": {\"b\": 1}}", {"a": {"b": 1}}),
                            ("  7  ", 7)):
            with self.subTest(text=text):
                self.assertEqual(parse_value(text), value)

    def test_parse_value_takes_a_bare_word_as_a_string(self):
        for text in ("exact", "ws://127.0.0.1:9000/", "0.0.0.0", "/path", "yes"):
            with self.subTest(text=text):
                self.assertEqual(parse_value(text), text)

    def test_parse_value_refuses_broken_json_and_several_words(self):
        for text, msg in (("", "no value"), ("   ", "no value"), ("{bad", "not JSON: {bad"),
                          ("[1,", "not JSON: [1,"), ("\"open", "not JSON: \"open"),
                          ("two words", "not JSON: two words")):
            with self.subTest(text=text):
                with self.assertRaises(ValueError) as cm:
                    parse_value(text)
                self.assertEqual(str(cm.exception), msg)


class EditTests(TestCase):
    """set, unset, diff and discard change only the staged copy."""

    def test_set_stages_a_json_value(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        b.cs.set("limits", "{\"max_conns\": 10}")
        staged = b.cs.staged()
        self.assertEqual(staged["listen"][0]["port"], 9090)
        self.assertEqual(staged["limits"], {"max_conns": 10})
        self.assertEqual(b.cs.running()["listen"][0]["port"], 8080)
        self.assertEqual((b.applied, b.storage.ops), ([], []))

    def test_set_stages_a_bare_word_as_a_string(self):
        b = Box()
        b.cs.set("routes[0].match", "exact")
        b.cs.set("routes[0].backend.url", "ws://127.0.0.1:9001/x")
        r = b.cs.staged()["routes"][0]
        self.assertEqual((r["match"], r["backend"]["url"]), ("exact", "ws://127.0.0.1:9001/x"))

    def test_set_appends_a_route_at_index_equal_to_length(self):
        b = Box()
        b.cs.set("routes[1]", "{\"path\": \"/b\", \"backend\": {\"url\": \"ws://127.0.0.1:9001/\"}}")
        self.assertEqual([r["path"] for r in b.cs.staged()["routes"]], ["/a", "/b"])

    def test_set_refuses_bad_input_naming_the_path(self):
        for path, value, msg in (
            ("listen[0].port", "two words", "listen[0].port: not JSON: two words"),
            ("listen[0].port", "{", "listen[0].port: not JSON: {"),
            ("routes[5].path", "/x", "routes[5].path: index 5 out of range (1 items)"),
            ("routes.path", "/x", "routes.path: not an object"),
            ("routes[x]", "1", "routes[x]: malformed index in 'routes[x]'"),
            ("a-b", "1", "a-b: bad character '-' in 'a-b'"),
            ("", "1", "path: empty path"),
        ):
            with self.subTest(path=path):
                b = Box()
                with self.assertRaises(ConfigError) as cm:
                    b.cs.set(path, value)
                self.assertEqual(str(cm.exception), msg)
                self.assertEqual(b.cs.staged(), b.cs.running())

    def test_set_refuses_the_password_hash_saying_use_passwd(self):
        b = Box()
        with self.assertRaises(ConfigError) as cm:
            b.cs.set("console.password_hash", HASH)
        self.assertEqual(cm.exception.path, "console.password_hash")
        self.assertEqual(str(cm.exception), "console.password_hash: a secret: use passwd")
        self.assertEqual(b.cs.diff(), [])

    def test_unset_removes_from_the_staged_copy_only(self):
        b = Box()
        b.cs.unset("routes[0]")
        self.assertEqual(b.cs.staged()["routes"], [])
        self.assertEqual(len(b.cs.running()["routes"]), 1)
        with self.assertRaises(ConfigError) as cm:
            b.cs.unset("timeouts.idle_ms")
        self.assertEqual(str(cm.exception), "timeouts.idle_ms: not set")

    def test_diff_lists_staged_against_running(self):
        b = Box()
        self.assertEqual(b.cs.diff(), [])
        b.cs.set("listen[0].port", "9090")
        b.cs.set("timeouts.idle_ms", "5000")
        b.cs.unset("routes[0].backend")
        self.assertEqual(b.cs.diff(), ["~ listen[0].port: 8080 -> 9090",
                                       "- routes[0].backend.url",
                                       "+ timeouts.idle_ms = 5000"])

    def test_unsetting_or_replacing_a_secrets_parent_keeps_the_secret(self):
        b = Box()
        b.cs.unset("console")
        self.assertEqual(b.cs.diff(), [])
        b.cs.set("console", '{"max_failures": 3}')
        self.assertEqual(b.cs.diff(), ["+ console.max_failures = 3"])
        with self.assertRaises(ConfigError) as cm:
            b.cs.unset("console.password_hash")
        self.assertEqual(str(cm.exception), "console.password_hash: a secret: use passwd")

    def test_diff_shows_the_password_hash_redacted(self):
        b = Box()
        b.cs.staged_doc["console"]["password_hash"] = secrets.hash_password("other pass", b"x" * 8, 1000)
        self.assertEqual(b.cs.diff(), ["~ console.password_hash: \"<hashed>\" -> \"<hashed>\""])

    def test_running_and_staged_are_redacted_copies(self):
        b = Box()
        for shown in (b.cs.running(), b.cs.staged()):
            self.assertEqual(shown["console"], {"password_hash": "<hashed>"})
        b.cs.running()["listen"][0]["port"] = 1
        self.assertEqual(b.cs.running()["listen"][0]["port"], 8080)

    def test_discard_drops_staged_changes(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        b.cs.discard()
        self.assertEqual(b.cs.diff(), [])
        self.assertEqual(b.cs.staged(), b.cs.running())


class CommitTests(TestCase):
    def test_commit_applies_a_config_and_persists_the_document(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        self.assertEqual(b.cs.commit(T0), "committed 1 change(s)")
        self.assertEqual(len(b.applied), 1)
        self.assertIsInstance(b.applied[0], Config)
        self.assertEqual(b.ports(), [9090])
        self.assertEqual(b.storage.ops, [("write", "box.json.lkg"), ("write", "box.json")])
        self.assertEqual(b.stored()["listen"][0]["port"], 9090)
        self.assertEqual(b.stored("box.json.lkg"), base_doc())
        self.assertEqual(b.cs.running()["listen"][0]["port"], 9090)
        self.assertEqual((b.cs.diff(), b.cs.commits, b.cs.source), ([], 1, "config"))

    def test_commit_counts_every_changed_leaf(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        b.cs.set("routes[1]", "{\"path\": \"/b\", \"backend\": {\"url\": \"ws://127.0.0.1:9001/\"}}")
        self.assertEqual(b.cs.commit(T0), "committed 3 change(s)")

    def test_commit_with_nothing_staged_still_persists_and_applies(self):
        b = Box()
        self.assertEqual(b.cs.commit(T0), "committed 0 change(s)")
        self.assertEqual(b.ports(), [8080])

    def test_invalid_commit_changes_nothing(self):
        for path, value, where in (("listen[0].port", "70000", "listen[0].port"),
                                   ("routes[0].backend.url", "http://x/", "routes[0].backend.url"),
                                   ("limits.max_conns", "0", "limits.max_conns"),
                                   ("colour", "red", "colour")):
            with self.subTest(path=path):
                b = Box()
                b.cs.set(path, value)
                staged = b.cs.staged()
                with self.assertRaises(ConfigError) as cm:
                    b.cs.commit(T0)
                self.assertEqual(cm.exception.path, where)
                self.assertEqual((b.applied, b.storage.ops, b.cs.commits), ([], [], 0))
                self.assertEqual(b.cs.running(), secrets.redact(base_doc()))
                self.assertEqual(b.cs.staged(), staged)

    def test_invalid_commit_during_a_confirm_window_keeps_the_window(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        b.cs.commit(T0, 2000)
        b.cs.set("listen[0].port", "-1")
        with self.assertRaises(ConfigError):
            b.cs.commit(T0 + 100)
        self.assertEqual(b.cs.pending_remaining_ms(T0 + 100), 1900)
        self.assertTrue("box.json.pending" in b.storage.files)


class CommitConfirmedTests(TestCase):
    """commit confirmed: the box rolls back by itself at the deadline unless confirmed first."""

    def committed(self, confirm_ms=2000, now=T0):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        self.assertEqual(b.cs.commit(now, confirm_ms),
                         "committed 1 change(s); rolls back in %d s unless confirmed" % (confirm_ms // 1000))
        return b

    def test_commit_confirmed_applies_and_writes_a_pending_marker(self):
        b = self.committed()
        self.assertEqual(b.ports(), [9090])
        self.assertEqual(b.storage.ops, [("write", "box.json.lkg"), ("write", "box.json.pending"),
                                         ("write", "box.json")])
        self.assertEqual(b.cs.pending_remaining_ms(T0), 2000)
        self.assertEqual(b.cs.pending_remaining_ms(T0 + 1500), 500)
        self.assertEqual(b.cs.pending_remaining_ms(T0 + 9999), 0)

    def test_tick_before_the_deadline_does_nothing(self):
        b = self.committed()
        for t in (T0, T0 + 1, T0 + 1999):
            with self.subTest(now=t):
                self.assertEqual(b.cs.tick(t), [])
        self.assertEqual((b.ports(), b.stored()["listen"][0]["port"]), ([9090], 9090))

    def test_tick_at_the_deadline_rolls_back_applies_and_persists_the_old_config(self):
        b = self.committed()
        b.storage.ops = []
        self.assertEqual(b.cs.tick(T0 + 2000),
                         ["commit not confirmed within 2 s: rolled back to the previous config"])
        self.assertEqual(b.ports(), [9090, 8080])
        self.assertEqual(b.stored(), base_doc())
        self.assertEqual(b.storage.ops, [("write", "box.json"), ("remove", "box.json.pending")])
        self.assertEqual(b.cs.running(), secrets.redact(base_doc()))
        self.assertEqual((b.cs.diff(), b.cs.pending_remaining_ms(T0 + 2000)), ([], 0))
        self.assertEqual(b.cs.tick(T0 + 5000), [])
        self.assertEqual(len(b.applied), 2)

    def test_tick_long_after_the_deadline_rolls_back_once(self):
        b = self.committed()
        self.assertEqual(len(b.cs.tick(T0 + 60000)), 1)
        self.assertEqual(b.cs.tick(T0 + 60001), [])
        self.assertEqual(b.ports(), [9090, 8080])

    def test_confirm_stops_the_rollback(self):
        b = self.committed()
        b.storage.ops = []
        self.assertEqual(b.cs.confirm(T0 + 1000), "commit confirmed")
        self.assertEqual(b.storage.ops, [("remove", "box.json.pending")])
        self.assertEqual(b.cs.tick(T0 + 2000), [])
        self.assertEqual(b.cs.tick(T0 + 10000), [])
        self.assertEqual((b.ports(), b.stored()["listen"][0]["port"]), ([9090], 9090))

    def test_confirm_without_a_pending_commit_is_refused(self):
        b = Box()
        with self.assertRaises(ConfigError) as cm:
            b.cs.confirm(T0)
        self.assertEqual(str(cm.exception), "confirm: no commit is waiting for confirmation")
        b = self.committed()
        b.cs.confirm(T0)
        with self.assertRaises(ConfigError):
            b.cs.confirm(T0)

    def test_a_plain_commit_during_the_window_confirms_first(self):
        b = self.committed()
        b.cs.set("timeouts.idle_ms", "5000")
        b.storage.ops = []
        self.assertEqual(b.cs.commit(T0 + 500), "committed 1 change(s)")
        self.assertEqual(b.storage.ops, [("remove", "box.json.pending"), ("write", "box.json.lkg"),
                                         ("write", "box.json")])
        self.assertEqual(b.cs.tick(T0 + 2000), [])
        self.assertEqual(b.stored("box.json.lkg")["listen"][0]["port"], 9090)
        self.assertEqual(b.stored()["timeouts"], {"idle_ms": 5000})
        self.assertEqual(b.ports(), [9090, 9090])

    def test_a_second_commit_confirmed_during_the_window_restarts_the_clock(self):
        b = self.committed()
        b.cs.set("timeouts.idle_ms", "5000")
        b.cs.commit(T0 + 1000, 3000)
        self.assertEqual(b.cs.tick(T0 + 3999), [])
        self.assertEqual(len(b.cs.tick(T0 + 4000)), 1)
        # back to the first commit, which the second one confirmed
        self.assertEqual(b.stored()["listen"][0]["port"], 9090)
        self.assertTrue("timeouts" not in b.stored())

    def test_commit_confirmed_deadline_survives_tick_wraparound(self):
        # On MicroPython ticks wrap; ticks_add(0, -500) is 500 ms before the wrap.
        now = ticks_add(0, -500)
        b = self.committed(1000, now)
        self.assertEqual(b.cs.tick(ticks_add(now, 999)), [])
        self.assertEqual(b.cs.pending_remaining_ms(ticks_add(now, 600)), 400)
        self.assertEqual(len(b.cs.tick(ticks_add(now, 1000))), 1)
        self.assertEqual(b.ports(), [9090, 8080])

    def test_rollback_during_the_window_ends_it(self):
        b = self.committed()
        self.assertEqual(b.cs.rollback(T0 + 100), "rolled back to the previous config")
        self.assertEqual(b.cs.tick(T0 + 2000), [])
        self.assertEqual(b.stored(), base_doc())
        self.assertTrue("box.json.pending" not in b.storage.files)
        self.assertEqual(b.ports(), [9090, 8080])


class RollbackTests(TestCase):
    def test_rollback_returns_to_the_previous_commit_persisted_and_applied(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        b.cs.commit(T0)
        b.storage.ops = []
        self.assertEqual(b.cs.rollback(T0 + 1), "rolled back to the previous config")
        self.assertEqual(b.ports(), [9090, 8080])
        self.assertEqual(b.storage.ops, [("write", "box.json.lkg"), ("write", "box.json")])
        self.assertEqual(b.stored(), base_doc())
        self.assertEqual(b.stored("box.json.lkg")["listen"][0]["port"], 9090)
        self.assertEqual(b.cs.running(), secrets.redact(base_doc()))

    def test_rollback_twice_returns_to_the_rolled_back_commit(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        b.cs.commit(T0)
        b.cs.rollback(T0)
        b.cs.rollback(T0)
        self.assertEqual(b.ports(), [9090, 8080, 9090])

    def test_rollback_without_a_previous_commit_is_refused(self):
        b = Box()
        with self.assertRaises(ConfigError) as cm:
            b.cs.rollback(T0)
        self.assertEqual(str(cm.exception), "rollback: no previous config to roll back to")
        self.assertEqual((b.applied, b.storage.ops), ([], []))

    def test_rollback_drops_staged_edits(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        b.cs.commit(T0)
        b.cs.set("timeouts.idle_ms", "5000")
        b.cs.rollback(T0)
        self.assertEqual(b.cs.diff(), [])


class PasswordTests(TestCase):
    def test_check_password_uses_the_running_hash(self):
        b = Box()
        self.assertTrue(b.cs.check_password(PW))
        self.assertFalse(b.cs.check_password("wrong"))

    def test_nobody_logs_in_without_a_password_hash(self):
        d = base_doc()
        del d["console"]
        self.assertFalse(Box(d).cs.check_password(PW))
        self.assertFalse(Box(d).cs.check_password(""))

    def test_set_password_with_the_wrong_old_password_is_refused(self):
        b = Box()
        with self.assertRaises(ConfigError) as cm:
            b.cs.set_password("wrong", "new password", T0)
        self.assertEqual(cm.exception.path, "console.password_hash")
        self.assertEqual(str(cm.exception), "console.password_hash: old password is wrong")
        self.assertEqual((b.applied, b.storage.ops), ([], []))
        self.assertTrue(b.cs.check_password(PW))

    def test_set_password_refuses_a_short_new_password(self):
        b = Box()
        for new in ("", "short", "1234567"):
            with self.subTest(new=new):
                with self.assertRaises(ConfigError) as cm:
                    b.cs.set_password(PW, new, T0)
                self.assertEqual(str(cm.exception), "console.password_hash: new password under 8 characters")
        self.assertEqual((b.applied, b.storage.ops), ([], []))

    def test_set_password_commits_the_new_hash_at_once(self):
        b = Box()
        with cheap_hashes():
            self.assertEqual(b.cs.set_password(PW, "new password", T0), "password changed")
        self.assertTrue(b.cs.check_password("new password"))
        self.assertFalse(b.cs.check_password(PW))
        stored = b.stored()["console"]["password_hash"]
        self.assertTrue(secrets.check_password("new password", stored))
        self.assertEqual(b.stored("box.json.lkg"), base_doc())
        self.assertEqual(b.storage.ops, [("write", "box.json.lkg"), ("write", "box.json")])
        self.assertEqual(len(b.applied), 1)
        self.assertEqual(b.applied[0].console.password_hash, stored)
        self.assertTrue("new password" not in b.storage.files["box.json"].decode())

    def test_set_password_keeps_staged_edits_and_leaves_them_uncommitted(self):
        b = Box()
        b.cs.set("listen[0].port", "9090")
        with cheap_hashes():
            b.cs.set_password(PW, "new password", T0)
        self.assertEqual(b.cs.diff(), ["~ listen[0].port: 8080 -> 9090"])
        self.assertEqual(b.stored()["listen"][0]["port"], 8080)
        b.cs.commit(T0)
        self.assertTrue(secrets.check_password("new password", b.stored()["console"]["password_hash"]))
        self.assertEqual(b.stored()["listen"][0]["port"], 9090)

    def test_set_password_hashes_at_the_default_cost(self):
        b = Box()
        b.cs.set_password(PW, "new password", T0)
        iterations = secrets.parse_hash(b.stored()["console"]["password_hash"])[0]
        self.assertEqual(iterations, secrets.DEFAULT_ITERATIONS)


class SafeDefaultsTests(TestCase):
    """A box on safe defaults (no usable config) can still be repaired from the console."""

    def safe_box(self):
        b = Box(base_doc())
        b.cs.board = dict(BOARD, factory_password_hash=HASH)
        b.cs.running_doc = None
        b.cs.staged_doc = {}
        b.cs.source = "safe-defaults"
        return b

    def test_console_accepts_the_boards_factory_password_only_on_safe_defaults(self):
        b = self.safe_box()
        self.assertTrue(b.cs.check_password(PW))
        self.assertFalse(b.cs.check_password("wrong"))
        plain = Box(base_doc())
        plain.cs.board = dict(BOARD, factory_password_hash=secrets.hash_password("factory", b"f" * 16, 1000))
        self.assertFalse(plain.cs.check_password("factory"))

    def test_passwd_on_safe_defaults_is_staged_for_the_next_commit(self):
        b = self.safe_box()
        with cheap_hashes():
            self.assertEqual(b.cs.set_password(PW, "new password 1", T0),
                             "password staged: it takes effect with the next commit")
        self.assertIn("password_hash", b.cs.staged_doc["console"])

    def test_unconfirmed_commit_from_safe_defaults_rolls_back_to_safe_defaults(self):
        b = self.safe_box()
        for k, v in base_doc().items():
            b.cs.staged_doc[k] = v
        b.cs.commit(T0, 2000)
        self.assertEqual(b.cs.tick(ticks_add(T0, 2000)),
                         ["commit not confirmed within 2 s: rolled back to the previous config"])
        self.assertIsNone(b.cs.running_doc)
        self.assertEqual(b.cs.source, "safe-defaults")
        self.assertIsNone(b.storage.read("box.json"))
        self.assertEqual(b.applied[-1].listeners, [])
