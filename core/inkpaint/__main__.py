"""``python -m inkpaint``: the same as the ``inkpaint`` command."""

import sys

from .cli import main

sys.exit(main())
