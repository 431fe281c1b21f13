"""edgegate.config.model: every refusal names its path; defaults come from the board."""

from edgegate.config import limits as limits_mod
from edgegate.config.model import ConfigError, parse, parse_ws_url, safe_defaults
from edgegate.config.secrets import hash_password
from tests.portable import TestCase

# A small board: 1 MiB budget, 4 KiB frames. With these numbers the gateway
# derives ring_pool_rings = (1 MiB / 4) // 4110 = 63 and max_conns =
# (1 MiB - 63 * 4110) // (2048 + 2 * 1024) = 192; with message policies the
# assembly pool takes 1 MiB / 16 = 65536 more, and max_conns is 176.
BOARD = {
    "name": "testboard",
    "mem_budget_bytes": 1 << 20,
    "limits": {"rx_ring_bytes": 4110, "max_frame_bytes": 4096, "max_message_bytes": 8192,
               "write_buffer_bytes": 1024, "max_header_bytes": 2048, "max_request_line": 1024,
               "conn_overhead_bytes": 2048},
    "timeouts": {"idle_ms": 1234},
}
LISTEN = [{"host": "127.0.0.1", "port": 8080, "plaintext": True}]
ROUTE = {"path": "/echo", "backend": {"url": "ws://127.0.0.1:9000/"}}
HASH = hash_password("correct horse", b"0123456789abcdef", 1000)


def doc(**over):
    d = {"listen": [dict(ln) for ln in LISTEN], "routes": [ROUTE]}
    for k, v in over.items():
        d[k] = v
    return d


