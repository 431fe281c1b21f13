"""edgegate's benchmark harness: peers, load generator, memory, allocations, instructions, report.

Run ``python -m bench`` (or ``--quick``); see bench/README.md.
"""
