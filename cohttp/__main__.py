"""``python -m cohttp``: see :mod:`cohttp.cli`."""

import sys

from .cli import main

sys.exit(main())
