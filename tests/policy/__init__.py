"""Portable tests of edgegate.policy (run by pytest and by tests/run_portable.py)."""
