"""``python -m newsrag``: the same commands as the ``newsrag`` script."""

from __future__ import annotations

from newsrag.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
