"""edgegate.config.paths: parse a path, get, set and unset through it, diff two documents."""

from edgegate.config import paths
from edgegate.rt import json_dumps
from tests.portable import TestCase


def show(path, value):
    return json_dumps(value)


def doc():
    return {"listen": [{"host": "127.0.0.1", "port": 8080, "plaintext": True}],
            "routes": [{"path": "/a", "backend": {"url": "ws://b:1/"}}],
            "limits": {"max_conns": 10}}


class ParsePathTests(TestCase):
    """Dotted names with [N] indexes."""

    def test_parse_path_splits_names_and_indexes(self):
        for text, parts in (
            ("listen", ["listen"]),
            ("routes[2].backend.url", ["routes", 2, "backend", "url"]),
            ("a[0][1]", ["a", 0, 1]),
            ("a[0][1].b", ["a", 0, 1, "b"]),
            ("limits.max_conns", ["limits", "max_conns"]),
            ("x_1.Y2", ["x_1", "Y2"]),
            ("a[10]", ["a", 10]),
        ):
            with self.subTest(path=text):
                self.assertEqual(paths.parse_path(text), parts)

    def test_parse_path_refuses_malformed_paths_saying_why(self):
        for text, msg in (
            ("", "empty path"),
            ("a.", "empty segment"),
            (".a", "empty segment"),
            ("a..b", "empty segment"),
            ("[0]", "empty segment"),
            ("[0].a", "empty segment"),
            ("a[x]", "malformed index in 'a[x]'"),
            ("a[]", "malformed index in 'a[]'"),
            ("a[-1]", "malformed index in 'a[-1]'"),
            ("a[0", "malformed index in 'a[0'"),
            ("a[0]b", "malformed index in 'a[0]b'"),
            ("a[0]x[1]", "malformed index in 'a[0]x[1]'"),
            ("a-b", "bad character '-' in 'a-b'"),
            ("a.b c", "bad character ' ' in 'b c'"),
            ("a.b$", "bad character '$' in 'b$'"),
        ):
            with self.subTest(path=text):
                with self.assertRaises(ValueError) as cm:
                    paths.parse_path(text)
                self.assertEqual(str(cm.exception), msg)

    def test_parse_path_refuses_a_non_string(self):
        for value in (None, 3, ["a"]):
            with self.subTest(value=value):
                with self.assertRaises(ValueError) as cm:
                    paths.parse_path(value)
                self.assertEqual(str(cm.exception), "empty path")

    def test_format_path_is_the_inverse_of_parse_path(self):
        for text in ("listen", "routes[2].backend.url", "a[0][1]", "a[0][1].b"):
            with self.subTest(path=text):
                self.assertEqual(paths.format_path(paths.parse_path(text)), text)


class GetTests(TestCase):
    def test_get_reads_a_leaf_an_object_and_a_list_item(self):
        d = doc()
        self.assertEqual(paths.get(d, ["routes", 0, "backend", "url"]), "ws://b:1/")
        self.assertEqual(paths.get(d, ["limits"]), {"max_conns": 10})
        self.assertEqual(paths.get(d, ["listen", 0, "port"]), 8080)
        self.assertIs(paths.get(d, []), d)

    def test_get_refuses_what_is_not_there(self):
        for parts, msg in (
            (["timeouts"], "not set"),
            (["limits", "idle_ms"], "not set"),
            (["routes", 1], "index 1 out of range (1 items)"),
            (["limits", 0], "not a list"),
            (["routes", "path"], "not an object"),
            (["limits", "max_conns", "x"], "not an object"),
        ):
            with self.subTest(parts=parts):
                with self.assertRaises(ValueError) as cm:
                    paths.get(doc(), parts)
                self.assertEqual(str(cm.exception), msg)


