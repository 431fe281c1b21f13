"""edgegate.config.store: where the box's config comes from at start, and the order of writes."""

from edgegate.config.store import (CONFIG, LAST_KNOWN_GOOD, SAFE_DEFAULTS, ConfigStore, MemoryStorage, Storage,
                                   encode)
from edgegate.rt import json_loads
from tests.portable import TestCase

BOARD = {"name": "testboard", "mem_budget_bytes": 64 << 20}
OLD = {"listen": [{"host": "127.0.0.1", "port": 8080, "plaintext": True}],
       "routes": [{"path": "/old", "backend": {"url": "ws://127.0.0.1:9000/"}}]}
NEW = {"listen": [{"host": "127.0.0.1", "port": 8081, "plaintext": True}],
       "routes": [{"path": "/new", "backend": {"url": "ws://127.0.0.1:9001/"}}]}
INVALID = {"listen": [{"port": 70000, "plaintext": True}]}
SAFE_NOTE = "running safe defaults: no listener, every connection refused"
ROLLED_BACK = "an unconfirmed commit did not survive the restart: rolled back"


class RecordingStorage(MemoryStorage):
    """A MemoryStorage that logs every write and remove, in order."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def write(self, name, data):
        self.ops.append(("write", name))
        super().write(name, data)

    def remove(self, name):
        self.ops.append(("remove", name))
        super().remove(name)


def store_with(**files):
    """A ConfigStore named "box.json" whose storage holds ``files`` (names with . spelt _)."""
    st = RecordingStorage()
    for key, data in files.items():
        st.files[key.replace("_", ".")] = data
    return ConfigStore(st, "box.json")


def port_of(cfg):
    return cfg.listeners[0].port


class LoadTests(TestCase):
    """At start: the config, else the last known good, else safe defaults; notes say which and why."""

    def test_load_runs_the_config(self):
        s = store_with(box_json=encode(OLD), box_json_lkg=encode(NEW))
        cfg, doc, source, notes = s.load(BOARD)
        self.assertEqual((source, doc, port_of(cfg), notes), (CONFIG, OLD, 8080, []))
        self.assertEqual(s.storage.ops, [])

    def test_load_falls_back_to_last_known_good_when_the_config_is_missing(self):
        cfg, doc, source, notes = store_with(box_json_lkg=encode(OLD)).load(BOARD)
        self.assertEqual((source, doc, port_of(cfg)), (LAST_KNOWN_GOOD, OLD, 8080))
        self.assertEqual(notes, ["box.json unusable (box.json: missing)", "running the last known good config"])

    def test_load_falls_back_to_last_known_good_when_the_config_is_not_json(self):
        for raw in (b"{\"listen\": [", b"", b"\xff\xfe{}", b"nonsense"):
            with self.subTest(raw=raw):
                cfg, doc, source, notes = store_with(box_json=raw, box_json_lkg=encode(OLD)).load(BOARD)
                self.assertEqual((source, doc), (LAST_KNOWN_GOOD, OLD))
                self.assertEqual(notes, ["box.json unusable (box.json: corrupt (not JSON))",
                                         "running the last known good config"])

    def test_load_falls_back_to_last_known_good_when_the_config_is_invalid(self):
        cfg, doc, source, notes = store_with(box_json=encode(INVALID), box_json_lkg=encode(OLD)).load(BOARD)
        self.assertEqual((source, doc), (LAST_KNOWN_GOOD, OLD))
        self.assertEqual(notes, ["box.json unusable (listen[0].port: must be an integer from 0 to 65535)",
                                 "running the last known good config"])

    def test_load_runs_safe_defaults_when_nothing_is_stored(self):
        cfg, doc, source, notes = store_with().load(BOARD)
        self.assertEqual((source, doc, cfg.listeners, cfg.routes), (SAFE_DEFAULTS, None, [], []))
        self.assertEqual(notes, ["box.json unusable (box.json: missing)",
                                 "box.json.lkg unusable (box.json.lkg: missing)", SAFE_NOTE])

    def test_load_runs_safe_defaults_when_both_copies_are_unusable(self):
        cfg, doc, source, notes = store_with(box_json=b"{", box_json_lkg=encode(INVALID)).load(BOARD)
        self.assertEqual((source, doc, cfg.listeners, cfg.routes), (SAFE_DEFAULTS, None, [], []))
        self.assertEqual(notes, ["box.json unusable (box.json: corrupt (not JSON))",
                                 "box.json.lkg unusable (listen[0].port: must be an integer from 0 to 65535)",
                                 SAFE_NOTE])

    def test_load_leaves_unusable_files_in_place(self):
        s = store_with(box_json=b"{", box_json_lkg=encode(OLD))
        s.load(BOARD)
        self.assertEqual(s.storage.files["box.json"], b"{")
        self.assertEqual(s.storage.ops, [])


class PendingTests(TestCase):
    """A commit confirmed that was not confirmed before a restart never survives it."""

    def test_pending_marker_rolls_back_to_last_known_good(self):
        s = store_with(box_json=encode(NEW), box_json_lkg=encode(OLD), box_json_pending=b"{}\n")
        cfg, doc, source, notes = s.load(BOARD)
        self.assertEqual((source, doc, port_of(cfg)), (CONFIG, OLD, 8080))
        self.assertEqual(notes, [ROLLED_BACK])
        self.assertEqual(json_loads(s.storage.files["box.json"].decode()), OLD)
        self.assertTrue("box.json.pending" not in s.storage.files)
        # the document first, then the marker: a crash in between rolls back again
        self.assertEqual(s.storage.ops, [("write", "box.json"), ("remove", "box.json.pending")])

    def test_pending_marker_without_last_known_good_rolls_back_to_safe_defaults(self):
        s = store_with(box_json=encode(NEW), box_json_pending=b"{}\n")
        cfg, doc, source, notes = s.load(BOARD)
        self.assertEqual((source, doc, cfg.listeners, cfg.routes), (SAFE_DEFAULTS, None, [], []))
        self.assertEqual(notes, [ROLLED_BACK, "box.json unusable (box.json: missing)",
                                 "box.json.lkg unusable (box.json.lkg: missing)", SAFE_NOTE])
        self.assertEqual(sorted(s.storage.files), [])
        self.assertEqual(s.storage.ops, [("remove", "box.json"), ("remove", "box.json.pending")])

    def test_a_second_start_after_the_rollback_runs_the_old_config_without_notes(self):
        s = store_with(box_json=encode(NEW), box_json_lkg=encode(OLD), box_json_pending=b"{}\n")
        s.load(BOARD)
        cfg, doc, source, notes = s.load(BOARD)
        self.assertEqual((source, doc, notes), (CONFIG, OLD, []))


class SaveTests(TestCase):
    def test_save_writes_last_known_good_before_the_document(self):
        s = store_with(box_json=encode(OLD))
        s.save(NEW, OLD)
        self.assertEqual(s.storage.ops, [("write", "box.json.lkg"), ("write", "box.json")])
        self.assertEqual(s.storage.files["box.json.lkg"], encode(OLD))
        self.assertEqual(s.storage.files["box.json"], encode(NEW))

    def test_save_pending_writes_last_known_good_then_the_marker_then_the_document(self):
        s = store_with(box_json=encode(OLD))
        s.save(NEW, OLD, pending=True)
        self.assertEqual(s.storage.ops, [("write", "box.json.lkg"), ("write", "box.json.pending"),
                                         ("write", "box.json")])
        self.assertTrue("box.json.pending" in s.storage.files)

    def test_save_without_an_old_document_keeps_last_known_good_as_it_was(self):
        s = store_with()
        s.save(NEW, None)
        self.assertEqual(s.storage.ops, [("write", "box.json")])
        s.storage.ops = []
        s.save(NEW, None, pending=True)
        self.assertEqual(s.storage.ops, [("write", "box.json.pending"), ("write", "box.json")])

    def test_every_prefix_of_a_save_loads_the_old_or_the_new_document(self):
        # Replay the save's writes one at a time on copies: a crash after any of
        # them leaves a store that loads OLD or NEW, whole.
        for pending in (False, True):
            rec = store_with(box_json=encode(OLD))
            rec.save(NEW, OLD, pending=pending)
            for n in range(len(rec.storage.ops) + 1):
                with self.subTest(pending=pending, steps=n):
                    s = store_with(box_json=encode(OLD))
                    for op, name in rec.storage.ops[:n]:
                        s.storage.files[name] = rec.storage.files[name]
                    cfg, doc, source, notes = s.load(BOARD)
                    self.assertEqual(source, CONFIG)
                    if pending or n < len(rec.storage.ops):
                        self.assertEqual(doc, OLD)
                    else:
                        self.assertEqual(doc, NEW)

    def test_saved_documents_are_json_lines(self):
        s = store_with()
        s.save(NEW, OLD)
        for name in ("box.json", "box.json.lkg"):
            raw = s.storage.files[name]
            with self.subTest(name=name):
                self.assertTrue(raw.endswith(b"\n"))
        self.assertEqual(json_loads(s.storage.files["box.json"].decode()), NEW)

    def test_confirm_removes_the_pending_marker(self):
        s = store_with()
        s.save(NEW, OLD, pending=True)
        s.storage.ops = []
        s.confirm()
        self.assertEqual(s.storage.ops, [("remove", "box.json.pending")])
        cfg, doc, source, notes = s.load(BOARD)
        self.assertEqual((doc, notes), (NEW, []))

    def test_restore_writes_the_document_then_removes_the_marker(self):
        s = store_with()
        s.save(NEW, OLD, pending=True)
        s.storage.ops = []
        s.restore(OLD)
        self.assertEqual(s.storage.ops, [("write", "box.json"), ("remove", "box.json.pending")])
        self.assertEqual(s.load(BOARD)[1], OLD)


class MemoryStorageTests(TestCase):
    def test_memory_storage_reads_what_was_written_and_none_otherwise(self):
        st = MemoryStorage()
        self.assertIsNone(st.read("a"))
        st.write("a", bytearray(b"xy"))
        self.assertEqual(st.read("a"), b"xy")
        self.assertIsInstance(st.read("a"), bytes)
        st.remove("a")
        st.remove("a")
        self.assertIsNone(st.read("a"))

    def test_storage_base_class_methods_must_be_implemented(self):
        st = Storage()
        for call in (lambda: st.read("a"), lambda: st.write("a", b""), lambda: st.remove("a")):
            with self.assertRaises(NotImplementedError):
                call()
