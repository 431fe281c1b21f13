"""Token parameter names as PHP, Rack/qs and case-insensitive decoders read them; control characters in names.

Attack re-run: with a valid token in ``access_token``, ``FORGED`` under
``access_token%00`` or ``access_token%00zz`` (PHP's parse_str ends a name at
NUL), ``access[token`` or ``access%5Btoken`` (PHP turns an unmatched ``[`` into
``_``, as it does ``.`` and space) got 101 and a PHP backend read the forged
one. Now an unmatched ``[`` is read as ``_`` too (so the spelling is taken,
and two spellings are refused as before), a leading ``[``/``]`` is skipped as
Rack 2 and Node's ``qs`` skip it, the four non-ASCII letters whose case
mapping is ASCII (``ſ ı İ K``) fold like ASP.NET's OrdinalIgnoreCase folds
them, ``%uXXXX`` is decoded as IIS does, and a parameter name holding a
control character (C0, DEL or C1, encoded once or twice) is refused 400:
none is ever legitimate.
"""

from edgegate.policy.target import TargetError, pop_param
from tests.policy import tokens as T
from tests.policy.test_admission import Case, bearer, facts
from tests.portable import TestCase

NAME = "access_token"
# Each is read as access_token by at least one common decoder (the comment says which).
READ_AS_NAME = [
    "access[token",  # PHP: an unmatched [ is _
    "access%5Btoken", "access%5btoken", "access%255Btoken",  # the same, encoded (once, twice)
    "%20access[token", "+access%5Btoken",  # PHP skips leading spaces
    "[access_token]", "%5Baccess_token%5D", "]access_token", "[[access_token",  # Rack 2, qs: leading brackets
    "access_token]",  # Rack 2: trailing ] dropped
    "acce%C5%BF%C5%BF_token",  # U+017F long s: ASP.NET's OrdinalIgnoreCase upper-cases it to S
    "access_to%E2%84%AAen",  # U+212A Kelvin sign: lower case k
    "%u0061ccess_token", "access%u005Ftoken", "%U0041CCESS_TOKEN",  # IIS / classic ASP.NET %uXXXX
]
CONTROL_IN_NAME = ["access_token%00", "access_token%00zz", "access[token%00", "access%00_token", "%00access_token",
                   "access_token%2500", "access_token%01", "access_token%1f", "access_token%7F", "access_token%C2%85",
                   "access_token%u0000", "x%00", "a%0Ab", "%C2%9F"]


class PhpAndOtherReadingsTests(TestCase):
    def test_each_spelling_is_taken_and_stripped(self):
        for k in READ_AS_NAME:
            with self.subTest(key=k):
                self.assertEqual(pop_param("a=1&%s=TOKEN&b=2" % k, NAME), ("TOKEN", "a=1&b=2"))

    def test_a_second_spelling_beside_the_token_is_refused(self):
        for k in READ_AS_NAME:
            for q in ("access_token=GOOD&%s=FORGED" % k, "%s=FORGED&access_token=GOOD" % k):
                with self.subTest(q=q):
                    with self.assertRaises(TargetError) as cm:
                        pop_param(q, NAME)
                    self.assertEqual(str(cm.exception), "token parameter repeated in the query")

    def test_a_spelling_behind_a_semicolon_is_refused(self):
        for k in ("access[token", "[access_token]", "%u0061ccess_token"):
            with self.subTest(key=k):
                with self.assertRaises(TargetError):
                    pop_param("x=1;%s=B" % k, NAME)

    def test_names_no_decoder_reads_as_the_token_stay(self):
        # PHP reads these as access_token_x, access_tok_en, access (an array), access__token.
        for k in ("access[token.x", "access[tok[en", "access[token]", "access+[token", "access%5Btoken%5D",
                  "[access", "access_token_", "ac%C4%B1cess_token", "%u0061ccess-token", "%u00", "%u006",
                  "%uD800access_token", "access_token%uDFFF"):
            with self.subTest(key=k):
                q = "%s=v&b=2" % k
                self.assertEqual(pop_param(q, NAME), (None, q))

    def test_dotless_and_dotted_i_fold_to_i(self):
        for k in ("%C4%B1d", "%C4%B0D", "ID", "i%64"):
            with self.subTest(key=k):
                self.assertEqual(pop_param("%s=X&y=1" % k, "id"), ("X", "y=1"))

    def test_the_configured_name_is_read_the_same_way(self):
        self.assertEqual(pop_param("auth_token=X", "auth[token"), ("X", ""))
        self.assertEqual(pop_param("auth[token=X", "auth.token"), ("X", ""))


class ControlCharacterNameTests(TestCase):
    def test_a_control_character_in_any_parameter_name_is_refused(self):
        for k in CONTROL_IN_NAME:
            for q in ("access_token=GOOD&%s=FORGED" % k, "%s=FORGED" % k, "a=1&%s" % k, "a=1;%s=2" % k):
                with self.subTest(q=q):
                    with self.assertRaises(TargetError) as cm:
                        pop_param(q, NAME)
                    self.assertEqual(str(cm.exception), "control character in a query parameter name")

    def test_a_control_character_in_a_value_is_the_backend_s_business(self):
        self.assertEqual(pop_param("access_token=A%00B&x=%01", NAME), ("A\x00B", "x=%01"))

    def test_a_query_without_the_token_parameter_is_still_checked(self):
        with self.assertRaises(TargetError):
            pop_param("x%00y=1", NAME)


class AdmissionNamesTests(Case):
    def test_a_forged_spelling_beside_a_valid_token_gets_400(self):
        for k in READ_AS_NAME:
            with self.subTest(key=k):
                self.refused(facts("/q", query="access_token=%s&%s=%s" % (T.VALID, k, T.BOB)), 400,
                             "request target: token parameter repeated in the query", "target")

    def test_a_control_character_in_a_name_gets_400_even_when_the_header_authenticates(self):
        for k in ("access_token%00", "access_token%00zz", "access[token%00", "x%00"):
            with self.subTest(key=k):
                self.refused(facts("/q", query="access_token=%s&%s=FORGED" % (T.VALID, k)), 400,
                             "request target: control character in a query parameter name", "target")
                self.refused(facts("/q", query="%s=FORGED" % k, headers=bearer(T.VALID)), 400,
                             "request target: control character in a query parameter name", "target")

    def test_each_spelling_alone_authenticates_and_is_not_forwarded(self):
        for k in READ_AS_NAME:
            with self.subTest(key=k):
                a = self.decide(facts("/q", query="a=1&%s=%s" % (k, T.VALID)))
                self.assertEqual((a.principal, a.query), ("jwt:alice", "a=1"))
                self.adm.release(a, "10.0.0.1")
