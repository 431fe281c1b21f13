"""Command line: ``edgegate run|console|echo|check|schema|hash-password|boards|version``.

    edgegate run --board sim --config sim/config.json [--console pty|DEVICE|none]
    edgegate run --listen 127.0.0.1:8080 --plaintext --backend ws://127.0.0.1:9000
    edgegate console --port /dev/ttyUSB0          # the technician's side of the serial console
    edgegate echo --listen 127.0.0.1:9000
    edgegate check FILE [--board B]
    edgegate schema
    edgegate hash-password                        # a console password hash for a config
    edgegate boards

Files are read here (the config core sees only dicts). ``run --config FILE``
is the box: FILE is its stored config (console commits replace it atomically,
with FILE.lkg as last known good); an unusable FILE falls back to FILE.lkg,
then to safe defaults that refuse every connection, and says so. ``check``
exits 2 on an invalid file, naming the field. ``run`` exits 3 when the console
asked for a reboot (a service manager restarts it).
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


def quick_relay_doc(args):
    """The one-route document of ``run --listen ... --plaintext --backend ...``."""
    host, port = _hostport(args.listen, "--listen")
    if not args.plaintext:
        raise ConfigError("--plaintext", "missing: the quick relay serves ws:// only when --plaintext says so"
                          " (TLS listeners: a config with listen[].tls)")
    return {
        "listen": [{"host": host, "port": port, "plaintext": True}],
        "routes": [{"path": "/", "match": "prefix", "backend": {"url": args.backend}}],
    }


def build_config(args):
    """The Config for ``check`` (and a quick relay): strict, raises ConfigError."""
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
    return parse(quick_relay_doc(args), board)


def open_store(args, board):
    """(store, Config, document, source, notes) for ``run``."""
    from edgegate.config.store import ConfigStore, MemoryStorage

    if args.config:
        if args.listen or args.backend:
            raise ConfigError("--config", "give either --config or --listen/--backend, not both")
        from edgegate.gateway.files import FileStorage

        path = os.path.abspath(args.config)
        store = ConfigStore(FileStorage(os.path.dirname(path)), os.path.basename(path))
        cfg, doc, source, notes = store.load(board)
        return store, cfg, doc, source, notes
    if not (args.listen and args.backend):
        raise ConfigError("--config", "missing: give --config FILE, or --listen HOST:PORT --backend URL")
    doc = quick_relay_doc(args)
    cfg = parse(doc, board)
    store = ConfigStore(MemoryStorage(), "quick-relay.json")
    return store, cfg, doc, "config", ["quick relay: console commits are not persisted"]


async def _run(args, board, store, cfg, doc, source, notes):
    from edgegate.config.session import ConfigSession
    from edgegate.console.shell import Shell
    from edgegate.gateway.box import Box
    from edgegate.gateway.console_io import open_port, serial_console
    from edgegate.gateway.log import Log
    from edgegate.gateway.server import Gateway

    from edgegate.gateway.keys import KeyFileError

    log = Log(args.log_level)
    try:
        gw = Gateway(cfg, log)
    except KeyFileError as e:
        print("edgegate: keys: %s" % e, file=sys.stderr)
        return 2
    reboot = []

    def on_reboot():
        reboot.append(True)
        gw.drain()

    box = Box(gw, None, notes, on_reboot)
    box.cs = ConfigSession(board, store, box.apply_config, doc, source, prepare=box.prepare_config)
    level = "info" if source == "config" else "warn"
    log.emit(level, "config_loaded", source=source, notes=notes)
    port_name = args.console
    if port_name is None:
        port_name = board.get("serial_device", "none") if args.config else "none"
    console = None
    if port_name != "none":
        try:
            port = open_port(port_name, args.baud)
        except (OSError, ImportError, ValueError) as e:
            log.error("console_unavailable", port=port_name, error=str(e))
        else:
            c = cfg.console
            shell = Shell(box, max_failures=c.max_failures, lockout_ms=c.lockout_ms,
                          idle_logout_ms=c.idle_logout_ms)
            log.info("console_port", port=port.name)
            console = aio.create_task(serial_console(shell, port, log))
    from edgegate.gateway.tls import TlsError

    try:
        await gw.serve_forever()
    except TlsError as e:
        print("edgegate: tls: %s" % e, file=sys.stderr)
        return 2
    finally:
        if console is not None:
            console.cancel()
    return 3 if reboot else 0


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
    r.add_argument("--console", help="serial console: a pyserial port, 'pty' (simulator) or 'none'"
                                     " (default: the board's serial_device with --config, else none)")
    r.add_argument("--baud", type=int, default=115200)
    k = sub.add_parser("console", help="the technician's terminal on a box's serial console")
    k.add_argument("--port", required=True, help="serial device or pyserial URL, e.g. /dev/ttyUSB0")
    k.add_argument("--baud", type=int, default=115200)
    sub.add_parser("schema", help="print the config document's JSON Schema")
    ct = sub.add_parser("certs", help="host-side certificate tools")
    ct.add_argument("what", choices=["dev"], help="dev: a development CA, server and client certificates")
    ct.add_argument("dir", help="directory to write them into")
    ct.add_argument("--name", action="append", help="server name or address (repeatable; default localhost, "
                                                     "127.0.0.1, ::1)")
    sub.add_parser("hash-password", help="read a console password, print its hash for console.password_hash")
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
            board = load_board(args.board)
            return aio.run(_run(args, board, *open_store(args, board)))
        elif args.cmd == "console":
            from edgegate.gateway.terminal import terminal

            return terminal(args.port, args.baud)
        elif args.cmd == "certs":
            from edgegate.tools.certs import make_dev_certs

            for p in make_dev_certs(args.dir, tuple(args.name) if args.name else ("localhost", "127.0.0.1", "::1")):
                print(p)
        elif args.cmd == "schema":
            from edgegate.config.schema import schema

            print(json.dumps(schema(), indent=2, sort_keys=True))
        elif args.cmd == "hash-password":
            from edgegate.config.secrets import MIN_PASSWORD_CHARS, hash_password

            if sys.stdin.isatty():
                import getpass

                pw = getpass.getpass("console password: ")
                if getpass.getpass("again: ") != pw:
                    raise ConfigError("password", "the two entries differ")
            else:
                pw = sys.stdin.readline().rstrip("\r\n")
            if len(pw) < MIN_PASSWORD_CHARS:
                raise ConfigError("password", "under %d characters" % MIN_PASSWORD_CHARS)
            print(hash_password(pw))
        elif args.cmd == "echo":
            host, port = _hostport(args.listen, "--listen")
            aio.run(_echo(host, port, args.max_message_bytes))
        elif args.cmd == "check":
            args.config, args.listen, args.backend, args.plaintext = args.file, None, None, False
            cfg = build_config(args)
            print("ok: %d listener(s), %d route(s), %d message polic%s, max_conns=%d on board %s"
                  % (len(cfg.listeners), len(cfg.routes), len(cfg.message_policies),
                     "y" if len(cfg.message_policies) == 1 else "ies", cfg.limits["max_conns"], cfg.board))
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
