"""The processes under test: the echo backend and every relay, started and configured here.

All listen on 127.0.0.1, negotiate no compression and relay to the one picows
echo backend. A ``Peer`` knows its URL, the pids whose CPU and memory count
as its own, and how to stop itself; every process is started in its own
session and ``stop_all`` kills what is left (also on Ctrl-C and exceptions).
Tuning of every peer is written down in bench/README.md.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tests.procs import free_port, wait_port as _wait_port

from . import procfs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
_LIVE = []  # every Popen this module started and has not reaped yet

# Peers in table order; "direct" is the client talking to the backend itself.
ALL = ["direct", "nginx", "nginx-16k", "haproxy", "websockets", "picows", "edgegate", "edgegate-auth",
       "edgegate-chain", "edgegate-tls", "edgegate-tls-ssl", "edgegate-asyncio"]
QUICK = ["direct", "nginx", "nginx-16k", "haproxy", "websockets", "picows", "edgegate"]
# edgegate variants measured in the throughput scenarios only (not memory, not latency).
THROUGHPUT_ONLY = {"edgegate-auth", "edgegate-chain", "edgegate-tls", "edgegate-tls-ssl"}


def not_yet():
    """Variants the issue asks for that this bench does not run: listed, never faked."""
    return {"TLS variants of nginx, HAProxy and the Python relays":
            "not measured yet: only edgegate's TLS listeners are (edgegate-tls, edgegate-tls-ssl)"}


# edgegate runs with the "sim" board as shipped (64 KiB frames, so the 64 KiB
# scenario passes as one frame) and no limit overridden, for every run.
EDGEGATE_BOARD = "sim"


def wait_port(port, proc, timeout=20.0):
    """Wait for a peer to listen (peers such as nginx may take longer than a test's 10 s)."""
    _wait_port(port, timeout=timeout, proc=proc)


def spawn(argv, log, env=None, stdout=None):
    e = dict(os.environ)
    e["PYTHONUNBUFFERED"] = "1"
    if env:
        e.update(env)
    logf = open(log, "w")
    p = subprocess.Popen(argv, cwd=ROOT, stdout=stdout if stdout is not None else logf, stderr=logf,
                         env=e, start_new_session=True)
    p._bench_log = logf
    _LIVE.append(p)
    return p


def kill(p, sig=signal.SIGTERM, timeout=5.0):
    """Stop one process we started (its whole session), SIGKILL after ``timeout``."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except OSError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    else:
        # The leader is gone; make sure nothing it forked survives.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        p._bench_log.close()
    except Exception:
        pass
    if p in _LIVE:
        _LIVE.remove(p)


def stop_all():
    """Kill every process this module started that is still running."""
    for p in list(_LIVE):
        kill(p, signal.SIGTERM, 2.0)


class Echo:
    """The picows + uvloop echo backend (one process, bench/servers.py)."""

    def __init__(self, workdir):
        self.log = os.path.join(workdir, "echo.log")
        self.p = spawn([PY, "-m", "bench.servers", "echo", "--port", "0"], self.log, stdout=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        if not line.startswith("READY"):
            kill(self.p)
            raise RuntimeError("echo backend did not start: %r (see %s)" % (line, self.log))
        self.port = int(line.split()[1])
        self.url = "ws://127.0.0.1:%d" % self.port
        self.pids = [self.p.pid]

    def stop(self):
        kill(self.p)


class Peer:
    """One relay in front of the echo backend."""

    name = "?"
    tuning = ""
    client = None  # what the load generator needs beyond the URL: {"token", "cafile"} (bench/loadgen.py)

    def __init__(self, workdir, backend_port):
        self.workdir = os.path.join(workdir, self.name)
        os.makedirs(self.workdir, exist_ok=True)
        self.backend_port = backend_port
        self.port = free_port()
        self.url = "ws://127.0.0.1:%d/" % self.port
        self.p = None
        self.start()

    @property
    def pids(self):
        """The processes whose CPU and memory are this peer's (leader and children)."""
        if self.p is None:
            return []
        return [self.p.pid] + procfs.children(self.p.pid)

    def start(self):
        raise NotImplementedError

    def stop(self):
        if self.p is not None:
            kill(self.p)
            self.p = None

    def log_tail(self, n=20):
        try:
            with open(os.path.join(self.workdir, "log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Direct(Peer):
    """No relay: the load generator talks to the echo backend itself (the limit)."""

    name = "direct"

    def __init__(self, workdir, backend_port):
        self.workdir = workdir
        self.port = backend_port
        self.url = "ws://127.0.0.1:%d/" % backend_port
        self.p = None

    @property
    def pids(self):
        return []

    def start(self):
        pass


NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile 20000;
user root;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/log error;
events {{
    worker_connections 16384;
    use epoll;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream echo {{
        server 127.0.0.1:{backend};
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
{extra}        }}
    }}
}}
"""


class Nginx(Peer):
    name = "nginx"
    buffer = None  # proxy_buffer_size; None keeps the default (one page: 4k here)

    def start(self):
        if shutil.which("nginx") is None:
            raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
        extra = ""
        if self.buffer:
            # proxy_buffers only serve non-upgraded responses; nginx insists that
            # the busy-buffer default (2 * proxy_buffer_size) fits within them.
            extra = ("            proxy_buffer_size %s;\n            proxy_buffers 8 %s;\n"
                     % (self.buffer, self.buffer))
        conf = os.path.join(self.workdir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.workdir, backend=self.backend_port, port=self.port, extra=extra))
        self.p = spawn(["nginx", "-p", self.workdir, "-c", conf, "-e", os.path.join(self.workdir, "log")],
                       os.path.join(self.workdir, "stderr"))
        wait_port(self.port, self.p)
        deadline = time.monotonic() + 5
        while not procfs.children(self.p.pid) and time.monotonic() < deadline:
            time.sleep(0.02)


class Nginx16k(Nginx):
    name = "nginx-16k"
    buffer = "16k"


HAPROXY_CONF = """\
global
    nbthread 1
    maxconn 9900
    log stdout format raw local0 err
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option dontlognull
frontend fe
    bind 127.0.0.1:{port}
    maxconn 9900
    default_backend be
backend be
    server echo 127.0.0.1:{backend}
"""


class HAProxy(Peer):
    name = "haproxy"

    def start(self):
        if shutil.which("haproxy") is None:
            raise RuntimeError("haproxy is not installed (apt-get install -y haproxy)")
        conf = os.path.join(self.workdir, "haproxy.cfg")
        with open(conf, "w") as f:
            f.write(HAPROXY_CONF.format(port=self.port, backend=self.backend_port))
        self.p = spawn(["haproxy", "-db", "-f", conf], os.path.join(self.workdir, "log"))
        wait_port(self.port, self.p)


class WebsocketsRelay(Peer):
    name = "websockets"

    def start(self):
        self.p = spawn([PY, "-m", "bench.servers", "websockets-relay", "--port", str(self.port),
                        "--backend", "ws://127.0.0.1:%d" % self.backend_port], os.path.join(self.workdir, "log"))
        wait_port(self.port, self.p)


class PicowsRelay(Peer):
    name = "picows"

    def start(self):
        self.p = spawn([PY, "-m", "bench.servers", "picows-relay", "--port", str(self.port),
                        "--backend", "ws://127.0.0.1:%d" % self.backend_port], os.path.join(self.workdir, "log"))
        wait_port(self.port, self.p)


def admission_lifted():
    """edgegate's per-IP and per-principal admission limits, lifted (None if it has none).

    The load comes from a handful of loopback addresses, and the peers it is
    compared with have no such limits configured: with edgegate's defaults
    (e.g. 20 upgrades per second per IP) the memory runs could not open 5000
    connections. Bans keep their window and duration but never trigger.
    """
    try:
        from edgegate.config.policy import ADMISSION_DEFAULTS
    except ImportError:
        return None
    return {k: 1 << 29 for k in ADMISSION_DEFAULTS
            if k.startswith(("upgrades_per_", "max_conns_per_", "ban_after_"))}


def jwt_hs256(secret, claims, kid):
    """A compact HS256 JWT (RFC 7519), minted here with hmac + base64url: no PyJWT needed."""
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = head + b"." + body
    sig = b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + sig).decode("ascii")


_MATERIAL = {}


def bench_material(workdir):
    """Dev certificates (edgegate certs dev) and an HS256 secret + valid token, made once per bench run.

    The secret is 64 hex characters (edgegate wants >= 32 bytes); the token has
    sub "bench", iat/nbf a minute back and exp a day ahead.
    """
    d = os.path.join(workdir, "material")
    if d in _MATERIAL:
        return _MATERIAL[d]
    os.makedirs(d, exist_ok=True)
    from edgegate.tools.certs import make_dev_certs

    make_dev_certs(d)
    secret = os.urandom(32).hex().encode("ascii")
    sf = os.path.join(d, "jwt.secret")
    with open(sf, "wb") as f:
        f.write(secret)
    os.chmod(sf, 0o600)
    now = int(time.time())
    token = jwt_hs256(secret, {"sub": "bench", "iat": now - 60, "nbf": now - 60, "exp": now + 86400}, "bench")
    m = {"dir": d, "ca": os.path.join(d, "ca.pem"), "cert": os.path.join(d, "server.pem"),
         "key": os.path.join(d, "server.key"), "secret_file": sf, "kid": "bench", "token": token}
    _MATERIAL[d] = m
    return m


def edgegate_doc(port, backend_port, limits=None, tls=None, jwt=None, chain=None):
    """The config document the bench runs edgegate with (no policy, admission limits lifted).

    Plaintext unless ``tls`` ({backend, cert, key}) is given; ``jwt``
    ({kid, secret_file}) makes the route require an HS256 JWT; ``chain`` (a
    message policy) puts it on the route.
    """
    ln = {"host": "127.0.0.1", "port": port}
    if tls:
        ln["tls"] = dict(tls)
    else:
        ln["plaintext"] = True
    doc = {
        "listen": [ln],
        "routes": [{"path": "/", "match": "prefix", "backend": {"url": "ws://127.0.0.1:%d/" % backend_port}}],
    }
    if chain:
        doc["routes"][0]["messages"] = "chain"
        doc["message_policies"] = {"chain": chain}
    if jwt:
        doc["routes"][0]["auth"] = {"methods": ["jwt"]}
        doc["auth"] = {"jwt": {"keys": [{"kid": jwt["kid"], "alg": "HS256", "secret_file": jwt["secret_file"]}]}}
    if limits:
        doc["limits"] = dict(limits)
    lifted = admission_lifted()
    if lifted:
        doc["admission"] = lifted
    return doc


class Edgegate(Peer):
    name = "edgegate"
    loop = "uvloop"  # edgegate.rt.aio.run picks uvloop when it is installed
    board = EDGEGATE_BOARD
    limits = None

    tls = None  # listener TLS engine: "mbedtls" or "ssl"
    auth = False  # route requires an HS256 JWT (sent as Authorization: Bearer)
    chain = False  # route runs bench.chain.CHAIN on every client message

    def start(self):
        kw = {}
        if self.chain:
            from .chain import CHAIN

            kw["chain"] = CHAIN
        if self.tls or self.auth:
            m = bench_material(os.path.dirname(self.workdir))
            if self.tls:
                kw["tls"] = {"backend": self.tls, "cert": m["cert"], "key": m["key"]}
                self.url = "wss://127.0.0.1:%d/" % self.port
                self.client = dict(self.client or {}, cafile=m["ca"])
            if self.auth:
                kw["jwt"] = {"kid": m["kid"], "secret_file": m["secret_file"]}
                self.client = dict(self.client or {}, token=m["token"])
        conf = os.path.join(self.workdir, "edgegate.json")
        with open(conf, "w") as f:
            json.dump(edgegate_doc(self.port, self.backend_port, self.limits, **kw), f, indent=1)
        env = {"EDGEGATE_LOOP": "asyncio"} if self.loop == "asyncio" else None
        self.p = spawn([PY, "-m", "edgegate", "run", "--board", self.board, "--config", conf,
                        "--log-level", "error"], os.path.join(self.workdir, "log"), env=env)
        wait_port(self.port, self.p)


class EdgegateAsyncio(Edgegate):
    name = "edgegate-asyncio"
    loop = "asyncio"


class EdgegateAuth(Edgegate):
    name = "edgegate-auth"
    auth = True


class EdgegateChain(Edgegate):
    """The realistic chain: JWT at the upgrade, then size, rate, JSON, shape and signatures per message."""

    name = "edgegate-chain"
    auth = True
    chain = True


class EdgegateTls(Edgegate):
    name = "edgegate-tls"
    tls = "mbedtls"


class EdgegateTlsSsl(Edgegate):
    name = "edgegate-tls-ssl"
    tls = "ssl"


CLASSES = {c.name: c for c in (Direct, Nginx, Nginx16k, HAProxy, WebsocketsRelay, PicowsRelay, Edgegate,
                               EdgegateAuth, EdgegateChain, EdgegateTls, EdgegateTlsSsl, EdgegateAsyncio)}


def start(name, workdir, backend_port):
    """Start the peer called ``name`` in front of the backend on ``backend_port``."""
    return CLASSES[name](workdir, backend_port)


def workdir():
    return tempfile.mkdtemp(prefix="edgegate-bench-")
