"""edgegate.rt: the runtime shim gives the same answers on CPython and MicroPython."""

from edgegate import rt
from tests.portable import TestCase

KEY = b"\x37\xfa\x21\x3d"


def naive_mask(data, key, start, end, phase):
    out = bytearray(data)
    for i in range(start, end):
        out[i] ^= key[(phase + i - start) & 3]
    return bytes(out)


class ApplyMaskTests(TestCase):
    """RFC 6455 5.3: octet i of the payload is XORed with octet (i MOD 4) of the key."""

    def test_apply_mask_equals_naive_xor_for_every_range_and_phase(self):
        data = bytes(range(1, 20))
        for key in (KEY, bytearray(KEY), b"\x00\x00\x00\x00", b"\xff\x01\x80\x7f"):
            for phase in range(4):
                for start in range(0, 6):
                    for end in range(start, len(data) + 1):
                        with self.subTest(key=bytes(key), phase=phase, start=start, end=end):
                            buf = bytearray(data)
                            rt.apply_mask(buf, key, start, end, phase)
                            self.assertEqual(bytes(buf), naive_mask(data, key, start, end, phase))

    def test_apply_mask_defaults_to_phase_zero(self):
        buf = bytearray(b"Hello")
        rt.apply_mask(buf, KEY, 0, 5)
        self.assertEqual(bytes(buf), b"\x7f\x9f\x4d\x51\x58")  # RFC 6455 5.7 masked "Hello"

    def test_apply_mask_twice_restores_the_data(self):
        buf = bytearray(b"0123456789abcdef!")
        for phase in range(4):
            with self.subTest(phase=phase):
                rt.apply_mask(buf, KEY, 3, 17, phase)
                rt.apply_mask(buf, KEY, 3, 17, phase)
                self.assertEqual(bytes(buf), b"0123456789abcdef!")

    def test_apply_mask_in_pieces_with_phases_equals_one_pass(self):
        data = bytes(range(50, 90))
        whole = bytearray(data)
        rt.apply_mask(whole, KEY, 0, len(data))
        for cut in range(len(data) + 1):
            with self.subTest(cut=cut):
                buf = bytearray(data)
                rt.apply_mask(buf, KEY, 0, cut, 0)
                rt.apply_mask(buf, KEY, cut, len(data), cut & 3)
                self.assertEqual(bytes(buf), bytes(whole))

    def test_apply_mask_with_empty_range_changes_nothing(self):
        buf = bytearray(b"abc")
        rt.apply_mask(buf, KEY, 2, 2, 1)
        rt.apply_mask(buf, KEY, 3, 2, 0)
        self.assertEqual(bytes(buf), b"abc")


class RandBytesTests(TestCase):
    """Mask keys (RFC 6455 5.3) and handshake nonces come from rand_bytes."""

    def test_rand_bytes_returns_bytes_of_the_requested_length(self):
        for n in (0, 1, 4, 16, 4095, 4096, 4097, 10000):
            with self.subTest(n=n):
                b = rt.rand_bytes(n)
                self.assertIsInstance(b, bytes)
                self.assertEqual(len(b), n)

    def test_rand_bytes_refills_its_pool_across_many_calls(self):
        seen = set()
        for _ in range(3000):  # 12000 bytes: the 4 KiB pool refills twice
            k = rt.rand_bytes(4)
            self.assertEqual(len(k), 4)
            seen.add(k)
        self.assertTrue(len(seen) > 2900)

    def test_rand_bytes_calls_differ(self):
        self.assertNotEqual(rt.rand_bytes(16), rt.rand_bytes(16))


class TicksTests(TestCase):
    """Clock arithmetic goes through ticks_diff/ticks_add (wraps on MicroPython)."""

    def test_ticks_diff_is_signed_difference(self):
        t = rt.ticks_ms()
        self.assertEqual(rt.ticks_diff(rt.ticks_add(t, 5), t), 5)
        self.assertEqual(rt.ticks_diff(t, rt.ticks_add(t, 5)), -5)
        self.assertEqual(rt.ticks_diff(t, t), 0)

    def test_ticks_add_then_diff_round_trips_large_steps(self):
        t = rt.ticks_ms()
        for d in (1, 1000, 60000, 3600000, -60000):
            with self.subTest(d=d):
                self.assertEqual(rt.ticks_diff(rt.ticks_add(t, d), t), d)

    def test_ticks_ms_never_goes_backwards(self):
        a = rt.ticks_ms()
        b = rt.ticks_ms()
        self.assertTrue(rt.ticks_diff(b, a) >= 0)


class JsonTests(TestCase):
    """json_loads/json_dumps: ujson on MicroPython, json on CPython."""

    def test_json_round_trips_nested_values(self):
        doc = {"a": 1, "b": [True, False, None, -2, "x\u00e9"], "c": {"d": "e"}, "f": ""}
        self.assertEqual(rt.json_loads(rt.json_dumps(doc)), doc)

    def test_json_loads_reads_text(self):
        self.assertEqual(rt.json_loads('{"k": [1, 2]}'), {"k": [1, 2]})

    def test_json_loads_raises_value_error_on_malformed_text(self):
        # Only inputs both parsers reject: MicroPython's json accepts missing
        # separators, trailing commas and leading zeros ('{"a" 1}', '[1,]', '01').
        for text in ("{", "[1,", "nope", "[1]x", '{"a":1}}', "1e", ""):
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    rt.json_loads(text)

    def test_json_loads_takes_whitespace_around_the_value(self):
        self.assertEqual(rt.json_loads(' \n{"k": 1}\t '), {"k": 1})

    def test_json_loads_strict_parses_what_json_loads_parses(self):
        for text in ('{"a": [1, 2.5, "x"]}', " [true] ", '"s"', "0"):
            with self.subTest(text=text):
                self.assertEqual(rt.json_loads_strict(text), rt.json_loads(text))

    def test_json_loads_strict_refuses_duplicate_members_and_constants_on_cpython(self):
        if rt.IS_MICROPYTHON:
            return  # its parser keeps the last duplicate (documented)
        for text in ('{"a":1,"a":2}', '[{"b":1,"b":1}]', "NaN", "[-Infinity]", '{"x": Infinity}'):
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    rt.json_loads_strict(text)


