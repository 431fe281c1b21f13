"""Run every portable test module under the current interpreter (CPython or MicroPython).

    micropython tests/run_portable.py
    python tests/run_portable.py

A module is portable when it is ``tests/<package>/test_*.py`` for a package in
``PACKAGES`` and imports ``tests.portable`` (CPython-only modules such as
``test_properties`` do not), or is named in ``TOP`` (modules of ``tests/`` itself).
Exits 1 on any failure, including a module that fails to import.
"""

import gc
import sys

try:
    from os.path import abspath, dirname

    HERE = dirname(abspath(__file__))
except ImportError:  # pragma: no cover - MicroPython: no os.path; sys.path[0] is the script's dir
    HERE = sys.path[0]
ROOT = HERE[:HERE.rfind("/")] or "/"
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import os  # noqa: E402

from tests.portable import print_exception, run_module  # noqa: E402

PACKAGES = ("ws", "rt", "config", "console", "policy", "console_io", "relay", "pipeline")
TOP = ("test_errors",)  # tests/test_errors.py: the error families of the whole package
MARKER = "from tests.portable import"


def _is_portable(path):
    with open(path) as f:
        return MARKER in f.read()


def modules():
    """Dotted names of the portable test modules, in a stable order."""
    names = ["tests." + name for name in TOP]
    for pkg in PACKAGES:
        d = HERE + "/" + pkg
        try:
            files = sorted(os.listdir(d))
        except OSError:
            continue
        for fn in files:
            if fn.startswith("test_") and fn.endswith(".py") and _is_portable(d + "/" + fn):
                names.append("tests.%s.%s" % (pkg, fn[:-3]))
    return names


def main():
    total = failed = 0
    names = modules()
    for name in names:
        gc.collect()
        try:
            __import__(name)
            mod = sys.modules[name]
        except Exception as e:  # noqa: BLE001 - a broken module is a failure, not a crash
            sys.stdout.write("FAIL import %s\n" % name)
            print_exception(e)
            failed += 1
            continue
        r, f = run_module(mod)
        total += r
        failed += f
    impl = sys.implementation.name
    sys.stdout.write("%s: %d modules, %d tests, %d failed\n" % (impl, len(names), total, failed))
    sys.exit(1 if failed or not total else 0)


if __name__ == "__main__":
    main()
