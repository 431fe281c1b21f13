"""Node's ``ws`` package as a client through a real gateway process, to two real backends.

tests/node/ws_client.mjs runs the scenarios (text, binary, fragments sent with
``{fin: false}``, empty messages, sim-board maximum sizes, pings, close codes,
sub-protocol) and prints what came back; these tests judge it byte for byte.
``npm install`` runs on first use; the module skips only when ``node`` is
not on PATH.
"""

import base64
import json
import os
import shutil
import subprocess

import pytest

from tests import procs

from .steady import run
from .wire import MAX_FRAME, MAX_MESSAGE, wait_until

NODE_DIR = os.path.join(procs.ROOT, "tests", "node")
SCRIPT = os.path.join(NODE_DIR, "ws_client.mjs")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")


def pattern(n, seed):
    """The script's deterministic payload: byte i is (i * 31 + seed) & 0xff."""
    return bytes((i * 31 + seed) & 0xFF for i in range(n))


@pytest.fixture(scope="module")
def node_ws():
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "ws")):
        npm = shutil.which("npm")
        assert npm is not None, "node is on PATH but npm is not: cannot install the ws package"
        subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       timeout=300, stdout=subprocess.DEVNULL)
    return shutil.which("node")


@pytest.fixture(scope="module", params=["edgegate-echo", "websockets-echo"])
def results(request, node_ws):
    if request.param == "edgegate-echo":
        backend = procs.echo()
    else:
        backend = procs.websockets_echo(subprotocols=["chat.v1"], fragments=True)
    with backend, procs.gateway(backend.port) as gw:
        url = "ws://127.0.0.1:%d/" % gw.port
        r = subprocess.run([node_ws, SCRIPT, url, str(MAX_FRAME), str(MAX_MESSAGE)], cwd=NODE_DIR,
                           capture_output=True, text=True, timeout=60)
        assert r.stdout, "ws_client.mjs printed nothing (status %d): %s" % (r.returncode, r.stderr)
        out = json.loads(r.stdout)
        assert "fatal" not in out, out["fatal"]
        assert r.returncode == 0, r.stderr
        out["_gateway"] = gw
        yield out


def data(msg):
    return base64.b64decode(msg["b64"])


def test_node_client_sees_the_sub_protocol_the_backend_selected_and_no_extension(results):
    assert results["protocol"] == "chat.v1"
    assert results["extensions"] == ""  # ws offered permessage-deflate; the gateway never negotiates it


def test_node_client_text_message_comes_back_byte_exact(results):
    m = results["text"]
    assert m["binary"] is False
    assert data(m).decode("utf-8") == "héllo wörld ✓ 🚀"


def test_node_client_binary_message_comes_back_byte_exact(results):
    m = results["binary"]
    assert m["binary"] is True
    assert data(m) == pattern(1000, 1)


def test_node_client_fragmented_text_comes_back_whole(results):
    m = results["fragmented_text"]
    assert m["binary"] is False
    assert data(m) == "fragménted ✓".encode()


def test_node_client_text_with_a_character_split_across_fragments_comes_back_whole(results):
    m = results["split_character"]
    assert m["binary"] is False
    assert data(m) == "a✓b".encode()


def test_node_client_fragmented_binary_with_an_empty_fragment_comes_back_whole(results):
    m = results["fragmented_binary"]
    assert m["binary"] is True
    assert data(m) == pattern(100, 2) + pattern(200, 3)


def test_node_client_empty_messages_come_back_empty(results):
    assert results["empty_text"] == {"binary": False, "b64": "", "bytes": 0}
    assert results["empty_binary"] == {"binary": True, "b64": "", "bytes": 0}


def test_node_client_message_of_max_frame_bytes_in_one_frame_comes_back(results):
    m = results["max_frame"]
    assert m["binary"] is True
    assert m["bytes"] == MAX_FRAME
    assert data(m) == pattern(MAX_FRAME, 4)


def test_node_client_message_of_max_message_bytes_in_fragments_comes_back(results):
    m = results["max_message"]
    assert results["max_message_frames"] == MAX_MESSAGE // MAX_FRAME
    assert m["binary"] is True
    assert m["bytes"] == MAX_MESSAGE
    assert data(m) == pattern(MAX_MESSAGE, 5)


def test_node_client_pings_get_pongs_with_the_same_payload(results):
    sent = [p["sent"] for p in results["pings"]]
    assert [base64.b64decode(s) for s in sent] == [b"edge-ping", pattern(125, 6), b""]
    for p in results["pings"]:
        assert p["got"] == p["sent"]


def test_node_client_close_code_and_reason_are_echoed_end_to_end(results):
    assert results["main_close"] == {"code": 1000, "reason": "done"}
    assert [c["sent"] for c in results["closes"]] == [1000, 1001, 3000, 4999]
    for c in results["closes"]:
        assert (c["code"], c["reason"]) == (c["sent"], c["sent_reason"])


def test_node_client_close_codes_are_logged_by_the_gateway(results):
    gw = results["_gateway"]

    def codes():
        return sorted(r["client_close"] for r in gw.records() if r.get("event") == "session_end")

    # One session for the scenarios (closed with 1000), then one per close code.
    run(wait_until(lambda: len(codes()) == 5, what="5 session_end records"))
    assert codes() == [1000, 1000, 1001, 3000, 4999]