class RefusalTests(TestCase):
    """Each invalid document is refused with ConfigError naming the exact field."""

    def check(self, d, path, msg):
        with self.assertRaises(ConfigError) as cm:
            parse(d, BOARD)
        self.assertEqual(cm.exception.path, path)
        self.assertEqual(str(cm.exception), "%s: %s" % (path, msg))

    def test_parse_refuses_a_document_that_is_not_an_object(self):
        for d, kind in (([], "an array"), ("x", "a string"), (None, "null"), (3, "a number")):
            with self.subTest(doc=d):
                self.check(d, "document", "must be a JSON object, not " + kind)

    def test_parse_refuses_unknown_keys_naming_them(self):
        for d, path in (
            (doc(colour="red"), "colour"),
            (doc(listen=[{"port": 1, "plaintext": True, "ssl": 1}]), "listen[0].ssl"),
            (doc(routes=[ROUTE, {"path": "/", "backend": {"url": "ws://a/"}, "weight": 2}]), "routes[1].weight"),
            (doc(routes=[{"path": "/", "backend": {"url": "ws://a/", "host": "b"}}]), "routes[0].backend.host"),
            (doc(limits={"max_sessions": 3}), "limits.max_sessions"),
            (doc(timeouts={"idle_s": 3}), "timeouts.idle_s"),
            (doc(console={"password": "x"}), "console.password"),
        ):
            with self.subTest(path=path):
                self.check(d, path, "unknown key")

    def test_parse_refuses_bad_listeners(self):
        for listen, path, msg in (
            (None, "listen", "must be a non-empty list"),
            ([], "listen", "must be a non-empty list"),
            ({"port": 1}, "listen", "must be a non-empty list"),
            (["127.0.0.1:80"], "listen[0]", "must be an object"),
            ([{"plaintext": True}], "listen[0].port", "missing"),
            ([{"port": "80", "plaintext": True}], "listen[0].port", "must be an integer from 0 to 65535"),
            ([{"port": 65536, "plaintext": True}], "listen[0].port", "must be an integer from 0 to 65535"),
            ([{"port": -1, "plaintext": True}], "listen[0].port", "must be an integer from 0 to 65535"),
            ([{"port": True, "plaintext": True}], "listen[0].port", "must be an integer from 0 to 65535"),
            ([{"host": "", "port": 1, "plaintext": True}], "listen[0].host", "must be a non-empty string"),
            ([{"host": 7, "port": 1, "plaintext": True}], "listen[0].host", "must be a non-empty string"),
            ([{"port": 1, "plaintext": "yes"}], "listen[0].plaintext", "must be true or false"),
            ([{"port": 1, "plaintext": 1}], "listen[0].plaintext", "must be true or false"),
        ):
            with self.subTest(listen=listen):
                d = doc()
                if listen is None:
                    del d["listen"]
                else:
                    d["listen"] = listen
                self.check(d, path, msg)

    def test_parse_refuses_bad_routes(self):
        for routes, path, msg in (
            ({"path": "/"}, "routes", "must be a list"),
            (["/echo"], "routes[0]", "must be an object"),
            ([{"backend": {"url": "ws://a/"}}], "routes[0].path", "must be a string starting with /"),
            ([{"path": "echo", "backend": {"url": "ws://a/"}}], "routes[0].path", "must be a string starting with /"),
            ([{"path": "", "backend": {"url": "ws://a/"}}], "routes[0].path", "must be a string starting with /"),
            ([{"path": "/", "match": "regex", "backend": {"url": "ws://a/"}}], "routes[0].match",
             "must be prefix or exact"),
            ([{"path": "/"}], "routes[0].backend", "must be an object"),
            ([{"path": "/", "backend": "ws://a/"}], "routes[0].backend", "must be an object"),
            ([{"path": "/", "backend": {"url": "ws://a:x/"}}], "routes[0].backend.url", "bad port"),
            ([{"path": "/", "backend": {"url": "ws://a:0/"}}], "routes[0].backend.url", "bad host or port"),
            ([{"path": "/", "backend": {"url": "ws://:80/"}}], "routes[0].backend.url", "bad host or port"),
            ([{"path": "/", "backend": {"url": "ws://[::1/"}}], "routes[0].backend.url", "unclosed [ in host"),
            ([{"path": "/", "backend": {"url": "ws://a/b c"}}], "routes[0].backend.url", "whitespace in path"),
        ):
            with self.subTest(routes=routes):
                self.check(doc(routes=routes), path, msg)

    def test_parse_refuses_a_listener_that_does_not_say_plaintext_naming_the_listener(self):
        # Which field is named (plaintext, or tls once TLS listeners exist) is the TLS work's to pin.
        for listen, prefix in (([{"port": 1}], "listen[0]."),
                               ([LISTEN[0], {"port": 2, "plaintext": False}], "listen[1].")):
            with self.subTest(listen=listen):
                with self.assertRaises(ConfigError) as cm:
                    parse(doc(listen=listen), BOARD)
                self.assertTrue(cm.exception.path.startswith(prefix), cm.exception.path)
                self.assertTrue(str(cm.exception).startswith(cm.exception.path + ": "))

    def test_parse_refuses_a_backend_url_of_another_scheme_naming_the_url(self):
        for routes, path in (
            ([{"path": "/", "backend": {}}], "routes[0].backend.url"),
            ([ROUTE, {"path": "/", "backend": {"url": "http://a/"}}], "routes[1].backend.url"),
            ([{"path": "/", "backend": {"url": 7}}], "routes[0].backend.url"),
        ):
            with self.subTest(routes=routes):
                with self.assertRaises(ConfigError) as cm:
                    parse(doc(routes=routes), BOARD)
                self.assertEqual(cm.exception.path, path)
                self.assertTrue(str(cm.exception).startswith(path + ": not a ws://"), str(cm.exception))

    def test_parse_refuses_limits_that_are_not_positive_integers(self):
        for value in (0, -1, "10", 1.5, True, None, 1 << 41):
            with self.subTest(value=value):
                self.check(doc(limits={"max_frame_bytes": value}), "limits.max_frame_bytes",
                           "must be an integer from 1 to 1099511627776")
        self.check(doc(limits=[1]), "limits", "must be an object")

    def test_parse_refuses_inconsistent_limits(self):
        for lim, path, msg in (
            ({"max_frame_bytes": 4097}, "limits.rx_ring_bytes",
             "4110 cannot hold max_frame_bytes=4097 plus a 14-byte header"),
            ({"max_message_bytes": 4000}, "limits.max_frame_bytes", "exceeds max_message_bytes=4000"),
            ({"max_request_line": 2049}, "limits.max_request_line", "exceeds max_header_bytes=2048"),
            ({"max_header_bytes": 4097, "max_request_line": 100}, "limits.max_header_bytes",
             "exceeds rx_ring_bytes=4110"),
        ):
            with self.subTest(limits=lim):
                self.check(doc(limits=lim), path, msg)

    def test_parse_refuses_limits_over_the_memory_budget_with_the_arithmetic(self):
        # 300 * (2048 + 2 * 1024) + 63 * 4110 + 0 = 1487730 > 1048576
        self.check(doc(limits={"max_conns": 300}), "limits.max_conns",
                   "max_conns*conn_bytes+ring_pool_rings*rx_ring_bytes+assembly_pool_bytes=1487730 bytes"
                   " exceeds mem_budget_bytes=1048576")

    def test_parse_refuses_a_ring_pool_over_the_memory_budget(self):
        # 1 * 4096 + 256 * 4110 + 0 = 1056256 > 1048576
        self.check(doc(limits={"max_conns": 1, "ring_pool_rings": 256}), "limits.max_conns",
                   "max_conns*conn_bytes+ring_pool_rings*rx_ring_bytes+assembly_pool_bytes=1056256 bytes"
                   " exceeds mem_budget_bytes=1048576")

    def test_parse_refuses_an_assembly_pool_below_one_largest_message(self):
        self.check(doc(limits={"assembly_pool_bytes": 8191}), "limits.assembly_pool_bytes",
                   "below max_message_bytes=8192: a fragmented message that size could never be assembled")

    def test_parse_refuses_bad_timeouts(self):
        for value in (0, -5, 86400001, "100", False, 2.5):
            with self.subTest(value=value):
                self.check(doc(timeouts={"idle_ms": value}), "timeouts.idle_ms",
                           "must be an integer from 1 to 86400000")
        self.check(doc(timeouts=5), "timeouts", "must be an object")

    def test_parse_refuses_a_malformed_password_hash(self):
        for value, msg in (
            ("hunter2", "not a pbkdf2-sha256$ITERATIONS$SALT$HASH string"),
            (12345, "not a pbkdf2-sha256$ITERATIONS$SALT$HASH string"),
            ("bcrypt$10$abc$def", "not a pbkdf2-sha256$ITERATIONS$SALT$HASH string"),
            ("pbkdf2-sha256$many$QUFBQUFBQUE=$QUFB", "not a pbkdf2-sha256$ITERATIONS$SALT$HASH string"),
            ("pbkdf2-sha256$999$QUFBQUFBQUE=$QUFB", "iterations must be from 1000 to 10000000"),
            ("pbkdf2-sha256$10000001$QUFBQUFBQUE=$QUFB", "iterations must be from 1000 to 10000000"),
            ("pbkdf2-sha256$1000$QUFBQUFBQUE=$QUFB", "salt under 8 bytes or hash not 32 bytes"),
            ("pbkdf2-sha256$1000$QUFBQUFBQUE$QUFB", "salt or hash is not base64"),
        ):
            with self.subTest(value=value):
                self.check(doc(console={"password_hash": value}), "console.password_hash", msg)

    def test_parse_refuses_bad_console_settings(self):
        self.check(doc(console="secret"), "console", "must be an object")
        for key in ("max_failures", "lockout_ms", "idle_logout_ms"):
            for value in (0, 86400001, "5", None):
                with self.subTest(key=key, value=value):
                    self.check(doc(console={key: value}), "console." + key, "must be an integer from 1 to 86400000")

    def test_config_error_message_is_path_colon_message(self):
        e = ConfigError("routes[2].backend.url", "bad port")
        self.assertEqual(str(e), "routes[2].backend.url: bad port")
        self.assertEqual(e.path, "routes[2].backend.url")


