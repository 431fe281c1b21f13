"""edgegate.errors: one root, and a family per outcome (HTTP status, close code, field, file).

The portable part runs under MicroPython too (``tests/run_portable.py``); the
gateway's TLS and key errors, and the conversions the I/O layer makes, are
checked on CPython only (they need files, ssl and python-mbedtls).
"""

from edgegate.errors import EdgegateError, FieldError, MaterialError, Refusal, Rejection
from edgegate.rt import IS_MICROPYTHON
from tests.portable import TestCase

# Codes an endpoint may put in a Close frame (RFC 6455 7.4.1 / 7.4.2): never 1005, 1006, 1015.
_SENDABLE = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014)


def _sendable(code):
    return code in _SENDABLE or 3000 <= code <= 4999


def _head(lines):
    from edgegate.ws.buffer import RxBuffer

    rx = RxBuffer(4096)
    rx.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    return rx


def _families():
    from edgegate.config.model import ConfigError
    from edgegate.policy.errors import AuthError, MessageRefused, Reject
    from edgegate.ws import errors as ws

    return ws, Reject, MessageRefused, AuthError, ConfigError


class FamilyTests(TestCase):
    """Every error edgegate raises on purpose has one root and, where it reaches a peer, its outcome."""

    def test_the_existing_classes_sit_in_their_family(self):
        ws, Reject, MessageRefused, AuthError, ConfigError = _families()
        cases = (
            (ws.HandshakeError, Rejection), (Reject, Rejection),
            (ws.ProtocolError, Refusal), (ws.PayloadTooBig, Refusal), (ws.InvalidUtf8, Refusal),
            (MessageRefused, Refusal), (ConfigError, FieldError),
        )
        for cls, family in cases:
            with self.subTest(cls=cls.__name__):
                self.assertTrue(issubclass(cls, family))
                self.assertTrue(issubclass(cls, EdgegateError))
        for family in (Rejection, Refusal, FieldError, MaterialError):
            with self.subTest(family=family.__name__):
                self.assertTrue(issubclass(family, EdgegateError))
                self.assertFalse(issubclass(family, (ValueError, OSError)))

    def test_the_families_do_not_overlap(self):
        families = (Rejection, Refusal, FieldError, MaterialError)
        for a in families:
            for b in families:
                if a is not b:
                    with self.subTest(a=a.__name__, b=b.__name__):
                        self.assertFalse(issubclass(a, b))

    def test_the_old_import_path_of_the_root_is_the_same_class(self):
        from edgegate.ws.errors import EdgegateError as old

        self.assertIs(old, EdgegateError)

    def test_bugs_and_credentials_are_outside_the_wire_families(self):
        ws, _, _, AuthError, _ = _families()
        for cls in (ws.LocalProtocolError, AuthError):
            with self.subTest(cls=cls.__name__):
                e = cls("x")
                self.assertIsInstance(e, EdgegateError)
                self.assertFalse(isinstance(e, (Rejection, Refusal, FieldError, MaterialError)))


