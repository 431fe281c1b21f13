"""Portable tests of edgegate.config (run by pytest and by tests/run_portable.py)."""
