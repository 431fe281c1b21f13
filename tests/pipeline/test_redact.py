"""The redact step: JSON paths, the built-in patterns (with their look-alikes), configured regexes."""

from edgegate.pipeline.steps.redact import compile_regex, find_bearers, find_cards, find_emails, find_jwts, luhn, \
    parse_path, regex_finder
from tests.pipeline.helpers import chain, error, refusal, rewritten, run
from edgegate.rt import IS_MICROPYTHON
from tests.portable import TestCase

JWT = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


def found(finder, text):
    out = []
    finder(text, out)
    return [text[a:b] for a, b in out]


def redact(*patterns, **kw):
    step = {"step": "redact", "patterns": list(patterns)}
    step.update(kw)
    return chain([step])


class CardTests(TestCase):
    def test_card_numbers_that_pass_luhn_are_found_in_every_usual_spelling(self):
        for card in (b"4111111111111111", b"4111 1111 1111 1111", b"4111-1111-1111-1111", b"5555555555554444",
                     b"378282246310005", b"3782 822463 10005", b"6011111111111117", b"4111 1111 1111 1111 110"):
            with self.subTest(card=card):
                self.assertEqual(found(find_cards, b"pay " + card + b" now"), [card])

    def test_digit_runs_that_are_not_cards_are_left_alone(self):
        for text in (b"4111 1111 1111 1112",  # fails Luhn
                     b"ts 1732493283123",  # a millisecond timestamp: starts with 1
                     b"id 41111111111111111111111",  # too long to be a card
                     b"call 415 555 2671 or 415 555 2672",  # short groups
                     b"order 4111111",  # too short
                     b"uuid 123e4567-e89b-12d3-a456-426614174000"):
            with self.subTest(text=text):
                self.assertEqual(found(find_cards, text), [])

    def test_a_card_followed_by_more_digits_is_masked_without_them(self):
        self.assertEqual(found(find_cards, b"4111 1111 1111 1111 2024"), [b"4111 1111 1111 1111"])

    def test_luhn_is_the_mod_10_check(self):
        self.assertTrue(luhn(b"79927398713"))
        self.assertFalse(luhn(b"79927398710"))

    def test_a_card_in_text_is_masked_and_the_rest_kept(self):
        self.assertEqual(run(redact("card"), b"card 4111 1111 1111 1111, exp 12/29"),
                         ("replace", b"card [redacted], exp 12/29"))


class EmailTests(TestCase):
    def test_addresses_are_found(self):
        self.assertEqual(found(find_emails, b"to alice@example.com, x.y+z@sub.example.co.uk. mailto:c@d.org"),
                         [b"alice@example.com", b"x.y+z@sub.example.co.uk", b"c@d.org"])

    def test_look_alikes_in_urls_and_versions_are_left_alone(self):
        for text in (b"https://bob:secret@host.example/path", b"https://cdn.example/img@2x.png",
                     b"https://social.example/@alice", b"user@localhost", b"pkg@1.2.3", b"@here", b"a@b.c"):
            with self.subTest(text=text):
                self.assertEqual(found(find_emails, text), [])


class JwtTests(TestCase):
    def test_a_signed_token_is_found(self):
        self.assertEqual(found(find_jwts, b"token=" + JWT + b"&x=1"), [JWT])

    def test_look_alikes_are_left_alone(self):
        for text in (b"eyJohn.Doe.x", b"abceyJhbGciOiJIUzI1NiJ9.e30.x", b"eyJhbGciOiJIUzI1NiJ9 only",
                     b"eyJhbGciOiJIUzI1NiJ9."):
            with self.subTest(text=text):
                self.assertEqual(found(find_jwts, text), [])


class BearerTests(TestCase):
    def test_the_token_after_bearer_is_found_and_the_word_kept(self):
        self.assertEqual(run(redact("bearer"), b"Authorization: Bearer abc.def.ghi."),
                         ("replace", b"Authorization: Bearer [redacted]."))
        self.assertEqual(found(find_bearers, b"BEARER   AbCdEfGhIjKlMnOpQrStUv"), [b"AbCdEfGhIjKlMnOpQrStUv"])

    def test_prose_with_the_word_bearer_is_left_alone(self):
        for text in (b"the bearer of bad news", b"bearer instruments", b"use a Bearer token", b"forebearer abc1234567"):
            with self.subTest(text=text):
                self.assertEqual(found(find_bearers, text), [])