class OutcomeTests(TestCase):
    """Every error that reaches a client carries its HTTP status or its close code."""

    def test_every_rejection_carries_an_error_status_and_headers(self):
        ws, Reject, _, _, _ = _families()
        errors = (ws.HandshakeError("no Host header"), ws.HandshakeError("method", 405, (("Allow", "GET"),)),
                  Reject(429, "rate", (("Retry-After", "1"),), "rate"), Reject(404, "no route"), Rejection("x"))
        for e in errors:
            with self.subTest(e=str(e)):
                self.assertIsInstance(e, Rejection)
                self.assertTrue(type(e.status) is int and 400 <= e.status <= 599)
                for name, value in e.headers:
                    self.assertTrue(type(name) is str and type(value) is str)

    def test_every_refusal_carries_a_close_code_a_peer_may_receive(self):
        ws, _, MessageRefused, _, _ = _families()
        errors = (ws.ProtocolError("rsv"), ws.ProtocolError("policy", 1008), ws.PayloadTooBig("big"),
                  ws.InvalidUtf8("utf-8"), MessageRefused(1008, "rate", "over 10/s"),
                  MessageRefused(1013, "capacity", "pool full"), MessageRefused(1009, "size", "x", drop=True),
                  Refusal("x"))
        for e in errors:
            with self.subTest(e=str(e)):
                self.assertIsInstance(e, Refusal)
                self.assertTrue(_sendable(e.close_code), e.close_code)

    def test_what_the_handshake_parser_raises_carries_its_status(self):
        from edgegate.ws.handshake import parse_upgrade

        ok = ("Host: a", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
        cases = ((("POST / HTTP/1.1",) + ok, 405), (("GET / HTTP/1.0",) + ok, 400),
                 (("GET / HTTP/1.1",) + ok[1:], 400), (("GET / HTTP/1.1", "Host: a"), 426))
        for lines, status in cases:
            with self.subTest(line=lines[0], status=status):
                with self.assertRaises(Rejection) as cm:
                    parse_upgrade(_head(lines), 4096, 32, 1024)
                self.assertEqual(cm.exception.status, status)

    def test_what_the_frame_parser_raises_carries_its_close_code(self):
        from edgegate.ws.buffer import RxBuffer
        from edgegate.ws.frames import FrameParser, build_frame

        cases = ((build_frame(1, b"hi"), 1002),  # a client frame without a mask
                 (build_frame(2, b"x" * 200, mask_key=b"abcd"), 1009))  # over max_frame_bytes
        for raw, code in cases:
            with self.subTest(code=code):
                rx = RxBuffer(1024)
                rx.write(raw)
                with self.assertRaises(Refusal) as cm:
                    FrameParser(True, 100).parse(rx)
                self.assertEqual(cm.exception.close_code, code)


class UnchangedTests(TestCase):
    """Names, constructors, attributes and messages are what they were."""

    def test_message_refused_keeps_code_rule_detail_drop_and_names_close_code(self):
        _, _, MessageRefused, _, _ = _families()
        e = MessageRefused(1008, "signature", "sql at $.q", drop=False)
        self.assertEqual((e.code, e.close_code, e.rule, e.detail, e.drop, str(e)),
                         (1008, 1008, "signature", "sql at $.q", False, "signature: sql at $.q"))
        self.assertTrue(MessageRefused(1008, "rate", "x", True).drop)

    def test_reject_keeps_status_reason_headers_kind(self):
        _, Reject, _, _, _ = _families()
        e = Reject(401, "authentication failed", (("WWW-Authenticate", "Bearer"),), "auth")
        self.assertEqual((e.status, e.reason, e.headers, e.kind, str(e)),
                         (401, "authentication failed", (("WWW-Authenticate", "Bearer"),), "auth",
                          "authentication failed"))
        self.assertEqual((Reject(404, "no route").headers, Reject(404, "no route").kind), ((), "policy"))

    def test_config_error_names_its_field(self):
        _, _, _, _, ConfigError = _families()
        e = ConfigError("limits.max_conns", "out of range")
        self.assertEqual((e.path, str(e)), ("limits.max_conns", "limits.max_conns: out of range"))

    def test_a_config_the_model_refuses_raises_a_field_error(self):
        from edgegate.config.model import ConfigError, parse

        board = {"name": "t", "mem_budget_bytes": 1 << 20}
        with self.assertRaises(FieldError) as cm:
            parse({"listen": [{"host": "127.0.0.1", "port": 70000, "plaintext": True}], "routes": []}, board)
        self.assertIsInstance(cm.exception, ConfigError)
        self.assertEqual(cm.exception.path, "listen[0].port")
        self.assertTrue(str(cm.exception).startswith("listen[0].port: "))

    def test_material_error_names_its_file(self):
        e = MaterialError("certificate /x.pem: No such file", "/x.pem")
        self.assertEqual((str(e), e.file), ("certificate /x.pem: No such file", "/x.pem"))
        self.assertIsNone(MaterialError("tls handshake failed").file)


if not IS_MICROPYTHON:
    import asyncio
    import os
    import tempfile

    from tests.logsink import LogSink as _Sink

    class MaterialTests(TestCase):
        """TLS and key files: one MaterialError family, converted once where a caller needs a field."""

        def setUp(self):
            self.dir = tempfile.mkdtemp()
            self.gone = os.path.join(self.dir, "gone.pem")

        def _cfg(self, doc):
            from edgegate.cli import load_board
            from edgegate.config import parse

            return parse(doc, load_board("sim"))

        def _plain(self, **extra):
            doc = {"listen": [{"host": "127.0.0.1", "port": 1, "plaintext": True}],
                   "routes": [{"path": "/", "backend": {"url": "ws://127.0.0.1:9/"}}]}
            doc.update(extra)
            return self._cfg(doc)

        def _jwt(self):
            return {"jwt": {"keys": [{"kid": "k", "alg": "HS256", "secret_file": self.gone}]}}

        def _tls(self):
            doc = {"listen": [{"host": "127.0.0.1", "port": 1, "tls": {"cert": self.gone, "key": self.gone}}],
                   "routes": [{"path": "/", "backend": {"url": "ws://127.0.0.1:9/"}}]}
            return self._cfg(doc)

        def test_tls_and_key_file_errors_are_material_errors_naming_the_file(self):
            from edgegate.gateway.keys import KeyFileError, load_keys
            from edgegate.gateway.server import prepare_tls
            from edgegate.gateway.tls import TlsError

            for cls in (TlsError, KeyFileError):
                self.assertTrue(issubclass(cls, MaterialError))
                self.assertEqual(str(cls("jwt secret x: bad")), "jwt secret x: bad")
            with self.assertRaises(KeyFileError) as cm:
                load_keys(self._plain(auth=self._jwt()))
            self.assertEqual(cm.exception.file, self.gone)
            self.assertIn(self.gone, str(cm.exception))
            self.assertTrue(str(cm.exception).startswith("jwt secret %s: " % self.gone))
            with self.assertRaises(TlsError) as cm:
                prepare_tls(self._tls())
            self.assertEqual(cm.exception.file, self.gone)
            self.assertTrue(str(cm.exception).startswith("certificate %s: " % self.gone))

        def test_gateway_prepare_lets_a_key_file_error_through_unwrapped(self):
            from edgegate.gateway.keys import KeyFileError
            from edgegate.gateway.log import Log
            from edgegate.gateway.server import Gateway

            sink = _Sink()
            gw = Gateway(self._plain(), Log("info", sink=sink))
            bad = self._plain(auth=self._jwt())
            with self.assertRaises(KeyFileError) as cm:
                gw.prepare(bad)
            self.assertIn(self.gone, str(cm.exception))
            self.assertEqual(asyncio.run(gw.apply(bad)), 0)  # refused, logged, nothing applied
            why = [r["why"] for r in sink.records() if r["event"] == "config_not_applied"]
            self.assertEqual(why, [str(cm.exception)])

        def test_preflight_names_the_field_for_each_kind_of_file(self):
            from edgegate.config.model import ConfigError
            from edgegate.gateway.preflight import check_files

            with self.assertRaises(ConfigError) as cm:
                check_files(self._plain(auth=self._jwt()))
            self.assertEqual(cm.exception.path, "auth.jwt")
            self.assertIn(self.gone, str(cm.exception))
            with self.assertRaises(ConfigError) as cm:
                check_files(self._tls())
            self.assertEqual(cm.exception.path, "listen[0].tls")
            self.assertIn(self.gone, str(cm.exception))

        def test_a_console_commit_with_a_bad_file_is_a_config_error_on_tls(self):
            from edgegate.config.model import ConfigError
            from edgegate.gateway.box import Box
            from edgegate.gateway.keys import KeyFileError
            from edgegate.gateway.tls import TlsError

            for err in (TlsError("key %s: No such file" % self.gone), KeyFileError("jwt secret %s: x" % self.gone)):

                class Gw:
                    def prepare(self, cfg, err=err):
                        raise err

                with self.subTest(err=type(err).__name__):
                    with self.assertRaises(ConfigError) as cm:
                        Box(Gw(), None).prepare_config(object())
                    self.assertEqual((cm.exception.path, str(cm.exception)), ("tls", "tls: %s" % err))

