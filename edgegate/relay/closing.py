"""Close-code arbitration: what each side hears, in one table (RFC 6455 7.4).

- A side that failed (a protocol error, bad UTF-8, a frame too big) hears its
  failure's own code (1002, 1007, 1009) whatever else was meant for it.
- When one side fails, the other did nothing wrong: a backend hears that its
  peer went away (1001), a client that the gateway lost its backend (1014, bad
  gateway) - ``PEER_FAILED``, by the side that failed.
- A close is carried end to end; a side answering a close the other started
  hears its own code echoed (RFC 6455 5.5.1), and one whose close was never
  answered by the close deadline hears its own code back (or ``UNANSWERED``).
- A refused message closes both sides with the pipeline step's code (1003
  type, 1008 policy, 1009 size, 1013 capacity) and a reason naming the rule
  (``refusal_reason``), never the message.
"""

from .actions import BACKEND, CLIENT

PEER_FAILED = {CLIENT: (1001, "peer failed"), BACKEND: (1014, "bad gateway")}
UNANSWERED = 1001
_REASONS = {"rate": "rate limit", "capacity": "try again later", "slow": "message too slow"}


def refusal_reason(rule):
    """The close reason a side hears for a message refused by ``rule``."""
    return _REASONS.get(rule, "message refused: " + rule)
