"""``edgegate check`` refuses a route path that is not in normal form, naming routes[i].path and what to write.

(CPython only: it runs the command. The rule itself: tests/config/test_route_path.py.)
"""

import json
import subprocess

import pytest

from tests import procs

PLAIN = {"host": "127.0.0.1", "port": 8080, "plaintext": True}


def _check(tmp_path, path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"listen": [PLAIN], "routes": [
        {"path": "/ok", "backend": {"url": "ws://127.0.0.1:9000/"}},
        {"path": path, "backend": {"url": "ws://127.0.0.1:9001/"}}]}))
    return subprocess.run([procs.PY, "-m", "edgegate", "check", str(f)], cwd=procs.ROOT, capture_output=True,
                          text=True, timeout=20)


@pytest.mark.parametrize("path, normal", [("/caf%c3%a9", "/caf%C3%A9"), ("/a/../b", "/b"), ("/a//b", "/a/b"),
                                          ("/caf\u00e9", "/caf%C3%A9")])
def test_check_names_the_route_path_and_its_normal_form(tmp_path, path, normal):
    r = _check(tmp_path, path)
    assert r.returncode == 2
    assert ("edgegate: config refused: routes[1].path: %s never matches: a request's path is normalised before"
            " routing; write %s" % (json.dumps(path), json.dumps(normal))) in r.stderr, r.stderr


@pytest.mark.parametrize("path, why", [("/a;b", "; in the path (path parameters)"),
                                       ("/a%2Fb", "encoded / in the path"), ("/a\r\nb", "control, space or non-ASCII")])
def test_check_says_why_a_route_path_has_no_normal_form(tmp_path, path, why):
    r = _check(tmp_path, path)
    assert r.returncode == 2
    assert "edgegate: config refused: routes[1].path: %s never matches: %s" % (json.dumps(path), why) in r.stderr
    assert "\r" not in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_check_takes_a_route_path_in_normal_form(tmp_path):
    r = _check(tmp_path, "/caf%C3%A9/")
    assert r.returncode == 0, r.stderr
