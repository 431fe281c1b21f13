"""The edgegate command: quick relay, config refusal naming the field, check as run checks, boards, help."""

import asyncio
import json
import os
import re
import subprocess
import time

import pytest

from tests import procs


def _edgegate(*args, timeout=20):
    return subprocess.run([procs.PY, "-m", "edgegate", *args], cwd=procs.ROOT, capture_output=True,
                          text=True, timeout=timeout)


async def _echo_once(url, msg):
    import websockets

    async with websockets.connect(url, compression=None) as ws:
        await ws.send(msg)
        return await ws.recv()


def test_quick_relay_without_config_relays_through_one_open_route():
    with procs.echo() as be:
        port = procs.free_port()
        with procs.Proc([procs.PY, "-m", "edgegate", "run", "--listen", "127.0.0.1:%d" % port,
                         "--plaintext", "--backend", "ws://127.0.0.1:%d" % be.port], port) as gw:
            assert asyncio.run(_echo_once("ws://127.0.0.1:%d/any/path" % port, "hi")) == "hi"
            assert asyncio.run(_echo_once("ws://127.0.0.1:%d/" % port, b"\x00\x01")) == b"\x00\x01"
        listening = [r for r in gw.records() if r["event"] == "listening"][0]
        assert listening["board"] == "sim"
        assert gw.p.returncode == 0


def test_quick_relay_without_plaintext_flag_is_refused_naming_the_flag():
    r = _edgegate("run", "--listen", "127.0.0.1:1", "--backend", "ws://127.0.0.1:2")
    assert r.returncode == 2
    assert "--plaintext" in r.stderr


def test_run_without_config_or_backend_is_refused():
    r = _edgegate("run")
    assert r.returncode == 2
    assert "--config" in r.stderr


@pytest.mark.parametrize("doc, path", [
    ({"listen": [{"port": 8080}]}, "listen[0].tls"),
    ({"listen": [{"port": 8080, "plaintext": True}], "routes": [{"path": "/", "backend": {"url": "http://x"}}]},
     "routes[0].backend.url"),
    ({"listen": [{"port": 8080, "plaintext": True}], "limits": {"max_conns": 10 ** 6}}, "limits.max_conns"),
    ({"listen": [{"port": 70000, "plaintext": True}]}, "listen[0].port"),
    ({"listen": [{"port": 8080, "plaintext": True}], "colour": "red"}, "colour"),
])
def test_check_names_the_invalid_field(tmp_path, doc, path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(doc))
    r = _edgegate("check", str(f))
    assert r.returncode == 2
    assert ("config refused: %s:" % path) in r.stderr, r.stderr


def test_run_with_an_invalid_config_falls_back_to_safe_defaults_and_says_why(tmp_path):
    f = tmp_path / "box.json"
    f.write_text(json.dumps({"listen": [{"port": 8080, "plaintext": True}], "routes": [
        {"path": "/", "backend": {"url": "http://x"}}]}))
    # A console to repair the box through (the sim board has a factory password): safe defaults stay.
    p = subprocess.Popen([procs.PY, "-m", "edgegate", "run", "--config", str(f), "--console", "pty"],
                         cwd=procs.ROOT, stderr=subprocess.PIPE, text=True)
    try:
        import time

        deadline = time.monotonic() + 10
        line = ""
        while time.monotonic() < deadline and "config_loaded" not in line:
            line = p.stderr.readline()
        rec = json.loads(line)
        assert rec["source"] == "safe-defaults"
        assert any("routes[0].backend.url" in n for n in rec["notes"]), rec
        listening = ""
        while time.monotonic() < deadline and '"listening"' not in listening:
            listening = p.stderr.readline()
        assert json.loads(listening)["addresses"] == []  # safe defaults: nothing to connect to
    finally:
        p.terminate()
        p.wait(10)
    assert p.returncode == 0


def test_check_accepts_the_simulator_config():
    r = _edgegate("check", "sim/config.json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok: 1 listener(s), 2 route(s), 1 message policy,")


def test_unknown_board_is_refused():
    r = _edgegate("check", "sim/config.json", "--board", "pi-zero-9")
    assert r.returncode == 2 and "board" in r.stderr


def test_boards_lists_every_profile_with_derived_limits():
    r = _edgegate("boards")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert {"sim", "pi-zero-2w", "pi4", "pi5"} <= set(names)


