"""``python -m meterkast``: the same as the ``meterkast`` console script (``meterkast.cli``)."""

import sys

from meterkast.cli import main

sys.exit(main())