class AcceptTests(TestCase):
    def test_parse_accepts_a_minimal_document(self):
        cfg = parse({"listen": [{"port": 0, "plaintext": True}]}, BOARD)
        self.assertEqual(len(cfg.listeners), 1)
        ln = cfg.listeners[0]
        self.assertEqual((ln.host, ln.port, ln.plaintext), ("127.0.0.1", 0, True))
        self.assertEqual(cfg.routes, [])
        self.assertIsNone(cfg.console.password_hash)
        self.assertEqual((cfg.console.max_failures, cfg.console.lockout_ms, cfg.console.idle_logout_ms),
                         (5, 60000, 600000))

    def test_parse_reads_routes_console_limits_and_timeouts(self):
        d = doc(routes=[ROUTE, {"path": "/x", "match": "exact", "backend": {"url": "ws://[::1]:9001/in"}}],
                limits={"max_conns": 10}, timeouts={"close_ms": 700},
                console={"password_hash": HASH, "max_failures": 3, "lockout_ms": 1000, "idle_logout_ms": 2000})
        cfg = parse(d, BOARD)
        r0, r1 = cfg.routes
        self.assertEqual((r0.path, r0.exact, r0.backend_host, r0.backend_port, r0.backend_path),
                         ("/echo", False, "127.0.0.1", 9000, "/"))
        self.assertEqual((r1.path, r1.exact, r1.backend_host, r1.backend_port, r1.backend_path),
                         ("/x", True, "::1", 9001, "/in"))
        self.assertEqual(cfg.limits["max_conns"], 10)
        self.assertEqual(cfg.timeouts["close_ms"], 700)
        c = cfg.console
        self.assertEqual((c.password_hash, c.max_failures, c.lockout_ms, c.idle_logout_ms), (HASH, 3, 1000, 2000))

    def test_parse_ws_url_defaults_port_80_and_path_slash(self):
        self.assertEqual(parse_ws_url("ws://backend"), ("backend", 80, "/"))
        self.assertEqual(parse_ws_url("ws://[::1]"), ("::1", 80, "/"))
        self.assertEqual(parse_ws_url("ws://h:9000/a/b?c=d"), ("h", 9000, "/a/b?c=d"))