# -- check checks what run checks, with the same words --------------------------------------------------------

PLAIN = {"host": "127.0.0.1", "port": 8080, "plaintext": True}
ROUTE = {"path": "/chat", "backend": {"url": "ws://127.0.0.1:9000/"}}


def _write(tmp_path, doc, name="box.json"):
    f = tmp_path / name
    f.write_text(json.dumps(doc))
    return str(f)


def _refusal(r):
    """The one ``edgegate: ...`` line of a refused command (run also logs JSON lines before it)."""
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("edgegate: ")]
    assert len(lines) == 1, r.stderr
    return lines[0]


REFUSED = "edgegate: config refused: "


def _check_and_run(path):
    """(check's refusal, run's refusal) of one config file; both must exit 2.

    What the document alone shows makes run fall back (FILE.lkg, then safe
    defaults, here refused for want of a console) and the refusal quotes it;
    what needs the host stops run's start: the same line as check's.
    """
    c = _edgegate("check", path)
    r = _edgegate("run", "--config", path, "--console", "none")
    assert (c.returncode, r.returncode) == (2, 2), (c.stderr, r.stderr)
    check, run = _refusal(c), _refusal(r)
    assert check.startswith(REFUSED) and (run == check or "(%s)" % check[len(REFUSED):] in run), (check, run)
    return check, run


def test_check_refuses_an_origin_with_a_trailing_slash_naming_the_field(tmp_path):
    doc = {"listen": [PLAIN], "routes": [dict(ROUTE, origins=["https://ok.example", "https://app.example/"])]}
    r = _edgegate("check", _write(tmp_path, doc))
    assert r.returncode == 2
    assert _refusal(r).startswith('edgegate: config refused: routes[0].origins[1]: "https://app.example/" never')
    assert 'write "https://app.example"' in r.stderr


def test_check_and_run_refuse_a_listen_host_that_does_not_resolve_in_the_same_words(tmp_path):
    check, run = _check_and_run(_write(tmp_path, {"listen": [dict(PLAIN, host="no-such-host.invalid")]}))
    assert check == run
    assert check.startswith("edgegate: config refused: listen[0].host: no-such-host.invalid does not resolve")


@pytest.mark.parametrize("second", [dict(PLAIN), dict(PLAIN, host="0.0.0.0"), dict(PLAIN, host="localhost")])
def test_check_and_run_refuse_two_listeners_on_one_address_naming_the_second(tmp_path, second):
    first = dict(PLAIN, host="localhost") if second["host"] == "0.0.0.0" else dict(PLAIN)
    check, _ = _check_and_run(_write(tmp_path, {"listen": [first, second]}))
    assert check.startswith("edgegate: config refused: listen[1]: ") and "listen[0]" in check


