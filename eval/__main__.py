"""``python -m eval``: run the eval sets (same as ``newsrag eval``)."""

from __future__ import annotations

import sys

from newsrag.cli import main

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
