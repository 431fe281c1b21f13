"""The I/O layer: listeners, sessions that pump bytes through the ws core, backends.

Protocol decisions live in ``edgegate.ws`` (and later ``edgegate.policy``);
this package moves bytes, keeps time and applies backpressure.
"""
