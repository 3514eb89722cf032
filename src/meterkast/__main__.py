"""``python -m meterkast``: the same as the ``meterkast`` console script (``meterkast.cli.main``)."""

from __future__ import annotations

import sys

from meterkast.cli import main

if __name__ == "__main__":
    sys.exit(main())
