"""Portable tests of edgegate.ws (run by pytest and by tests/run_portable.py)."""
