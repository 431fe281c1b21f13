"""Command line: ``edgegate run|console|echo|check|schema|certs|hash-password|boards|version``.

    edgegate run --board sim --config sim/config.json [--console pty|DEVICE|none]
    edgegate run --listen 127.0.0.1:8080 --plaintext --backend ws://127.0.0.1:9000
    edgegate console --port /dev/ttyUSB0          # the technician's side of the serial console
    edgegate echo --listen 127.0.0.1:9000
    edgegate check FILE [--board B] [--document-only]
    edgegate schema
    edgegate certs dev DIR [--force]
    edgegate hash-password                        # a console password hash for a config
    edgegate boards
    edgegate --version

Files are read here (the config core sees only dicts). ``run --config FILE``
is the box: FILE is its stored config (console commits replace it atomically,
with FILE.lkg as last known good); an unusable FILE falls back to FILE.lkg,
then to safe defaults that refuse every connection, and says so; safe
defaults are refused (exit 2, naming FILE) when no console could repair the
box. Before serving, ``run`` checks what the host must provide (listen hosts,
certificate, key and credential files: ``gateway.preflight``); ``check`` runs
the same checks, so both refuse a config in the same words (exit 2, naming
the field, flag or file). ``run`` exits 3 when the console asked for a reboot
(a service manager restarts it). A bare ``edgegate`` prints the help and
exits 2.
"""

import argparse
import json
import os
import sys

from edgegate import __version__
from edgegate.config import ConfigError, parse, parse_ws_url
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
    if not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(what, "%r is not HOST:PORT (a port from 0 to 65535)" % s)
    return host.strip("[]"), int(port)


def quick_relay_doc(args):
    """The one-route document of ``run --listen ... --plaintext --backend ...``."""
    host, port = _hostport(args.listen, "--listen")
    try:
        parse_ws_url(args.backend)
    except ValueError as e:
        raise ConfigError("--backend", "%r: %s" % (args.backend, e)) from None
    if args.backend.startswith("wss://"):
        raise ConfigError("--backend", "a wss:// backend is verified against a CA: use a config file"
                                       " (routes[].backend.tls.ca)")
    if not args.plaintext:
        raise ConfigError("--plaintext", "missing: the quick relay serves ws:// only when --plaintext says so"
                          " (TLS listeners: a config with listen[].tls)")
    return {
        "listen": [{"host": host, "port": port, "plaintext": True}],
        "routes": [{"path": "/", "match": "prefix", "backend": {"url": args.backend}}],
    }


def _as_flag(e):
    """A quick relay's error in terms of its flags (listen[0] is --listen, routes[0].backend --backend)."""
    for prefix, flag in (("listen[0]", "--listen"), ("routes[0].backend", "--backend")):
        if e.path.startswith(prefix):
            return ConfigError(flag, str(e)[len(e.path) + 2:])
    return e


