"""The edgegate command: quick relay, config refusal naming the field, check, boards."""

import asyncio
import json
import subprocess

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
    p = subprocess.Popen([procs.PY, "-m", "edgegate", "run", "--config", str(f), "--console", "none"],
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
