"""Portable tests of edgegate.rt (run by pytest and by tests/run_portable.py)."""
