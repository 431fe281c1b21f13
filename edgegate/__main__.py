"""``python -m edgegate`` is the ``edgegate`` command."""

import sys

from edgegate.cli import main

sys.exit(main())
