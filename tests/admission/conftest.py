"""One set of keys, one telling backend and one gateway for the admission tests.

The gateway (``gw``) has every kind of key (HMAC secrets, PEM and JWKS public
keys), issuer/audience set, no leeway and no grace, and these routes in front
of the websockets-library backend (tests/admission/backend.py):

    /open   no auth
    /jwt    JWT; sub-protocols chat.v1, chat.v2 allowed
    /q      JWT, also from ?access_token=
    /key    API key (X-Api-Key)
    /app    browser route: Origin https://app.test only, chat.v1 required, JWT
    /cap    no auth, max_conns 1
    /renew  JWT; {"type": "refresh", "token": JWT} in-band extends the session
    /renew-bin  as /renew, with a binary-only message policy (64 bytes, 2/s, burst 4)

Its per-address and per-principal limits are lifted (tests of the limits run
their own gateway).
"""

import pytest

from tests import procs

from .util import APP, LIFTED, KeyFiles


def routes(backend_port):
    url = "ws://127.0.0.1:%d/" % backend_port
    return [
        {"path": "/open", "backend": {"url": url}},
        {"path": "/jwt", "backend": {"url": url}, "subprotocols": ["chat.v1", "chat.v2"],
         "auth": {"methods": ["jwt"]}},
        {"path": "/q", "backend": {"url": url}, "auth": {"methods": ["jwt"], "query_param": "access_token"}},
        {"path": "/key", "backend": {"url": url}, "auth": {"methods": ["api_key"]}},
        {"path": "/app", "backend": {"url": url}, "origins": [APP], "allow_missing_origin": False,
         "subprotocols": ["chat.v1"], "require_subprotocol": True, "auth": {"methods": ["jwt"]}},
        {"path": "/cap", "backend": {"url": url}, "max_conns": 1},
        {"path": "/renew", "backend": {"url": url},
         "auth": {"methods": ["jwt"], "refresh": {"field": "type", "value": "refresh", "token_field": "token"}}},
        {"path": "/renew-bin", "backend": {"url": url}, "messages": "binary-only",
         "auth": {"methods": ["jwt"], "refresh": {"field": "type", "value": "refresh", "token_field": "token"}}},
    ]


# /renew-bin's messages: binary only, a few per second; a refresh (text) is still taken.
MESSAGE_POLICIES = {"binary-only": {"types": ["binary"], "max_bytes": 64,
                                    "rate": {"messages_per_s": 2, "messages_burst": 4}}}


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return KeyFiles(tmp_path_factory.mktemp("admission-keys"))


@pytest.fixture(scope="session")
def backend():
    port = procs.free_port()
    p = procs.Proc([procs.PY, "-m", "tests.admission.backend", str(port), "chat.v1", "chat.v2"], port)
    yield p
    p.stop()


@pytest.fixture(scope="session")
def gw(keys, backend):
    g = procs.gateway(backend.port, routes=routes(backend.port), admission=LIFTED,
                      extra={"auth": keys.auth(), "message_policies": MESSAGE_POLICIES})
    g.url = "ws://127.0.0.1:%d" % g.port
    yield g
    g.stop()
