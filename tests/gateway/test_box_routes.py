"""``show routes`` names each route's pipelines, both directions."""

from edgegate.cli import load_board
from edgegate.config import parse
from edgegate.gateway.box import _messages_cell

POLICIES = {"in": {"types": ["text"]}, "raw": {"types": ["binary"]}, "out": {"steps": [{"step": "size", "max_bytes": 10}]}}


def route(**kw):
    doc = {"listen": [{"host": "127.0.0.1", "port": 1, "plaintext": True}],
           "routes": [dict({"path": "/", "backend": {"url": "ws://127.0.0.1:2/"}, "subprotocols": ["raw.v1"]}, **kw)],
           "message_policies": POLICIES}
    return parse(doc, load_board("sim")).routes[0]


def test_show_routes_names_the_client_pipeline_and_the_one_to_the_client():
    r = route(messages="in", messages_by_subprotocol={"raw.v1": "raw"}, messages_to_client="out")
    assert _messages_cell(r) == "in raw.v1=raw | to client: out"


def test_show_routes_says_dash_for_a_route_without_pipelines():
    assert _messages_cell(route()) == "-"
