"""Through the running gateway: no spelling of the token parameter that PHP reads as its name reaches the backend.

Attack re-run: with a valid token in ``access_token`` and ``FORGED`` under
``access_token%00``, ``access_token%00zz``, ``access[token`` or
``access%5Btoken``, the gateway answered 101 and forwarded the forged one,
which PHP's ``$_GET`` (parse_str) reads as ``access_token``. Now a control
character in a parameter name is refused 400, an unmatched ``[`` counts as
``_`` (two spellings: 400), and a spelling alone authenticates and is
stripped. Where ``php`` is installed, the forwarded query is also read by
PHP's own parse_str.
"""

import json
import shutil
import subprocess
from urllib.parse import parse_qs

import pytest

from .raw import upgrade

SPELLINGS = ["access_token%00", "access_token%00zz", "access[token", "access%5Btoken", "access%5btoken",
             "access[token%00", "%20access[token", "access_token", "[access_token]", "%u0061ccess_token"]


def php_reads(query):
    """What PHP's parse_str (as $_GET) reads from ``query``; None when php is not installed."""
    if shutil.which("php") is None:
        return None
    out = subprocess.run(["php", "-r", "parse_str($argv[1], $o); echo json_encode($o);", query],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def forwarded_query(seen):
    return seen["path"].partition("?")[2]


@pytest.mark.parametrize("name", SPELLINGS)
def test_a_forged_spelling_beside_a_valid_token_gets_400(gw, keys, name):
    good = keys.mint("hs256", sub="good")
    assert upgrade(gw.port, "/q?access_token=%s&%s=FORGED" % (good, name)) == (400, None)
    assert upgrade(gw.port, "/q?%s=FORGED&access_token=%s" % (name, good)) == (400, None)


@pytest.mark.parametrize("name", ["access_token%00", "access_token%00zz", "access[token%00", "x%00y", "a%0Db"])
def test_a_control_character_in_a_parameter_name_gets_400(gw, keys, name):
    good = keys.mint("hs256", sub="good")
    assert upgrade(gw.port, "/q?%s=1" % name, (("Authorization", "Bearer " + good),)) == (400, None)


@pytest.mark.parametrize("name", ["access[token", "access%5Btoken", "[access_token]", "%u0061ccess_token"])
def test_a_spelling_alone_authenticates_and_no_decoder_reads_it_at_the_backend(gw, keys, name):
    tok = keys.mint("hs256", sub="php")
    status, seen = upgrade(gw.port, "/q?a=1&%s=%s&b=2" % (name, tok))
    assert status == 101
    assert forwarded_query(seen) == "a=1&b=2"
    assert parse_qs(forwarded_query(seen)) == {"a": ["1"], "b": ["2"]}
    php = php_reads(forwarded_query(seen))
    assert php in (None, {"a": "1", "b": "2"})


def test_php_reads_what_the_gateway_forwards_for_an_unrelated_bracket_name(gw, keys):
    # access[token] is PHP's array "access": not the token parameter, forwarded as sent.
    tok = keys.mint("hs256", sub="php")
    status, seen = upgrade(gw.port, "/q?access_token=%s&access[token]=x" % tok)
    assert (status, forwarded_query(seen)) == (101, "access[token]=x")
    assert php_reads(forwarded_query(seen)) in (None, {"access": {"token": "x"}})
