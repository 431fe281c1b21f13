"""Admission and message policy (portable, no I/O): decisions from facts and ``now_ms``."""
