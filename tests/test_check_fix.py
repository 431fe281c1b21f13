"""``edgegate check --fix FILE``: flat message policies rewritten as steps, atomically, the old file kept."""

import json
import os
import stat
import subprocess

from edgegate.cli import load_board
from edgegate.config.model import parse
from edgegate.pipeline import compile_pipelines
from tests import procs

FLAT = {"types": ["text"], "max_bytes": 4096,
        "rate": {"messages_per_s": 50, "bytes_per_s": 65536, "on_exceed": "drop", "per": "principal"},
        "json": True, "max_depth": 8,
        "shape": {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["say", "join"]}}},
        "signatures": ["sqli", "xss"], "deny": ["internal project"], "on_violation": "drop",
        "description": "chat as it was written before pipelines"}
DOC = {"listen": [{"port": 8080, "plaintext": True}],
       "message_policies": {"chat": FLAT, "raw": {"types": ["binary"]},
                            "new": {"steps": [{"step": "redact", "patterns": ["card"]}]}},
       "routes": [{"path": "/chat", "backend": {"url": "ws://127.0.0.1:9000/"}, "subprotocols": ["raw.v1"],
                   "messages": "chat", "messages_by_subprotocol": {"raw.v1": "raw"}, "messages_to_client": "new"}]}


def edgegate(*args):
    return subprocess.run([procs.PY, "-m", "edgegate", *args], cwd=procs.ROOT, capture_output=True, text=True,
                          timeout=30)


def write(tmp_path, doc, mode=0o640):
    p = tmp_path / "box.json"
    p.write_text(json.dumps(doc))
    os.chmod(p, mode)
    return p


def verdicts(doc, messages):
    pipes = compile_pipelines(parse(doc, load_board("sim")))
    out = []
    for name, text, msg in messages:
        ch = pipes[name].session(0, "k", None)
        try:
            ch.charge(len(msg), 0)
            ch.start(text, len(msg))
            out.append(ch.judge(text, msg, 0, 0))
        except Exception as e:  # noqa: BLE001 - the refusal is the verdict
            out.append((e.code, e.rule, e.drop))
    return out


def test_check_fix_rewrites_flat_policies_as_steps_and_keeps_the_old_file(tmp_path):
    p = write(tmp_path, DOC)
    r = edgegate("check", str(p), "--fix", "--document-only")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "fixed: message_policies.chat: flat form -> steps [type, size, rate, json, shape, signatures]"
    assert lines[1] == "fixed: message_policies.raw: flat form -> steps [type]"
    assert lines[2] == "wrote %s (the previous one is %s.bak)" % (p, p)
    assert lines[3].startswith("ok: 1 listener(s), 1 route(s), 3 message policies")
    new = json.loads(p.read_text())
    assert json.loads((tmp_path / "box.json.bak").read_text()) == DOC
    chat = new["message_policies"]["chat"]
    assert chat["description"] == FLAT["description"] and chat["on_violation"] == "drop"
    assert chat["steps"][2] == {"step": "rate", "messages_per_s": 50, "bytes_per_s": 65536, "on_exceed": "drop",
                                "per": "principal"}
    assert new["message_policies"]["new"] == DOC["message_policies"]["new"]
    assert new["routes"] == DOC["routes"] and new["listen"] == DOC["listen"]
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    assert not os.path.exists(str(p) + ".tmp")


def test_the_fixed_document_judges_every_message_as_the_flat_one_did(tmp_path):
    p = write(tmp_path, DOC)
    assert edgegate("check", str(p), "--fix", "--document-only").returncode == 0
    new = json.loads(p.read_text())
    msgs = [("chat", True, b'{"type":"say"}'), ("chat", False, b"x"), ("chat", True, b"x" * 4097),
            ("chat", True, b'{"type":"shout"}'), ("chat", True, b'{"type":"say","t":"<script>"}'),
            ("chat", True, b"[" * 9 + b"]" * 9), ("chat", True, b"not json"), ("raw", True, b"t"),
            ("raw", False, b"\x00"), ("new", True, b"4111111111111111")]
    assert verdicts(new, msgs) == verdicts(DOC, msgs)


def test_check_fix_with_nothing_to_fix_writes_nothing(tmp_path):
    doc = {"listen": [{"port": 8080, "plaintext": True}], "message_policies": {"p": {"steps": []}}}
    p = write(tmp_path, doc)
    before = p.read_bytes()
    r = edgegate("check", str(p), "--fix", "--document-only")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("nothing to fix: no message policy in the flat form\nok: ")
    assert p.read_bytes() == before and not os.path.exists(str(p) + ".bak")


def test_check_fix_refuses_an_invalid_file_and_leaves_it_alone(tmp_path):
    # scan_binary with nothing to scan for: the rewrite would drop it silently, so nothing is rewritten
    doc = dict(DOC, message_policies={"p": {"scan_binary": True}})
    p = write(tmp_path, doc)
    before = p.read_bytes()
    r = edgegate("check", str(p), "--fix", "--document-only")
    assert r.returncode == 2
    assert r.stderr.startswith("edgegate: config refused: message_policies.p.scan_binary: ")
    assert p.read_bytes() == before and not os.path.exists(str(p) + ".bak")