class SetValueTests(TestCase):
    def test_set_value_replaces_a_leaf(self):
        d = doc()
        paths.set_value(d, ["listen", 0, "port"], 9090)
        self.assertEqual(d["listen"][0]["port"], 9090)

    def test_set_value_creates_missing_objects(self):
        d = doc()
        paths.set_value(d, ["timeouts", "idle_ms"], 5000)
        self.assertEqual(d["timeouts"], {"idle_ms": 5000})
        paths.set_value(d, ["a", "b", "c"], True)
        self.assertEqual(d["a"], {"b": {"c": True}})

    def test_set_value_creates_a_missing_list_when_an_index_follows(self):
        d = {}
        paths.set_value(d, ["routes", 0], {"path": "/"})
        self.assertEqual(d, {"routes": [{"path": "/"}]})

    def test_set_value_appends_with_index_equal_to_length(self):
        d = doc()
        route = {"path": "/b", "backend": {"url": "ws://c:2/"}}
        paths.set_value(d, ["routes", 1], route)
        self.assertEqual(len(d["routes"]), 2)
        self.assertEqual(d["routes"][1], route)
        paths.set_value(d, ["listen", 1], {"port": 1, "plaintext": True})
        self.assertEqual(d["listen"][1], {"port": 1, "plaintext": True})

    def test_set_value_replaces_a_list_item_below_length(self):
        d = doc()
        paths.set_value(d, ["routes", 0], {"path": "/z"})
        self.assertEqual(d["routes"], [{"path": "/z"}])

    def test_set_value_refuses_an_index_past_the_end(self):
        for parts, msg in (
            (["routes", 2], "index 2 out of range (1 items)"),
            (["routes", 5, "path"], "index 5 out of range (1 items)"),
            (["routes", 1, "path"], "index 1 out of range (1 items)"),
        ):
            with self.subTest(parts=parts):
                d = doc()
                with self.assertRaises(ValueError) as cm:
                    paths.set_value(d, parts, "/x")
                self.assertEqual(str(cm.exception), msg)
                self.assertEqual(d, doc())

    def test_set_value_refuses_the_wrong_container(self):
        for parts, msg in (
            (["limits", 0], "not a list"),
            (["routes", "x"], "not an object"),
            (["limits", "max_conns", "x"], "not an object"),
            (["listen", "port", "x"], "not an object"),
        ):
            with self.subTest(parts=parts):
                with self.assertRaises(ValueError) as cm:
                    paths.set_value(doc(), parts, 1)
                self.assertEqual(str(cm.exception), msg)

    def test_set_value_refuses_to_replace_the_whole_document(self):
        with self.assertRaises(ValueError) as cm:
            paths.set_value(doc(), [], {})
        self.assertEqual(str(cm.exception), "cannot replace the whole document")


class UnsetTests(TestCase):
    def test_unset_removes_a_key(self):
        d = doc()
        paths.unset(d, ["limits", "max_conns"])
        self.assertEqual(d["limits"], {})
        paths.unset(d, ["limits"])
        self.assertEqual(sorted(d), ["listen", "routes"])

    def test_unset_removes_a_list_item_and_shifts_the_rest(self):
        d = {"routes": ["a", "b", "c"]}
        paths.unset(d, ["routes", 0])
        self.assertEqual(d, {"routes": ["b", "c"]})

    def test_unset_refuses_what_is_not_there(self):
        for parts, msg in (
            (["timeouts"], "not set"),
            (["limits", "idle_ms"], "not set"),
            (["routes", 1], "not set"),
            (["limits", 0], "not set"),
            (["routes", "x"], "not set"),
            (["timeouts", "idle_ms"], "not set"),
            ([], "cannot remove the whole document"),
        ):
            with self.subTest(parts=parts):
                d = doc()
                with self.assertRaises(ValueError) as cm:
                    paths.unset(d, parts)
                self.assertEqual(str(cm.exception), msg)
                self.assertEqual(d, doc())


class DiffTests(TestCase):
    def test_diff_of_equal_documents_is_empty(self):
        self.assertEqual(paths.diff(doc(), doc(), show), [])
        self.assertEqual(paths.diff({}, {}, show), [])

    def test_diff_lists_added_removed_and_changed_leaves_in_path_order(self):
        old = doc()
        new = doc()
        new["listen"][0]["port"] = 9090
        del new["limits"]
        new["timeouts"] = {"idle_ms": 5000}
        new["routes"].append({"path": "/b", "backend": {"url": "ws://c:2/"}})
        self.assertEqual(paths.diff(old, new, show), [
            "- limits.max_conns",
            "~ listen[0].port: 8080 -> 9090",
            "+ routes[1].backend.url = \"ws://c:2/\"",
            "+ routes[1].path = \"/b\"",
            "+ timeouts.idle_ms = 5000",
        ])

    def test_diff_tells_a_number_from_a_boolean(self):
        self.assertEqual(paths.diff({"a": 1}, {"a": True}, show), ["~ a: 1 -> true"])
        self.assertEqual(paths.diff({"a": 0}, {"a": False}, show), ["~ a: 0 -> false"])

    def test_diff_from_an_empty_document_lists_only_additions(self):
        self.assertEqual(paths.diff({}, {"a": 1}, show), ["+ a = 1"])
        self.assertEqual(paths.diff({"a": 1}, {}, show), ["- a"])

    def test_diff_shows_empty_containers_as_leaves(self):
        self.assertEqual(paths.diff({"routes": []}, {"routes": [], "limits": {}}, show), ["+ limits = {}"])

    def test_diff_renders_values_through_show(self):
        lines = paths.diff({"a": "x"}, {"a": "y", "b": 2}, lambda k, v: "<%s>" % k)
        self.assertEqual(lines, ["~ a: <a> -> <a>", "+ b = <b>"])

    def test_flatten_lists_every_leaf_in_a_stable_order(self):
        self.assertEqual(paths.flatten({"b": [1, {"c": None}], "a": {}}),
                         [("a", {}), ("b[0]", 1), ("b[1].c", None)])
