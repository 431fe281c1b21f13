"""Configuration core (portable, no I/O): validate a box's JSON document against a board.

``parse(doc, board)`` returns a ``Config`` or raises ``ConfigError`` whose
message names the offending path (``routes[2].backend.url: ...``). Callers
read files; this package only sees dicts and text.
"""

from .model import Config, ConfigError, Listener, Route, parse, parse_ws_url, safe_defaults  # noqa: F401