def read_document(path):
    """The JSON document in file ``path`` (raises ConfigError naming the file)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(path, e.strerror or str(e)) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeError) as e:
        raise ConfigError(path, "not JSON: %s" % e) from None


def build_config(args):
    """The Config for ``check`` (and a quick relay): strict, raises ConfigError."""
    board = load_board(args.board)
    if args.config:
        if args.listen or args.backend:
            raise ConfigError("--config", "give either --config or --listen/--backend, not both")
        return parse(read_document(args.config), board, args.config)
    if not (args.listen and args.backend):
        raise ConfigError("--config", "missing: give --config FILE, or --listen HOST:PORT --backend URL")
    try:
        return parse(quick_relay_doc(args), board)
    except ConfigError as e:
        raise _as_flag(e) from None


def fix_config(args):
    """``check --fix``: the flat message policies of ``args.file`` rewritten as steps.

    The file as it is must check first (a fix never hides an error), and the
    rewritten document must check too; then FILE.bak gets the old bytes and
    FILE the new document, each replaced atomically. Prints what changed.
    Returns the new Config, or None when there was nothing to fix.
    """
    from edgegate.config.messages import fix_document
    from edgegate.gateway.files import FileStorage

    path = args.file
    doc = read_document(path)
    new, changes = fix_document(doc)
    if not changes:
        print("nothing to fix: no message policy in the flat form")
        return None
    cfg = parse(new, load_board(args.board), path)
    with open(path, "rb") as f:
        old = f.read()
    mode = os.stat(path).st_mode & 0o7777
    folder, name = os.path.split(os.path.abspath(path))
    store = FileStorage(folder)
    store.write(name + ".bak", old)
    store.write(name, (json.dumps(new, indent=2, ensure_ascii=False) + "\n").encode())
    for name_ in (name + ".bak", name):
        os.chmod(os.path.join(folder, name_), mode)
    for line in changes:
        print("fixed: " + line)
    print("wrote %s (the previous one is %s.bak)" % (path, path))
    return cfg


def open_store(args, board):
    """(store, Config, document, source, notes) for ``run``."""
    from edgegate.config.store import ConfigStore, MemoryStorage

    if args.config:
        if args.listen or args.backend:
            raise ConfigError("--config", "give either --config or --listen/--backend, not both")
        from edgegate.gateway.files import FileStorage

        path = os.path.abspath(args.config)
        store = ConfigStore(FileStorage(os.path.dirname(path)), os.path.basename(path))
        try:
            cfg, doc, source, notes = store.load(board)
        except OSError as e:  # there, but unreadable (a directory, no permission): not "missing"
            raise ConfigError(e.filename or args.config, e.strerror or str(e)) from None
        return store, cfg, doc, source, notes
    if not (args.listen and args.backend):
        raise ConfigError("--config", "missing: give --config FILE, or --listen HOST:PORT --backend URL")
    doc = quick_relay_doc(args)
    try:
        cfg = parse(doc, board)
    except ConfigError as e:
        raise _as_flag(e) from None
    store = ConfigStore(MemoryStorage(), "quick-relay.json")
    return store, cfg, doc, "config", ["quick relay: console commits are not persisted"]


def open_console(args, board, log):
    """(the console's port or None, why there is none)."""
    name = args.console
    if name is None:
        name = board.get("serial_device", "none") if args.config else "none"
        if name == "none":
            return None, "board %s names no serial_device" % board.get("name", args.board)
    if name == "none":
        return None, "--console none"
    from edgegate.gateway.console_io import open_port

    try:
        return open_port(name, args.baud), None
    except (OSError, ImportError, ValueError) as e:
        log.error("console_unavailable", port=name, error=str(e))
        return None, "console %s: %s" % (name, e)


def _unrepairable(args, board, notes, port, why):
    """The refusal of a box that would run safe defaults with no way in to repair it."""
    if port is not None and board.get("factory_password_hash"):
        return None
    if port is not None:
        why = "nobody can log in to its console on safe defaults (board %s has no factory_password_hash)" \
            % board.get("name", args.board)
    tried = "; ".join(n for n in notes if "unusable" in n)
    return ConfigError(args.config, "no usable config: %s; and no console to repair the box through (%s),"
                       " so safe defaults would serve nothing" % (tried, why))


async def _run(args, board, store, cfg, doc, source, notes, log, port):
    from edgegate.config.session import ConfigSession
    from edgegate.console.shell import Shell
    from edgegate.gateway.box import Box
    from edgegate.gateway.console_io import serial_console
    from edgegate.gateway.keys import KeyFileError
    from edgegate.gateway.preflight import check_hosts
    from edgegate.gateway.server import Gateway

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

    def prepare(new_cfg):
        check_hosts(new_cfg)  # a commit meets what run's start meets; files are read by prepare_config
        box.prepare_config(new_cfg)

    box.cs = ConfigSession(board, store, box.apply_config, doc, source, prepare=prepare)
    console = None
    if port is not None:
        c = cfg.console
        shell = Shell(box, max_failures=c.max_failures, lockout_ms=c.lockout_ms, idle_logout_ms=c.idle_logout_ms)
        log.info("console_port", port=port.name)
        console = aio.create_task(serial_console(shell, port, log))
    from edgegate.errors import MaterialError

    try:
        await gw.serve_forever()
    except MaterialError as e:
        print("edgegate: tls: %s" % e, file=sys.stderr)
        return 2
    finally:
        if console is not None:
            console.cancel()
    return 3 if reboot else 0


def run(args):
    """``edgegate run``: load the config, check what the host must provide, open the console, serve."""
    from edgegate.config.store import SAFE_DEFAULTS
    from edgegate.gateway.log import Log
    from edgegate.gateway.preflight import preflight

    board = load_board(args.board)
    store, cfg, doc, source, notes = open_store(args, board)
    log = Log(args.log_level)
    log.emit("info" if source == "config" else "warn", "config_loaded", source=source, notes=notes)
    try:
        preflight(cfg)
    except ConfigError as e:
        raise (e if args.config else _as_flag(e)) from None
    port, why = open_console(args, board, log)
    if source == SAFE_DEFAULTS:
        refusal = _unrepairable(args, board, notes, port, why)
        if refusal is not None:
            raise refusal
    return aio.run(_run(args, board, store, cfg, doc, source, notes, log, port))


async def _echo(host, port, max_message_bytes):
    from edgegate.gateway.echo import serve_echo

    def ready(addr):
        print(json.dumps({"event": "echo_listening", "address": "%s:%d" % tuple(addr)}), flush=True)

    await serve_echo(host, port, max_message_bytes, ready)


EXIT_STATUS = """exit status:
  0    done (run: drained after SIGTERM or SIGINT)
  1    the host refused something the command needed (a port taken, a device missing)
  2    the command line or a config was refused, naming the flag, field or file;
       also a bare 'edgegate' (this help)
  3    run: the console asked for a reboot (a service manager restarts it)
  130  interrupted"""


def build_parser():
    ap = argparse.ArgumentParser(prog="edgegate", description="WebSocket security gateway for edge boxes.",
                                 epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version="edgegate " + __version__,
                    help="print the version and exit")
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")
    board_help = "board profile: memory budget and limits (default %s; see: edgegate boards)" % DEFAULT_BOARD
    baud_help = "serial line speed in baud (default 115200)"

    r = sub.add_parser("run", help="run the gateway: a box with its stored config, or a quick relay")
    r.add_argument("--board", default=DEFAULT_BOARD, metavar="NAME", help=board_help)
    r.add_argument("--config", metavar="FILE",
                   help="the box's stored config; console commits replace it, FILE.lkg keeps the one before;"
                        " an unusable FILE falls back to FILE.lkg, then to safe defaults (only with a console"
                        " to repair the box through)")
    r.add_argument("--listen", metavar="HOST:PORT", help="quick relay without a config file: the address to"
                                                         " listen on (with --plaintext and --backend)")
    r.add_argument("--backend", metavar="URL", help="quick relay: the ws:// URL every path is relayed to")
    r.add_argument("--plaintext", action="store_true",
                   help="quick relay: serve ws:// without TLS on --listen (a config file says plaintext per"
                        " listener instead)")
    r.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"],
                   help="the least severe log records written to stderr as JSON lines (default info)")
    r.add_argument("--console", metavar="PORT",
                   help="serial console: a pyserial port, 'pty' (simulator) or 'none'"
                        " (default: the board's serial_device with --config, else none)")
    r.add_argument("--baud", type=int, default=115200, help=baud_help)

    k = sub.add_parser("console", help="the technician's terminal on a box's serial console")
    k.add_argument("--port", required=True, help="serial device or pyserial URL, e.g. /dev/ttyUSB0")
    k.add_argument("--baud", type=int, default=115200, help=baud_help)

    e = sub.add_parser("echo", help="run the demo echo backend")
    e.add_argument("--listen", default="127.0.0.1:9000", metavar="HOST:PORT",
                   help="the address to listen on (default 127.0.0.1:9000)")
    e.add_argument("--max-message-bytes", type=int, default=1 << 20, metavar="N",
                   help="the largest message echoed; a bigger one closes the connection (default 1 MiB)")

    c = sub.add_parser("check", help="validate a config file as run would, without running it")
    c.add_argument("file", help="the config document (JSON)")
    c.add_argument("--board", default=DEFAULT_BOARD, metavar="NAME", help=board_help)
    c.add_argument("--document-only", action="store_true",
                   help="check the document only, not what only the box has: listen hosts that resolve,"
                        " certificate, key and credential files that load (for a laptop)")
    c.add_argument("--fix", action="store_true",
                   help="rewrite message policies written in the flat form into the steps form: FILE is replaced"
                        " atomically once the result checks, the previous one kept as FILE.bak")

    sub.add_parser("schema", help="print the config document's JSON Schema")
    ct = sub.add_parser("certs", help="host-side certificate tools")
    ct.add_argument("what", choices=["dev"], help="dev: a development CA, server and client certificates")
    ct.add_argument("dir", help="directory to write them into")
    ct.add_argument("--name", action="append", help="server name or address (repeatable; default localhost, "
                                                     "127.0.0.1, ::1)")
    ct.add_argument("--force", action="store_true", help="overwrite keys and certificates already in the directory")
    sub.add_parser("hash-password", help="read a console password, print its hash for console.password_hash")
    sub.add_parser("boards", help="list board profiles and their derived limits")
    sub.add_parser("version", help="print the version")
    return ap


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_help(sys.stderr)
        return 2
    try:
        if args.cmd == "run":
            return run(args)
        elif args.cmd == "console":
            from edgegate.gateway.terminal import terminal

            return terminal(args.port, args.baud)
        elif args.cmd == "certs":
            from edgegate.tools.certs import ExistingFiles, make_dev_certs

            names = tuple(args.name) if args.name else ("localhost", "127.0.0.1", "::1")
            try:
                written = make_dev_certs(args.dir, names, force=args.force)
            except ExistingFiles as e:
                print("edgegate: certs refused: %s" % e, file=sys.stderr)
                return 2
            for p in written:
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
            if not args.document_only:
                from edgegate.gateway.preflight import preflight

                preflight(cfg)
            if args.fix:
                cfg = fix_config(args) or cfg
            print("ok: %d listener(s), %d route(s), %d message polic%s, max_conns=%d on board %s%s"
                  % (len(cfg.listeners), len(cfg.routes), len(cfg.message_policies),
                     "y" if len(cfg.message_policies) == 1 else "ies", cfg.limits["max_conns"], cfg.board,
                     " (document only)" if args.document_only else ""))
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
        where = "%s: " % e.filename if getattr(e, "filename", None) else ""
        print("edgegate: %s%s" % (where, e.strerror or e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