class ChainHelperTests(TestCase):
    """lower_ws and literal_search: the message chain's two helpers."""

    def test_lower_ws_lowercases_ascii_and_turns_whitespace_to_spaces(self):
        self.assertEqual(rt.lower_ws(b"AbC\tD\nE\rF\x0bG\x0cH \xc3\x89"), b"abc d e f g h \xc3\x89")

    def test_literal_search_finds_any_pattern_or_none(self):
        find = rt.literal_search([b"ab", b"abcd", b"x.y", b"\x00"])
        if find is None:
            self.assertTrue(rt.IS_MICROPYTHON)
            return
        for text, want in ((b"zzabcz", b"ab"), (b"--abcd", b"abcd"), (b"x.y", b"x.y"), (b"xzy", None),
                           (b"a\x00", b"\x00"), (b"", None)):
            with self.subTest(text=text):
                self.assertEqual(find(text), want)


class FindTests(TestCase):
    """find(buf, sub, start, end): substring search limited to a range."""

    def test_find_returns_absolute_index_within_range(self):
        buf = bytearray(b"xx\r\n\r\nyy\r\n\r\n")
        self.assertEqual(rt.find(buf, b"\r\n\r\n", 0, len(buf)), 2)
        self.assertEqual(rt.find(buf, b"\r\n\r\n", 3, len(buf)), 8)

    def test_find_returns_minus_one_when_sub_is_cut_by_the_range_end(self):
        buf = bytearray(b"abc\r\n\r\n")
        self.assertEqual(rt.find(buf, b"\r\n\r\n", 0, 6), -1)
        self.assertEqual(rt.find(buf, b"\r\n\r\n", 4, 7), -1)


class ShimTests(TestCase):
    """The shim's runtime probes."""

    def test_const_returns_its_argument(self):
        self.assertEqual(rt.const(7), 7)

    def test_utf8_decoder_exists_only_on_cpython(self):
        if rt.IS_MICROPYTHON:
            self.assertIsNone(rt.utf8_decoder)
        else:
            d = rt.utf8_decoder()
            self.assertEqual(d.decode(b"\xc3", False), "")
            self.assertEqual(d.decode(b"\xa9", True), "\u00e9")


class RoomTests(TestCase):
    """rt is split by job (clock, json, crypto, mask, text); the package re-exports every name."""

    ROOMS = (
        ("clock", ("ticks_ms", "ticks_diff", "ticks_add", "wall_s")),
        ("json", ("json_loads", "json_dumps", "json_loads_strict")),
        ("crypto", ("rand_bytes", "pbkdf2_sha256", "const_eq", "hmac_digest", "verify_signature")),
        ("mask", ("apply_mask", "mask_key", "alloc_buffer")),
        ("text", ("find", "utf8_decoder", "lower_ws", "present_bytes", "literal_search")),
    )

    def test_each_room_holds_its_names_and_the_package_re_exports_the_same_objects(self):
        for room, names in self.ROOMS:
            mod = __import__("edgegate.rt." + room, None, None, ("x",))
            for name in names:
                with self.subTest(room=room, name=name):
                    self.assertIs(getattr(rt, name), getattr(mod, name))

    def test_the_package_exports_exactly_the_rooms_names_and_the_runtime_probes(self):
        want = {"IS_MICROPYTHON", "const"}
        for _, names in self.ROOMS:
            want.update(names)
        self.assertEqual(set(rt.__all__), want)

    def test_mask_key_is_four_fresh_bytes(self):
        keys = [rt.mask_key() for _ in range(2000)]  # past one draw of 1024
        self.assertTrue(all(type(k) is bytes and len(k) == 4 for k in keys))
        self.assertTrue(len(set(keys)) > 1900)

    def test_wall_s_is_unix_time(self):
        self.assertTrue(rt.wall_s() > 1.6e9)

    def test_pbkdf2_sha256_and_hmac_match_rfc_vectors(self):
        # RFC 7914 11: PBKDF2-HMAC-SHA256 ("passwd", "salt", c=1), first 32 bytes.
        self.assertEqual(rt.pbkdf2_sha256(b"passwd", b"salt", 1)[:8], bytes.fromhex("55ac046e56e3089f"))
        # RFC 4231 test case 2.
        mac = rt.hmac_digest("sha256", b"Jefe", b"what do ya want for nothing?")
        self.assertEqual(mac[:8], bytes.fromhex("5bdcc146bf60754e"))
        self.assertTrue(rt.const_eq(b"abc", bytearray(b"abc")))
        self.assertFalse(rt.const_eq(b"abc", b"abd"))
        self.assertFalse(rt.const_eq(b"abc", b"ab"))


class NetTests(TestCase):
    """rt.net is CPython's only; its Lender is the portable one in ws.buffer."""

    def test_net_is_cpython_only_and_lends_with_the_portable_lender(self):
        from edgegate.ws.buffer import Lender

        if rt.IS_MICROPYTHON:
            with self.assertRaises(ImportError):
                __import__("edgegate.rt.net")
            return
        from edgegate.rt import net

        self.assertIs(net.Lender, Lender)
