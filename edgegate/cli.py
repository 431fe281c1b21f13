"""Command line: ``edgegate run|echo|boards|check|version``.

    edgegate run --board sim --config sim/config.json
    edgegate run --listen 127.0.0.1:8080 --plaintext --backend ws://127.0.0.1:9000
    edgegate echo --listen 127.0.0.1:9000
    edgegate check FILE [--board B]
    edgegate boards

Files are read here (the config core sees only dicts). Exit status 2 means the
configuration was refused; the message names the field.
"""

import argparse
import json
import os
import sys

from edgegate import __version__
from edgegate.config import ConfigError, parse
from edgegate.config.limits import conn_bytes
from edgegate.rt import aio

DEFAULT_BOARD = "sim"


def boards_dirs():
    """Where board profiles are looked up, first match wins."""
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = []
    if os.environ.get("EDGEGATE_BOARDS"):
        dirs.append(os.environ["EDGEGATE_BOARDS"])
    dirs.append(os.path.join(os.path.dirname(here), "boards"))
    dirs.append(os.path.join(sys.prefix, "share", "edgegate", "boards"))
    return dirs


def load_board(name):
    """The board profile called ``name`` (a dict), or raise ConfigError."""
    if os.sep in name or name.startswith("."):
        raise ConfigError("board", "%r is not a board name" % name)
    for d in boards_dirs():
        p = os.path.join(d, name + ".json")
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
    raise ConfigError("board", "no profile %r (see: edgegate boards)" % name)


def list_boards():
    seen = []
    for d in boards_dirs():
        if os.path.isdir(d):
            for fn in sorted(os.listdir(d)):
                if fn.endswith(".json") and fn[:-5] not in seen:
                    seen.append(fn[:-5])
    return seen


def _hostport(s, what):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(what, "%r is not HOST:PORT" % s)
    return host.strip("[]"), int(port)


def build_config(args):
    """The Config for ``run``: from --config, or from --listen/--backend for a quick relay."""
    board = load_board(args.board)
    if args.config:
        if args.listen or args.backend:
            raise ConfigError("--config", "give either --config or --listen/--backend, not both")
        with open(args.config) as f:
            try:
                doc = json.load(f)
            except ValueError as e:
                raise ConfigError(args.config, "not JSON: %s" % e) from None
        return parse(doc, board)
    if not (args.listen and args.backend):
        raise ConfigError("--config", "missing: give --config FILE, or --listen HOST:PORT --backend URL")
    host, port = _hostport(args.listen, "--listen")
    if not args.plaintext:
        raise ConfigError("--plaintext", "TLS listeners are not available yet; pass --plaintext to accept ws://")
    doc = {
        "listen": [{"host": host, "port": port, "plaintext": True}],
        "routes": [{"path": "/", "match": "prefix", "backend": {"url": args.backend}}],
    }
    return parse(doc, board)


async def _run(cfg, log_level):
    from edgegate.gateway.log import Log
    from edgegate.gateway.server import Gateway

    gw = Gateway(cfg, Log(log_level))
    await gw.serve_forever()


async def _echo(host, port, max_message_bytes):
    from edgegate.gateway.echo import serve_echo

    def ready(addr):
        print(json.dumps({"event": "echo_listening", "address": "%s:%d" % tuple(addr)}), flush=True)

    await serve_echo(host, port, max_message_bytes, ready)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="edgegate", description="WebSocket security gateway")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the gateway")
    r.add_argument("--board", default=DEFAULT_BOARD)
    r.add_argument("--config")
    r.add_argument("--listen", help="HOST:PORT for a quick relay without a config file")
    r.add_argument("--backend", help="ws:// URL of the backend for a quick relay")
    r.add_argument("--plaintext", action="store_true", help="accept ws:// (required until TLS)")
    r.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    e = sub.add_parser("echo", help="run the demo echo backend")
    e.add_argument("--listen", default="127.0.0.1:9000")
    e.add_argument("--max-message-bytes", type=int, default=1 << 20)
    c = sub.add_parser("check", help="validate a config file offline")
    c.add_argument("file")
    c.add_argument("--board", default=DEFAULT_BOARD)
    sub.add_parser("boards", help="list board profiles and their derived limits")
    sub.add_parser("version")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "run":
            aio.run(_run(build_config(args), args.log_level))
        elif args.cmd == "echo":
            host, port = _hostport(args.listen, "--listen")
            aio.run(_echo(host, port, args.max_message_bytes))
        elif args.cmd == "check":
            args.config, args.listen, args.backend, args.plaintext = args.file, None, None, False
            cfg = build_config(args)
            print("ok: %d listener(s), %d route(s), max_conns=%d on board %s"
                  % (len(cfg.listeners), len(cfg.routes), cfg.limits["max_conns"], cfg.board))
        elif args.cmd == "boards":
            for name in list_boards():
                b = load_board(name)
                cfg = parse({"listen": [{"port": 1, "plaintext": True}]}, b)
                lim = cfg.limits
                print("%-12s budget=%4d MiB  conn_bytes=%7d  max_conns=%5d  max_frame=%d  max_message=%d  %s"
                      % (name, b["mem_budget_bytes"] >> 20, conn_bytes(lim), lim["max_conns"],
                         lim["max_frame_bytes"], lim["max_message_bytes"], b.get("description", "")))
        else:
            print("edgegate", __version__)
    except ConfigError as e:
        print("edgegate: config refused: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("edgegate: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
