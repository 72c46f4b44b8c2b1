"""``python -m xmkit``: the ``xmkit`` command."""

import sys

from xmkit.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
