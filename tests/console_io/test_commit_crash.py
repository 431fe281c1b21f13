"""A console commit interrupted by a crash at each step of each file write leaves a whole config.

``EDGEGATE_CRASH_AT`` / ``EDGEGATE_CRASH_FILE`` (edgegate/gateway/files.py)
make the gateway exit 99 at one step of one atomic write. A commit writes
``box.json.lkg`` (the old document) and then ``box.json`` (the new one); after
the crash the gateway starts again without the fault and must run the old
config or the new one, complete: never a corrupt file, never safe defaults.
"""

import json
import os

import pytest

from tests import procs
from tests.console_io import boxes

STEPS = ("before-write", "after-write", "after-fsync", "after-rename")
FILES = ("box.json.lkg", "box.json")


def show_running(line):
    return json.loads(line.command("show running"))


def redacted(doc):
    d = json.loads(json.dumps(doc))
    d["console"]["password_hash"] = "<hashed>"
    return d


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("step", STEPS)
def test_gateway_killed_during_a_commit_restarts_on_the_whole_old_or_new_config(tmp_path, step, name):
    old = boxes.box_doc(procs.free_port(), procs.free_port())
    new = json.loads(json.dumps(old))
    new["limits"] = {"max_conns": 50}
    new["timeouts"] = {"idle_ms": 30000}

    box = boxes.Box(tmp_path, "pty", doc=old, env={"EDGEGATE_CRASH_AT": step, "EDGEGATE_CRASH_FILE": name})
    line = boxes.pty_console(box)
    try:
        line.login(prompted=True)
        line.command("set limits.max_conns 50")
        line.command("set timeouts.idle_ms 30000")
        line.send("commit")
        assert box.wait_exit() == 99
    finally:
        line.close()
        box.stop()

    with open(box.path) as f:
        on_disk = json.load(f)  # the committed file always parses
    # Only a crash after box.json itself was renamed into place leaves the new document.
    want = new if (name, step) == ("box.json", "after-rename") else old
    assert on_disk == want
    # The fault fired where it was told to: the .lkg is in place only once its rename happened.
    lkg_in_place = name == "box.json" or step == "after-rename"
    assert os.path.exists(box.path + ".lkg") == lkg_in_place
    if lkg_in_place:
        assert box.stored(".lkg") == old

    again = boxes.Box(tmp_path, "pty")
    line = boxes.pty_console(again)
    try:
        loaded = again.wait_record("config_loaded")
        assert loaded["source"] == "config", loaded
        assert loaded["notes"] == []
        line.login(prompted=True)
        assert show_running(line) == redacted(want)
        listening = again.wait_record("listening")
        assert (listening["max_conns"] == 50) == (want is new)
    finally:
        line.close()
        again.stop()
