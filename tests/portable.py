"""A tiny test runner for the portable core tests: the same files run on CPython and MicroPython.

``TestCase`` is ``unittest.TestCase`` where unittest exists (so pytest collects
the classes) and an own base with the micropython-lib unittest subset
elsewhere (the MicroPython unix port ships no unittest). ``run_module(mod)``
runs every ``test_*`` method of every ``TestCase`` subclass in a module with
the same loop on both interpreters; ``main()`` runs ``__main__`` and exits 1
on any failure.
"""

import gc
import sys

try:
    from sys import print_exception  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython
    import traceback

    def print_exception(e):
        traceback.print_exception(type(e), e, e.__traceback__)


try:
    import unittest as _unittest
except ImportError:  # pragma: no cover - MicroPython
    _unittest = None


class _Raises:
    def __init__(self, expected):
        self.expected = expected
        self.exception = None

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            raise AssertionError("%r not raised" % (self.expected,))
        if not issubclass(et, self.expected):
            return False
        self.exception = ev
        return True


class _SubTest:
    def __init__(self, case, params):
        self.case = case
        self.params = params

    def __enter__(self):
        self.outer = self.case._subtest
        self.case._subtest = self.params
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.case._subtest = self.outer
        return False  # on failure keep the params for the report


class _OwnTestCase:
    """The micropython-lib unittest subset, for interpreters without unittest."""

    _subtest = None

    def __init__(self, methodName="runTest"):
        self._testMethodName = methodName

    def setUp(self):
        pass

    def tearDown(self):
        pass

    def fail(self, msg):
        raise AssertionError(msg)

    def assertEqual(self, a, b, msg=None):
        if not a == b:
            self.fail(msg or "%r != %r" % (a, b))

    def assertNotEqual(self, a, b, msg=None):
        if a == b:
            self.fail(msg or "%r == %r" % (a, b))

    def assertTrue(self, x, msg=None):
        if not x:
            self.fail(msg or "%r is not true" % (x,))

    def assertFalse(self, x, msg=None):
        if x:
            self.fail(msg or "%r is not false" % (x,))

    def assertIs(self, a, b, msg=None):
        if a is not b:
            self.fail(msg or "%r is not %r" % (a, b))

    def assertIsNone(self, x, msg=None):
        if x is not None:
            self.fail(msg or "%r is not None" % (x,))

    def assertIn(self, a, b, msg=None):
        if a not in b:
            self.fail(msg or "%r not found in %r" % (a, b))

    def assertIsInstance(self, x, cls, msg=None):
        if not isinstance(x, cls):
            self.fail(msg or "%r is not an instance of %r" % (x, cls))

    def assertRaises(self, exc, func=None, *args, **kwargs):
        ctx = _Raises(exc)
        if func is None:
            return ctx
        with ctx:
            func(*args, **kwargs)
        return None

    def subTest(self, msg=None, **params):
        if msg is not None:
            params["msg"] = msg
        return _SubTest(self, params)


if _unittest is not None:  # pragma: no cover - CPython: pytest collects these classes

    class TestCase(_unittest.TestCase):
        """``unittest.TestCase``; test files use only the subset of ``_OwnTestCase``."""

        def subTest(self, msg=None, **params):
            if self._outcome is None:  # run_module, not unittest: keep params for the report
                return _SubTest(self, params if msg is None else dict(params, msg=msg))
            if msg is None:
                return super().subTest(**params)
            return super().subTest(msg, **params)

else:  # pragma: no cover - MicroPython
    TestCase = _OwnTestCase  # type: ignore[misc,assignment]


def _cases(mod):
    out = []
    for name in sorted(dir(mod)):
        obj = getattr(mod, name)
        if isinstance(obj, type) and issubclass(obj, TestCase) and obj is not TestCase:
            if getattr(obj, "__module__", None) == mod.__name__:
                out.append(obj)
    return out


def run_module(mod, out=None):
    """Run every test of ``mod``; print one line per failure; return (run, failed)."""
    write = out or sys.stdout.write
    run = failed = 0
    for cls in _cases(mod):
        for name in sorted(dir(cls)):
            if not name.startswith("test") or not callable(getattr(cls, name)):
                continue
            run += 1
            # MicroPython's heap is 2 MiB and does not move objects: a test that needs
            # one large block (a 100 KB token) must not depend on what ran before it.
            gc.collect()
            case = cls(name)
            try:
                case.setUp()
                try:
                    getattr(case, name)()
                finally:
                    case.tearDown()
            except Exception as e:  # noqa: BLE001 - a runner reports every failure
                failed += 1
                sub = getattr(case, "_subtest", None)
                write("FAIL %s.%s.%s%s\n" % (mod.__name__, cls.__name__, name,
                                            " %r" % (sub,) if sub else ""))
                print_exception(e)
    write("%s: %d run, %d failed\n" % (mod.__name__, run, failed))
    return run, failed


def main(mod=None):
    """Run ``mod`` (default ``__main__``) and exit 1 on any failure."""
    if mod is None:
        mod = sys.modules["__main__"]
    run, failed = run_module(mod)
    sys.exit(1 if failed or not run else 0)
