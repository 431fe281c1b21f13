"""pytest setup for the whole suite.

Under CI (``EDGEGATE_CI=1``, set by ``.ci/run``) the property tests run
derandomized: the same examples on every run, so a landing is never decided
by a lucky or unlucky draw. Run them without it locally to keep searching.
"""

import os

try:
    from hypothesis import settings
except ImportError:  # pragma: no cover - the test extra is not installed
    settings = None

if settings is not None:
    settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("EDGEGATE_CI") == "1":
        settings.load_profile("ci")
