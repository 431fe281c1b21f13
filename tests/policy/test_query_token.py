"""A token query parameter is taken and stripped in every spelling a backend's decoder reads as its name.

Issue 10, item 6: ``?%61ccess_token=…`` and ``?access%5Ftoken=…`` were
forwarded, and a standard query decoder at the backend reads both as
``access_token``: an unverified token reaching the backend. Now every
spelling is stripped (percent-encoding in any case, ``+`` for space, ASCII
case as ASP.NET folds it, ``.``/space for ``_`` and ``name[...]`` as PHP reads
them, and a second round of percent-decoding for a backend that decodes
twice), and two spellings in one query, or one hidden behind a ``;``
separator (which older decoders split on), are refused 400: what is verified
must be the only value the backend could read.
"""

from edgegate.policy.target import TargetError, pop_param
from tests.policy import tokens as T
from tests.policy.test_admission import Case, bearer, facts
from tests.portable import TestCase

NAME = "access_token"
SPELLINGS = ["access_token", "%61ccess_token", "access%5Ftoken", "access%5ftoken",
             "%61%63%63%65%73%73%5F%74%6F%6B%65%6E",
             "ACCESS_TOKEN", "Access_Token", "access.token", "access+token", "access%20token", "access%2Etoken",
             "access_token[]", "access_token%5B%5D", "access_token[0]", "%20access_token", "access_token+",
             "%41ccess_token", "access%255Ftoken", "%2561ccess_token"]


class PopParamTests(TestCase):
    def test_every_spelling_is_taken_and_stripped(self):
        for k in SPELLINGS:
            with self.subTest(key=k):
                self.assertEqual(pop_param("a=1&%s=TOKEN&b=2" % k, NAME), ("TOKEN", "a=1&b=2"))

    def test_other_names_stay(self):
        for k in ("access_tokens", "x_access_token", "accesstoken", "access-token", "access_toke", "token", "access",
                  "access_token2", "_access_token", "access%25255Ftoken"):
            with self.subTest(key=k):
                q = "%s=v&b=2" % k
                self.assertEqual(pop_param(q, NAME), (None, q))

    def test_the_value_is_decoded_as_a_query_decoder_would(self):
        for v, want in (("abc.def-ghi_jkl", "abc.def-ghi_jkl"), ("a%2Eb", "a.b"), ("a+b", "a b"), ("", ""),
                        ("%zz", "%zz")):
            with self.subTest(value=v):
                self.assertEqual(pop_param("access_token=" + v, NAME)[0], want)
        self.assertEqual(pop_param("access_token", NAME), ("", ""))

    def test_no_query_or_no_parameter(self):
        self.assertEqual(pop_param("", NAME), (None, ""))
        self.assertEqual(pop_param("a=1&b", NAME), (None, "a=1&b"))
        self.assertEqual(pop_param("&&a=1&", NAME), (None, "&&a=1&"))

    def test_two_spellings_are_refused(self):
        for q in ("access_token=A&access_token=B", "access_token=A&%61ccess_token=B", "ACCESS_TOKEN=A&access.token=B",
                  "access_token=A&x=1&access_token[]=B", "access_token=A&access_token=A"):
            with self.subTest(q=q):
                with self.assertRaises(TargetError) as cm:
                    pop_param(q, NAME)
                self.assertEqual(str(cm.exception), "token parameter repeated in the query")

    def test_a_spelling_behind_a_semicolon_is_refused(self):
        for q in ("a=1;access_token=B", "a=1&x=2;%61ccess_token=B", "amp;access_token=B", "a=1; access_token=B"):
            with self.subTest(q=q):
                with self.assertRaises(TargetError) as cm:
                    pop_param(q, NAME)
                self.assertEqual(str(cm.exception), "token parameter behind ; in the query")

    def test_a_semicolon_inside_the_token_part_goes_with_it(self):
        self.assertEqual(pop_param("access_token=A;b=1&c=2", NAME), ("A;b=1", "c=2"))

    def test_a_configured_name_is_compared_in_its_canonical_form_too(self):
        self.assertEqual(pop_param("Token=X&y=1", "token"), ("X", "y=1"))
        self.assertEqual(pop_param("auth.token=X", "auth_token"), ("X", ""))


class AdmissionQueryTokenTests(Case):
    def test_every_spelling_authenticates_and_none_is_forwarded(self):
        for k in SPELLINGS:
            with self.subTest(key=k):
                a = self.decide(facts("/q", query="a=1&%s=%s&b=2" % (k, T.VALID)))
                self.assertEqual((a.principal, a.query), ("jwt:alice", "a=1&b=2"))
                self.adm.release(a, "10.0.0.1")

    def test_a_spelling_is_stripped_when_the_header_authenticates(self):
        for k in SPELLINGS:
            with self.subTest(key=k):
                a = self.decide(facts("/q", query="%s=%s&x=1" % (k, T.EXPIRED), headers=bearer(T.VALID)))
                self.assertEqual((a.principal, a.query), ("jwt:alice", "x=1"))
                self.adm.release(a, "10.0.0.1")

    def test_two_spellings_are_refused_400(self):
        q = "access_token=%s&%%61ccess_token=%s" % (T.VALID, T.BOB)
        self.refused(facts("/q", query=q), 400, "request target: token parameter repeated in the query", "target")
        self.refused(facts("/q", query=q, headers=bearer(T.VALID)), 400,
                     "request target: token parameter repeated in the query", "target")

    def test_a_spelling_behind_a_semicolon_is_refused_400(self):
        self.refused(facts("/q", query="x=1;access_token=" + T.BOB, headers=bearer(T.VALID)), 400,
                     "request target: token parameter behind ; in the query", "target")