class DefaultsTests(TestCase):
    """Limits and timeouts not in the document come from the board, then from limits.py."""

    def test_limits_come_from_the_board_then_the_fallbacks(self):
        cfg = parse(doc(), BOARD)
        for k, v in BOARD["limits"].items():
            with self.subTest(limit=k):
                self.assertEqual(cfg.limits[k], v)
        self.assertEqual(cfg.limits["max_headers"], limits_mod.LIMIT_DEFAULTS["max_headers"])
        self.assertEqual(cfg.limits["max_conns_cap"], limits_mod.LIMIT_DEFAULTS["max_conns_cap"])

    def test_ring_pool_and_max_conns_are_derived_from_the_board_budget(self):
        lim = parse(doc(), BOARD).limits
        self.assertEqual(lim["ring_pool_rings"], 63)
        self.assertEqual((lim["max_conns"], lim["assembly_pool_bytes"]), (192, 0))
        self.assertTrue(limits_mod.worst_case_bytes(lim) <= BOARD["mem_budget_bytes"])

    def test_message_policies_take_an_assembly_pool_from_the_budget(self):
        lim = parse(doc(message_policies={"p": {}}), BOARD).limits
        self.assertEqual((lim["max_conns"], lim["assembly_pool_bytes"]), (176, 65536))
        self.assertTrue(limits_mod.worst_case_bytes(lim) <= BOARD["mem_budget_bytes"])

    def test_max_conns_is_capped_by_the_board(self):
        board = dict(BOARD, limits=dict(BOARD["limits"], max_conns_cap=50))
        self.assertEqual(parse(doc(), board).limits["max_conns"], 50)

    def test_document_limits_override_the_board(self):
        lim = parse(doc(limits={"max_conns": 7, "max_frame_bytes": 1024}), BOARD).limits
        self.assertEqual((lim["max_conns"], lim["max_frame_bytes"]), (7, 1024))

    def test_timeouts_come_from_the_board_then_the_fallbacks(self):
        tmo = parse(doc(), BOARD).timeouts
        self.assertEqual(tmo["idle_ms"], 1234)
        self.assertEqual(tmo["close_ms"], limits_mod.TIMEOUT_DEFAULTS["close_ms"])
        self.assertEqual(parse(doc(timeouts={"idle_ms": 99}), BOARD).timeouts["idle_ms"], 99)

    def test_board_name_is_the_config_board(self):
        self.assertEqual(parse(doc(), BOARD).board, "testboard")
        self.assertEqual(parse(doc(), {}).board, "?")

    def test_a_board_without_limits_gets_the_fallbacks(self):
        lim = parse(doc(), {"mem_budget_bytes": 64 << 20}).limits
        for k, v in limits_mod.LIMIT_DEFAULTS.items():
            with self.subTest(limit=k):
                self.assertEqual(lim[k], v)


class SafeDefaultsTests(TestCase):
    """What the box runs when nothing stored is usable: deny everything."""

    def test_safe_defaults_have_no_listener_and_no_route(self):
        cfg = safe_defaults(BOARD)
        self.assertEqual(cfg.listeners, [])
        self.assertEqual(cfg.routes, [])
        self.assertIsNone(cfg.route_for("/"))
        self.assertIsNone(cfg.route_for("/echo"))

    def test_safe_defaults_let_nobody_log_in(self):
        self.assertIsNone(safe_defaults(BOARD).console.password_hash)

    def test_safe_defaults_take_limits_and_name_from_the_board(self):
        cfg = safe_defaults(BOARD)
        self.assertEqual(cfg.board, "testboard")
        self.assertEqual(cfg.limits["max_frame_bytes"], 4096)
        self.assertEqual(cfg.limits["max_conns"], 192)
        self.assertEqual(cfg.timeouts["close_ms"], limits_mod.TIMEOUT_DEFAULTS["close_ms"])
        self.assertTrue(limits_mod.worst_case_bytes(cfg.limits) <= BOARD["mem_budget_bytes"])


class RouteTests(TestCase):
    def test_route_for_prefers_an_exact_match_then_the_longest_prefix(self):
        cfg = parse(doc(routes=[
            {"path": "/", "backend": {"url": "ws://a/"}},
            {"path": "/api", "backend": {"url": "ws://b/"}},
            {"path": "/api/v2/", "backend": {"url": "ws://c/"}},
            {"path": "/api/x", "match": "exact", "backend": {"url": "ws://d/"}},
        ]), BOARD)
        for path, host in (("/", "a"), ("/other", "a"), ("/api", "b"), ("/api/v1", "b"), ("/apiary", "a"),
                           ("/api/v2/s", "c"), ("/api/x", "d"), ("/api/x/y", "b")):
            with self.subTest(path=path):
                self.assertEqual(cfg.route_for(path).backend_host, host)