class RegexTests(TestCase):
    def test_configured_regexes_match_the_same_on_every_runtime(self):
        cases = [("EMP-[0-9]{6}", b"id EMP-123456 EMP-12345", [b"EMP-123456"]),
                 ("[A-Z]{2}\\d{6,8}", b"AB1234567890 x CD123", [b"AB12345678"]),
                 ("(?:foo|bar)-\\w{1,3}", b"bar-x_9z foo-", [b"bar-x_9"]),
                 ("a.c", b"a\nc abc", [b"abc"]),
                 ("[\\]\\-^]x", b"]x -x ^x", [b"]x", b"-x", b"^x"]),
                 ("\\x41B\\.", b"AB. AB", [b"AB."]),
                 ("[^a-z ]{2}", b"ab CD", [b"CD"])]
        for src, text, want in cases:
            with self.subTest(src=src):
                self.assertEqual(found(regex_finder(compile_regex(src)), text), want)

    def test_the_largest_programs_accepted_run_on_micropythons_engine_and_larger_ones_are_refused(self):
        from edgegate.pipeline.steps.redact import _RegexError

        a, b = "a" * 60, "b" * 60
        for src, text in (("(?:%s|%s)!" % (a, b), b + "!"), ("[a-z]{0,20}!", "x" * 20 + "!"),
                          ("\\w{0,10}@", "abcdefghij@")):
            with self.subTest(src=src[:20]):
                self.assertEqual(found(regex_finder(compile_regex(src)), text.encode()), [text.encode()])
        for src in ("(?:%s|x|%s)!" % (a, b), "[a-z]{0,21}!", "\\w{0,11}@"):
            with self.subTest(src=src[:20]):
                with self.assertRaises(_RegexError):
                    compile_regex(src)

    def test_a_long_input_costs_a_bounded_search(self):
        rx = regex_finder(compile_regex("[a-z]{1,16}@x"))
        self.assertEqual(found(rx, b"a" * 20000 + b"@x"), [b"a" * 16 + b"@x"])

    def test_regexes_that_could_be_slow_or_differ_between_runtimes_are_config_errors(self):
        cases = ["a+", "a*b", "a{2,}", "(ab)?", "(a|b){2}", "^a", "a$", "\\bword", "(?=a)", "(?i)a", "a??", "\\1",
                 "x?", "é", "[a-z]{0,64}q", "[a-z]{1,32}[0-9]{1,32}[a-z]{1,32}", "(((((a)))))", "[z-a]", "a{70}"]
        for src in cases:
            with self.subTest(src=src):
                e = error({"p": {"steps": [{"step": "redact", "patterns": ["card", {"regex": src}]}]}})
                self.assertTrue(e is not None and e.startswith("message_policies.p.steps[0].patterns[1].regex: "), e)

    def test_a_regex_masks_what_it_matches_in_json_strings(self):
        self.assertEqual(rewritten(redact({"regex": "EMP-[0-9]{6}", "name": "employee"}),
                                   b'{"who":"EMP-123456 and EMP-654321","n":123456}'),
                         {"who": "[redacted] and [redacted]", "n": 123456})


class PathTests(TestCase):
    def test_paths_parse_to_names_indexes_and_wildcards(self):
        self.assertEqual(parse_path("$.items[*].token"), ("items", None, "token"))
        self.assertEqual(parse_path('$["x-api-key"][0].a_b'), ("x-api-key", 0, "a_b"))
        self.assertEqual(parse_path("$.*['odd name']"), (None, "odd name"))

    def test_bad_paths_are_config_errors_naming_the_entry(self):
        for bad in ("card", "$", "$.", "$..a", "$.1a", "$[01]", "$['a'b']", "$[x]", "$.a[", "$" + ".a" * 17):
            with self.subTest(path=bad):
                e = error({"p": {"steps": [{"step": "redact", "paths": ["$.ok", bad]}]}})
                self.assertTrue(e is not None and e.startswith("message_policies.p.steps[0].paths[1]: "), e)

    def test_paths_replace_what_they_name_whatever_its_type(self):
        ch = chain([{"step": "redact", "paths": ["$.card", "$.user.email", "$.items[*].token", '$["x-key"]'],
                     "mask": "***"}])
        doc = (b'{"card":4111111111111111,"user":{"email":"a@b.example","name":"A"},'
               b'"items":[{"token":"t1"},{"token":{"deep":1}},{"other":2}],"x-key":"k","keep":"4111"}')
        self.assertEqual(rewritten(ch, doc), {"card": "***", "user": {"email": "***", "name": "A"},
                                              "items": [{"token": "***"}, {"token": "***"}, {"other": 2}],
                                              "x-key": "***", "keep": "4111"})

    def test_a_message_without_the_named_members_passes_without_being_parsed_or_copied(self):
        ch = chain([{"step": "redact", "paths": ["$.password"]}])
        self.assertEqual(run(ch, b'{"user":"a","pass":"x"}'), ("pass", None))
        self.assertEqual(run(ch, b"not json, no password member"), ("pass", None))
        self.assertEqual(run(ch, b'{"password":"[redacted]"}'), ("pass", None))  # already masked: unchanged

    def test_a_member_spelled_with_escapes_is_still_found(self):
        self.assertEqual(rewritten(chain([{"step": "redact", "paths": ["$.password"]}]),
                                   b'{"pass\\u0077ord":"hunter2"}'), {"password": "[redacted]"})


