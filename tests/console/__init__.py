"""Portable tests of edgegate.console (run by pytest and by tests/run_portable.py)."""
