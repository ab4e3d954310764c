"""``python -m eval``: run the eval sets (same as ``newsrag eval``)."""

from __future__ import annotations

import argparse
import sys

from core.errors import NewsragError
from core.settings import SettingsError, load_settings
from eval.cli import add_arguments, run_from_args


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description="Run the eval sets.")
    add_arguments(parser)
    args = parser.parse_args()
    try:
        return run_from_args(args, load_settings())
    except SettingsError as exc:
        print(f"newsrag: {exc}", file=sys.stderr)
        return 2
    except NewsragError as exc:
        print(f"newsrag: error: {exc.detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
