"""The serial console of a real gateway process, over linked pseudo-terminals, driven with pyserial.

socat links two ptys: the gateway opens one as its UART (``--console PATH``),
the test opens the other as the technician's adapter. The ``pty`` mode (the
gateway makes the pair itself) is driven with ``edgegate console`` as a real
subprocess.
"""

import json
import subprocess

import pytest

from tests import procs
from tests.console_io import boxes
from tests.console_io.boxes import PASSWORD, PROMPT, PROMPT_STAGED


@pytest.fixture
def pair(tmp_path):
    r = boxes.socat_pair(tmp_path)
    if r is None:
        pytest.skip("socat is not installed: it links the two pseudo-terminals (apt-get install socat)")
    p, uart, usb = r
    yield uart, usb
    p.kill()
    p.wait()


@pytest.fixture
def backend():
    with procs.echo() as e:
        yield e


def start(tmp_path, pair, backend, **doc_kw):
    """A gateway on the pair's UART end and the technician's Line on the other, banner read."""
    uart, usb = pair
    port = procs.free_port()
    line = boxes.Line(usb)  # opened first: pyserial empties the input buffer when it opens a port
    doc = boxes.box_doc(port, backend.port, **doc_kw)
    box = boxes.Box(tmp_path, uart, doc=doc)
    box.doc = doc
    box.port = port
    box.wait_record("console")
    line.expect("edgegate console\r\n")
    return box, line


@pytest.fixture
def console(tmp_path, pair, backend):
    box, line = start(tmp_path, pair, backend)
    yield box, line
    line.close()
    box.stop()


def running(line):
    """``show running`` parsed back from its JSON lines."""
    return json.loads(line.command("show running"))


def redacted(doc):
    d = json.loads(json.dumps(doc))
    d["console"]["password_hash"] = "<hashed>"
    return d


def test_technician_logs_in_after_a_wrong_password_and_reads_the_status(console):
    box, line = console
    line.expect("password: ")
    line.send("not the password")
    assert line.expect("password: ") == "\r\nlogin incorrect\r\n"  # nothing typed is echoed
    line.send(PASSWORD)
    assert line.expect(PROMPT) == "\r\nlogged in (help lists the commands)\r\n"
    status = line.command("show status")
    rows = dict(r.split(None, 1) for r in status.strip().split("\r\n"))
    assert rows["board"] == "sim"
    assert rows["config"] == "config"
    assert rows["listening"] == "127.0.0.1:%d" % box.port
    assert rows["commits"] == "0"
    assert PASSWORD not in line.seen


def test_set_diff_commit_apply_and_persist_the_change(console):
    box, line = console
    line.login()
    line.send("set timeouts.idle_ms 30000")
    line.expect(PROMPT_STAGED)
    assert line.command("show diff", PROMPT_STAGED) == "+ timeouts.idle_ms = 30000\r\n"
    assert line.command("commit") == "committed 1 change(s)\r\n"
    applied = box.wait_record("config_applied")
    assert applied["routes"] == ["/echo"]
    want = dict(box.doc, timeouts={"idle_ms": 30000})
    assert box.stored() == want
    assert box.stored(".lkg") == box.doc
    assert running(line) == redacted(want)
    assert line.command("show diff") == "no staged changes\r\n"


def test_commit_confirmed_that_expires_rolls_back_the_file_and_the_running_config(console):
    box, line = console
    line.login()
    line.send("set limits.max_conns 50")
    line.expect(PROMPT_STAGED)
    out = line.command("commit confirmed 2")
    assert out.startswith("committed 1 change(s); rolls back in 2 s unless confirmed\r\n")
    assert box.stored()["limits"] == {"max_conns": 50}
    assert running(line)["limits"] == {"max_conns": 50}
    line.expect("commit not confirmed within 2 s: rolled back to the previous config\r\n", timeout=8)
    line.expect(PROMPT)
    box.wait_record("config_rollback")
    assert box.stored() == box.doc
    assert running(line) == redacted(box.doc)
    assert box.wait_record("config_applied", n=2)["max_conns"] != 50


def test_overlong_line_is_refused_without_losing_the_session(console):
    box, line = console
    line.login()
    line.send("show " + "x" * 300)
    assert line.expect(PROMPT).endswith("\r\nerror: line longer than 256 bytes refused\r\n")
    assert "board" in line.command("show status")


def test_unknown_command_is_refused_and_the_session_goes_on(console):
    box, line = console
    line.login()
    assert line.command("frobnicate now") == "error: unknown command 'frobnicate' (try help)\r\n"
    assert "sim" in line.command("show status")


def test_logout_ends_the_session(console):
    box, line = console
    line.login()
    line.send("logout")
    assert line.expect("password: ").endswith("\r\nlogged out\r\n")
    line.send("show status")  # now a (wrong) password, not a command
    assert line.expect("password: ") == "\r\nlogin incorrect\r\n"
    line.send(PASSWORD)
    line.expect("logged in")


def test_five_wrong_passwords_lock_the_console_even_against_the_right_one(console):
    box, line = console
    line.expect("password: ")
    for i in range(4):
        line.send("wrong %d" % i)
        assert line.expect("password: ") == "\r\nlogin incorrect\r\n"
    line.send("wrong 4")
    assert line.expect("password: ") == "\r\nlogin incorrect\r\nlocked: try again in 60 s\r\n"
    line.send(PASSWORD)
    out = line.expect("password: ")
    assert out.startswith("\r\nlocked: try again in ")
    assert "logged in" not in line.seen


def test_pty_mode_logs_the_port_and_edgegate_console_drives_it(tmp_path, backend):
    port = procs.free_port()
    box = boxes.Box(tmp_path, "pty", doc=boxes.box_doc(port, backend.port))
    try:
        rec = box.wait_record("console_port")
        assert rec["port"].startswith("/dev/")
        box.wait_record("console")
        script = "%s\nshow status\nset limits.max_conns 40\nshow diff\ndiscard\nlogout\n" % PASSWORD
        r = subprocess.run([procs.PY, "-m", "edgegate", "console", "--port", rec["port"]], input=script.encode(),
                           cwd=procs.ROOT, capture_output=True, timeout=30)
        out = r.stdout.decode("utf-8", "replace")
        assert r.returncode == 0, r.stderr
        assert "password: " in out
        assert "logged in (help lists the commands)" in out
        assert "board" in out and "sim" in out
        assert "+ limits.max_conns = 40" in out
        assert "staged changes discarded" in out
        assert "logged out" in out
        assert PASSWORD not in out  # the box does not echo a password
        assert box.stored() == boxes.box_doc(port, backend.port)  # discarded: nothing written
    finally:
        box.stop()
