"""Limits and timeouts: fallback values, the board-derived caps, the memory check.

Every limit is a positive integer with its unit in its name; there is no
"unlimited". Receive rings are not per connection: they come from one pool of
``ring_pool_rings`` rings of ``rx_ring_bytes``, lent while bytes are in flight.
Per client+backend connection pair the gateway holds at most

    conn_bytes = conn_overhead_bytes + 2 * write_buffer_bytes + tls_sides * tls_session_bytes

(``tls_sides``: 1 when a listener is TLS, 2 when a backend is wss:// too;
idle, a plaintext pair costs ``conn_overhead_bytes``; the write buffers fill only when a
peer reads slower than the other writes), and in all

    max_conns * conn_bytes + ring_pool_rings * rx_ring_bytes + assembly_pool_bytes <= mem_budget_bytes

``assembly_pool_bytes`` bounds, for all sessions together, the fragmented
client messages being assembled for a route's message chain (one-frame
messages are judged in the ring; a message that would overflow the pool is
refused with 1013, try again later; so is one that would take one principal,
or one address, past an eighth of the pool or one largest message, whichever
is more; and one not finished within ``timeouts.message_ms`` closes its
session with 1008). Unless a board or config sets them, a quarter of the
budget goes to the ring pool, a sixteenth (at least one largest message) to
the assembly pool when the config has message policies (none otherwise), and
``max_conns`` takes what the rest allows (capped at ``max_conns_cap``).
"""

from edgegate.rt import const

# Fallbacks when a board profile leaves a limit out (the Pi Zero 2 W sizes).
LIMIT_DEFAULTS = {
    "rx_ring_bytes": const(16398),
    "max_frame_bytes": const(16384),
    "max_message_bytes": const(65536),
    "write_buffer_bytes": const(8192),
    "max_header_bytes": const(4096),
    "max_request_line": const(2048),
    "max_headers": const(32),
    "conn_overhead_bytes": const(8192),
    "max_conns_cap": const(1000),
    "admission_table_entries": const(4096),
    "tls_session_bytes": const(49152),
    "listen_backlog": const(1024),  # the kernel's accept queue per listener (floods overflow 128)  # measured: about 45 KiB of TLS state per TLS side
}

TIMEOUT_DEFAULTS = {
    "handshake_ms": const(5000),
    "backend_connect_ms": const(3000),
    "idle_ms": const(60000),
    "ping_interval_ms": const(20000),
    "close_ms": const(3000),
    "drain_ms": const(5000),
    "message_ms": const(10000),  # a fragmented client message assembled for a chain must finish in this
}

FRAME_HEADER_BYTES = const(14)


def conn_bytes(limits):
    """Worst-case bytes one client+backend connection pair holds, rings apart."""
    return (limits["conn_overhead_bytes"] + 2 * limits["write_buffer_bytes"]
            + limits.get("tls_sides", 0) * limits["tls_session_bytes"])


def ring_pool_bytes(limits):
    return limits["ring_pool_rings"] * limits["rx_ring_bytes"]


def worst_case_bytes(limits):
    """Everything the gateway's connections can hold at once."""
    return limits["max_conns"] * conn_bytes(limits) + ring_pool_bytes(limits) + limits["assembly_pool_bytes"]


def derive(limits, mem_budget_bytes, assembles=True):
    """Fill in ``ring_pool_rings``, ``assembly_pool_bytes`` and ``max_conns`` where they are not set.

    ``assembles``: the config has message policies (else no session ever
    assembles a message, and the assembly pool takes nothing from the budget).
    """
    if "ring_pool_rings" not in limits:
        limits["ring_pool_rings"] = max(2, (mem_budget_bytes // 4) // limits["rx_ring_bytes"])
    if "assembly_pool_bytes" not in limits:
        limits["assembly_pool_bytes"] = max(limits["max_message_bytes"], mem_budget_bytes // 16) if assembles else 0
    if "max_conns" not in limits:
        rest = mem_budget_bytes - ring_pool_bytes(limits) - limits["assembly_pool_bytes"]
        limits["max_conns"] = max(1, min(limits["max_conns_cap"], rest // conn_bytes(limits)))
    return limits


def check(limits, mem_budget_bytes):
    """Return (path, message) for the first inconsistent limit, or None."""
    for k, v in limits.items():
        if k == "tls_sides" or (k == "assembly_pool_bytes" and v == 0):  # 0: derived, nothing assembles
            continue
        if type(v) is not int or v <= 0:
            return ("limits." + k, "must be an integer > 0")
    if limits["max_frame_bytes"] + FRAME_HEADER_BYTES > limits["rx_ring_bytes"]:
        return (
            "limits.rx_ring_bytes",
            "%d cannot hold max_frame_bytes=%d plus a %d-byte header"
            % (limits["rx_ring_bytes"], limits["max_frame_bytes"], FRAME_HEADER_BYTES),
        )
    if limits["max_frame_bytes"] > limits["max_message_bytes"]:
        return ("limits.max_frame_bytes", "exceeds max_message_bytes=%d" % limits["max_message_bytes"])
    if limits["max_request_line"] > limits["max_header_bytes"]:
        return ("limits.max_request_line", "exceeds max_header_bytes=%d" % limits["max_header_bytes"])
    if limits["max_header_bytes"] + FRAME_HEADER_BYTES > limits["rx_ring_bytes"]:
        return ("limits.max_header_bytes", "exceeds rx_ring_bytes=%d" % limits["rx_ring_bytes"])
    if 0 < limits["assembly_pool_bytes"] < limits["max_message_bytes"]:
        return ("limits.assembly_pool_bytes", "below max_message_bytes=%d: a fragmented message that size "
                "could never be assembled" % limits["max_message_bytes"])
    worst = worst_case_bytes(limits)
    if worst > mem_budget_bytes:
        return (
            "limits.max_conns",
            "max_conns*conn_bytes+ring_pool_rings*rx_ring_bytes+assembly_pool_bytes=%d bytes exceeds "
            "mem_budget_bytes=%d" % (worst, mem_budget_bytes),
        )
    return None