class JsonStaysJsonTests(TestCase):
    def test_patterns_are_masked_inside_string_values_and_the_document_stays_json(self):
        doc = (b'{"note":"mail alice@example.com","n":[1,2,{"t":"Bearer abc.def.ghi"}],'
               b'"ok":true,"x":null,"u":"\xc3\xa9"}')
        self.assertEqual(rewritten(redact("email", "bearer"), doc),
                         {"note": "mail [redacted]", "n": [1, 2, {"t": "Bearer [redacted]"}], "ok": True, "x": None,
                          "u": "\u00e9"})

    def test_a_pattern_hidden_by_json_escapes_is_masked(self):
        self.assertEqual(rewritten(redact("email"), b'{"m":"alice\\u0040example.com"}'), {"m": "[redacted]"})

    def test_a_pattern_only_in_a_member_name_or_between_values_changes_nothing(self):
        self.assertEqual(run(redact("email"), b'{"alice@example.com":1}'), ("pass", None))

    def test_a_card_number_written_as_a_json_number_is_masked(self):
        self.assertEqual(rewritten(redact("card"), b'{"c":4111111111111111,"n":4111111111111112}'),
                         {"c": "[redacted]", "n": 4111111111111112})
        self.assertEqual(rewritten(redact("card"), b"4111111111111111"), "[redacted]")

    def test_a_top_level_json_string_is_masked_and_stays_a_string(self):
        self.assertEqual(rewritten(redact("jwt"), b'"' + JWT + b'"'), "[redacted]")

    def test_nothing_found_means_no_copy_and_no_rewrite(self):
        self.assertEqual(run(redact("card", "email", "jwt", "bearer"), b'{"a":"hello","n":12}'), ("pass", None))

    def test_binary_messages_pass_untouched(self):
        ch = redact("card")
        self.assertFalse(ch.reads_binary)
        self.assertIsNone(ch.judge(False, b"4111111111111111", 0, 0))

    def test_a_redaction_that_outgrows_the_box_limit_is_refused_with_1009(self):
        from edgegate.pipeline import Pipeline
        from tests.pipeline.helpers import FACTS, T0, pipeline

        steps = pipeline([{"step": "redact", "patterns": ["card"], "mask": "x" * 64}]).steps
        ch = Pipeline("p", steps, max_message_bytes=40).session(T0, "k", FACTS)
        r = refusal(ch, b"4111111111111111 4111111111111111")
        self.assertEqual((r.code, r.rule), (1009, "size"))


class RedactConfigTests(TestCase):
    def test_redact_config_errors_name_the_field(self):
        cases = [({"step": "redact"}, "message_policies.p.steps[0]"),
                 ({"step": "redact", "patterns": ["iban"]}, "message_policies.p.steps[0].patterns[0]"),
                 ({"step": "redact", "patterns": ["card", "card"]}, "message_policies.p.steps[0].patterns[1]"),
                 ({"step": "redact", "patterns": [{"regex": "x", "flags": "i"}]},
                  "message_policies.p.steps[0].patterns[0].flags"),
                 ({"step": "redact", "patterns": [{"regex": "x" * 129}]},
                  "message_policies.p.steps[0].patterns[0].regex"),
                 ({"step": "redact", "paths": "$.a"}, "message_policies.p.steps[0].paths"),
                 ({"step": "redact", "paths": ["$.a"], "mask": 5}, "message_policies.p.steps[0].mask")]
        for step, path in cases:
            with self.subTest(path=path):
                e = error({"p": {"steps": [step]}})
                self.assertTrue(e is not None and e.startswith(path + ": "), e)


class RedactAttackTests(TestCase):
    """Cases an independent attack found."""

    def test_json_the_strict_parser_refuses_is_refused_not_passed_with_its_secrets(self):
        ch = chain([{"step": "redact", "paths": ["$.password"], "patterns": ["card"]}])
        cases = [b'{"password": "hunter2", "x": [', b'[{"password": "hunter2"}']
        if not IS_MICROPYTHON:
            cases += [b'{"password": "hunter2", "password": "hunter2"}', b'{"password": "hunter2", "n": NaN}']
        for msg in cases:
            with self.subTest(msg=msg):
                r = refusal(ch, msg)
                self.assertEqual((r.code, r.rule), (1008, "redact"))

    def test_card_numbers_written_as_signed_or_fractional_json_numbers_are_masked(self):
        ch = chain([{"step": "redact", "patterns": ["card"]}])
        for num in (b"-4111111111111111", b"4111111111111111.0", b"4111111111111111e0"):
            with self.subTest(num=num):
                got = run(ch, b'{"n": ' + num + b'}')
                self.assertEqual(got[0], "replace")
                self.assertFalse(b"4111" in got[1])
        self.assertEqual(run(ch, b'{"n": -4111111111111112}'), ("pass", None))  # fails Luhn

    def test_a_configured_pattern_never_cuts_a_character_in_two(self):
        ch = chain([{"step": "redact", "patterns": [{"regex": "EMP-.{6}"}]}])
        for msg in ("EMP-12345\u00e9 rest", '{"t": "EMP-12345\u00e9 rest"}'):
            msg = msg.encode()
            with self.subTest(msg=msg):
                got = run(ch, msg)
                self.assertEqual(got[0], "replace")
                got[1].decode()  # valid UTF-8
                self.assertFalse(b"EMP-" in got[1])
