"""Sans-I/O RFC 6455: ring buffer, frame parser and writer, message rules, handshakes.

Nothing here performs I/O or reads a clock; callers pass bytes and ``now_ms``.
"""
