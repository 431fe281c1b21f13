"""The document rules behind ``edgegate check`` that need no I/O: origins a browser can send,
one listener per address, and a top-level value that is an object (also what a console commit meets)."""

from edgegate.config.model import ConfigError, parse
from tests.portable import TestCase

BOARD = {"name": "testboard", "mem_budget_bytes": 64 << 20}


def doc(origins=None, listen=None):
    route = {"path": "/chat", "backend": {"url": "ws://127.0.0.1:9000/"}}
    if origins is not None:
        route["origins"] = origins
    return {"listen": listen or [{"host": "127.0.0.1", "port": 8080, "plaintext": True}], "routes": [route]}


def _plain(host, port):
    return {"host": host, "port": port, "plaintext": True}


class OriginTests(TestCase):
    def refused(self, origin, suggestion=None):
        with self.assertRaises(ConfigError) as cm:
            parse(doc(["https://ok.example", origin]), BOARD)
        self.assertEqual(cm.exception.path, "routes[0].origins[1]")
        msg = str(cm.exception)
        if suggestion is not None:
            self.assertIn('write "%s"' % suggestion, msg)
        return msg

    def test_check_refuses_an_origin_with_a_trailing_slash_naming_the_field(self):
        msg = self.refused("https://app.example/", "https://app.example")
        self.assertIn('"https://app.example/" never matches', msg)

    def test_an_origin_with_an_uppercase_scheme_or_host_is_refused_with_its_lowercase_form(self):
        self.refused("HTTP://App.Example", "http://app.example")
        self.refused("https://APP.example:8443", "https://app.example:8443")

    def test_an_origin_without_a_scheme_is_refused(self):
        msg = self.refused("app.example")
        self.assertIn("scheme", msg)

    def test_an_origin_with_a_path_query_or_fragment_is_refused(self):
        self.refused("https://app.example/chat", "https://app.example")
        self.refused("https://app.example?x=1", "https://app.example")
        self.refused("https://app.example#top", "https://app.example")

    def test_an_origin_with_userinfo_is_refused(self):
        self.refused("https://user:pw@app.example", "https://app.example")

    def test_an_origin_with_the_schemes_default_port_is_refused_because_browsers_leave_it_out(self):
        self.refused("https://app.example:443", "https://app.example")
        self.refused("http://app.example:80", "http://app.example")
        self.refused("https://app.example:08443", "https://app.example:8443")

    def test_an_origin_with_a_bad_port_or_no_host_is_refused(self):
        for o in ("https://app.example:0", "https://app.example:65536", "https://app.example:x",
                  "https://app.example:", "https://", "https://:8443", "file:///etc/passwd"):
            self.refused(o)

    def test_an_origin_with_whitespace_control_or_non_ascii_characters_is_refused(self):
        for o in (" https://app.example", "https://app.example ", "https://app.exa\x00mple",
                  "https://app.example\r\n", "https://b\u00fccher.example", "https://*.example"):
            msg = self.refused(o)
            self.assertTrue("\x00" not in msg and "\r" not in msg, msg)

    def test_a_pattern_other_than_the_lone_wildcard_is_refused(self):
        self.refused("*.app.example")

    def test_serialised_origins_the_wildcard_and_null_are_accepted(self):
        ok = ["*", "null", "https://app.example", "http://localhost:3000", "https://[::1]:8443",
              "http://127.0.0.1", "https://xn--bcher-kva.example", "chrome-extension://abcdefghijklmnop",
              "capacitor://localhost", "https://app.example."]
        cfg = parse(doc(ok), BOARD)
        self.assertEqual(cfg.routes[0].policy.origins, ok)


class ListenerTests(TestCase):
    def refused(self, listen, path):
        with self.assertRaises(ConfigError) as cm:
            parse(doc(listen=listen), BOARD)
        self.assertEqual(cm.exception.path, path)
        return str(cm.exception)

    def test_two_listeners_on_one_host_and_port_are_refused_naming_the_second(self):
        msg = self.refused([_plain("127.0.0.1", 8080), _plain("127.0.0.1", 8080)], "listen[1]")
        self.assertIn("listen[0]", msg)

    def test_a_wildcard_listener_overlaps_a_specific_address_on_the_same_port(self):
        self.refused([_plain("0.0.0.0", 8080), _plain("127.0.0.1", 8080)], "listen[1]")
        self.refused([_plain("10.0.0.7", 8443), _plain("0.0.0.0", 8443)], "listen[1]")
        self.refused([_plain("::", 8080), _plain("::1", 8080)], "listen[1]")
        self.refused([_plain("[::1]", 8080), _plain("::1", 8080)], "listen[1]")
        self.refused([_plain("LOCALHOST", 8080), _plain("localhost", 8080)], "listen[1]")

    def test_listeners_on_different_ports_families_or_port_zero_are_accepted(self):
        ok = [_plain("0.0.0.0", 8080), _plain("0.0.0.0", 8081), _plain("::", 8080), _plain("127.0.0.1", 0),
              _plain("127.0.0.1", 0), _plain("10.0.0.1", 9000), _plain("10.0.0.2", 9000)]
        self.assertEqual(len(parse(doc(listen=ok), BOARD).listeners), 7)


class TopLevelTests(TestCase):
    def test_a_top_level_array_is_refused_naming_the_document(self):
        with self.assertRaises(ConfigError) as cm:
            parse([{"listen": []}], BOARD)
        self.assertEqual(str(cm.exception), "document: must be a JSON object, not an array")

    def test_a_top_level_array_is_refused_naming_the_file_when_the_caller_names_it(self):
        for value, kind in (([], "an array"), ("x", "a string"), (1, "a number"), (None, "null"), (True, "true")):
            with self.assertRaises(ConfigError) as cm:
                parse(value, BOARD, "box.json")
            self.assertEqual(str(cm.exception), "box.json: must be a JSON object, not %s" % kind)