@pytest.fixture(scope="module")
def dev_certs(tmp_path_factory):
    pytest.importorskip("cryptography")
    from edgegate.tools.certs import make_dev_certs

    d = tmp_path_factory.mktemp("cli-certs")
    make_dev_certs(str(d))
    (d / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    return lambda name: str(d / name)


@pytest.mark.parametrize("engine", ["mbedtls", "ssl"])
@pytest.mark.parametrize("cert, key, names", [
    ("missing.pem", "server.key", ("listen[0].tls: ", "missing.pem")),
    ("server.pem", "missing.key", ("listen[0].tls: ", "missing.key")),
    ("garbage.pem", "server.key", ("listen[0].tls: ", "garbage.pem")),
    ("server.pem", "garbage.pem", ("listen[0].tls: ", "garbage.pem")),
    ("server.pem", "client.key", ("listen[0].tls: ", "client.key")),
])
def test_check_and_run_refuse_certificate_and_key_files_that_do_not_load_in_the_same_words(
        tmp_path, dev_certs, engine, cert, key, names):
    tls = {"backend": engine, "cert": dev_certs(cert), "key": dev_certs(key)}
    check, run = _check_and_run(_write(tmp_path, {"listen": [{"host": "127.0.0.1", "port": 8443, "tls": tls}]}))
    assert check == run
    assert check.startswith("edgegate: config refused: " + names[0]) and names[1] in check, check


def test_check_and_run_refuse_a_missing_backend_ca_and_jwt_secret_naming_the_field(tmp_path):
    doc = {"listen": [PLAIN], "routes": [{"path": "/", "backend": {"url": "wss://core.lan/",
                                                                   "tls": {"ca": str(tmp_path / "no-ca.pem")}}}]}
    check, run = _check_and_run(_write(tmp_path, doc))
    assert check == run and check.startswith("edgegate: config refused: routes[0].backend.tls.ca: ")
    doc = {"listen": [PLAIN], "auth": {"jwt": {"keys": [{"kid": "k", "alg": "HS256",
                                                         "secret_file": str(tmp_path / "no.secret")}]}}}
    check, run = _check_and_run(_write(tmp_path, doc, "jwt.json"))
    assert check == run and check.startswith("edgegate: config refused: auth.jwt: ") and "no.secret" in check


def test_check_accepts_a_tls_listener_whose_files_load(tmp_path, dev_certs):
    tls = {"cert": dev_certs("server.pem"), "key": dev_certs("server.key")}
    r = _edgegate("check", _write(tmp_path, {"listen": [{"port": 8443, "tls": tls}, PLAIN]}))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok: 2 listener(s)")


def test_check_document_only_leaves_what_only_the_box_has_unchecked(tmp_path):
    tls = {"cert": "/etc/edgegate/server.pem", "key": "/etc/edgegate/server.key"}
    path = _write(tmp_path, {"listen": [{"host": "eth0.box.invalid", "port": 443, "tls": tls}]})
    assert _edgegate("check", path).returncode == 2
    r = _edgegate("check", path, "--document-only")
    assert r.returncode == 0, r.stderr
    assert "(document only)" in r.stdout


def test_check_names_the_file_of_a_top_level_array(tmp_path):
    path = _write(tmp_path, [{"listen": [PLAIN]}])
    r = _edgegate("check", path)
    assert r.returncode == 2
    assert _refusal(r) == "edgegate: config refused: %s: must be a JSON object, not an array" % path


@pytest.mark.parametrize("what, says", [("missing", "No such file or directory"), ("directory", "Is a directory"),
                                       ("not UTF-8", "not JSON")])
def test_check_of_an_unreadable_config_file_exits_2_naming_the_file(tmp_path, what, says):
    path = {"missing": str(tmp_path / "nope.json"), "directory": str(tmp_path)}.get(what)
    if path is None:
        path = str(tmp_path / "box.json")
        (tmp_path / "box.json").write_bytes(b"\xff{")
    r = _edgegate("check", path)
    assert r.returncode == 2
    assert _refusal(r).startswith("edgegate: config refused: %s: %s" % (path, says)), r.stderr


def test_a_console_commit_of_a_listen_host_that_does_not_resolve_is_refused_naming_the_field(tmp_path):
    pytest.importorskip("serial")
    from tests.console_io import boxes

    port = procs.free_port()
    box = boxes.Box(tmp_path, "pty", doc=boxes.box_doc(port, 9, routes=[]))
    try:
        line = boxes.pty_console(box)
        box.wait_record("listening")
        line.login(prompted=True)
        line.command("set listen[1] {\"host\": \"no-such-host.invalid\", \"port\": %d, \"plaintext\": true}"
                     % procs.free_port())
        out = line.command("commit")
        assert "error: listen[1].host: no-such-host.invalid does not resolve" in out, out
        assert len(box.stored()["listen"]) == 1
        line.close()
    finally:
        box.stop()


# -- the command line ------------------------------------------------------------------------------------------

def test_version_flag_prints_the_version():
    from edgegate import __version__

    r = _edgegate("--version")
    assert (r.returncode, r.stdout) == (0, "edgegate %s\n" % __version__)


def test_a_bare_edgegate_prints_the_help_and_exits_2():
    r = _edgegate()
    assert r.returncode == 2
    assert r.stderr.startswith("usage: edgegate") and "check" in r.stderr and "exit status:" in r.stderr


def _actions(parser, where="edgegate"):
    import argparse

    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for choice in a._choices_actions:
                yield "%s %s" % (where, choice.dest), choice
            for name, sub in a.choices.items():
                yield from _actions(sub, "%s %s" % (where, name))
        elif not isinstance(a, argparse._HelpAction):
            yield "%s %s" % (where, "/".join(a.option_strings) or a.dest), a


def test_every_command_and_option_has_help_text():
    from edgegate.cli import build_parser

    missing = [name for name, a in _actions(build_parser()) if not (a.help or "").strip()]
    assert missing == []
    texts = " ".join(a.help for _, a in _actions(build_parser()))
    assert "until TLS" not in texts


def test_certs_dev_refuses_to_overwrite_existing_keys_without_force(tmp_path):
    pytest.importorskip("cryptography")
    d = tmp_path / "certs"
    assert _edgegate("certs", "dev", str(d), timeout=60).returncode == 0
    key = (d / "server.key").read_bytes()
    (d / "ca.pem").unlink()  # one missing is no reason to replace the others
    r = _edgegate("certs", "dev", str(d), timeout=60)
    assert r.returncode == 2
    assert "server.key" in r.stderr and "--force" in r.stderr
    assert (d / "server.key").read_bytes() == key and not (d / "ca.pem").exists()
    os.chmod(d / "server.key", 0o644)
    r = _edgegate("certs", "dev", str(d), "--force", timeout=60)
    assert r.returncode == 0, r.stderr
    assert (d / "server.key").read_bytes() != key and (d / "ca.pem").exists()
    assert os.stat(d / "server.key").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("backend", ["http://127.0.0.1:9000", "ws://bad host/", "wss://core.lan/"])
def test_run_with_a_quick_relay_backend_it_cannot_use_names_the_flag(backend):
    r = _edgegate("run", "--listen", "127.0.0.1:1", "--plaintext", "--backend", backend)
    assert r.returncode == 2
    assert _refusal(r).startswith("edgegate: config refused: --backend: "), r.stderr


@pytest.mark.parametrize("listen", ["127.0.0.1:99999", "no-such-host.invalid:8080"])
def test_run_with_a_quick_relay_listen_address_it_cannot_use_names_the_flag(listen):
    r = _edgegate("run", "--listen", listen, "--plaintext", "--backend", "ws://127.0.0.1:2")
    assert r.returncode == 2
    assert _refusal(r).startswith("edgegate: config refused: --listen: "), r.stderr


def test_run_with_a_missing_config_no_last_known_good_and_no_console_exits_2_naming_the_file(tmp_path):
    path = str(tmp_path / "missing.json")
    r = _edgegate("run", "--config", path, "--console", "none")
    assert r.returncode == 2
    line = _refusal(r)
    assert line.startswith("edgegate: config refused: %s: no usable config: " % path)
    assert "--console none" in line and "missing.json.lkg" in line


def test_run_with_a_config_path_it_cannot_read_exits_2_naming_it(tmp_path):
    r = _edgegate("run", "--config", str(tmp_path), "--console", "pty")
    assert r.returncode == 2
    assert _refusal(r) == "edgegate: config refused: %s: Is a directory" % tmp_path


def test_run_with_an_invalid_config_and_no_way_to_log_in_exits_2(tmp_path):
    # pi4 has no factory password: a console on safe defaults would let nobody in.
    path = _write(tmp_path, {"listen": [{"port": "x"}]})
    r = _edgegate("run", "--board", "pi4", "--config", path, "--console", "pty")
    assert r.returncode == 2
    assert "no factory_password_hash" in _refusal(r) and "listen[0].port" in _refusal(r)


def test_run_with_a_missing_config_runs_its_last_known_good(tmp_path):
    port = procs.free_port()
    path = str(tmp_path / "box.json")
    _write(tmp_path, {"listen": [dict(PLAIN, port=port)]}, "box.json.lkg")
    with procs.Proc([procs.PY, "-m", "edgegate", "run", "--config", path, "--console", "none"], port) as gw:
        pass
    loaded = [r for r in gw.records() if r["event"] == "config_loaded"][0]
    assert loaded["source"] == "last-known-good"


UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_log_lines_carry_wall_clock_time_beside_the_monotonic_clock():
    import calendar

    port = procs.free_port()
    before = time.time()
    with procs.Proc([procs.PY, "-m", "edgegate", "run", "--listen", "127.0.0.1:%d" % port, "--plaintext",
                     "--backend", "ws://127.0.0.1:9"], port) as gw:
        pass
    after = time.time()
    recs = gw.records()
    assert recs and all(isinstance(r["t"], int) and UTC_STAMP.match(r["ts"]) for r in recs), recs
    for r in recs:
        at = calendar.timegm(time.strptime(r["ts"][:19], "%Y-%m-%dT%H:%M:%S")) + int(r["ts"][20:23]) / 1000
        assert before - 1 <= at <= after + 1, (before, r["ts"], after)
