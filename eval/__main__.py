"""``python -m eval``: run the eval sets (same as ``newsrag eval``)."""

from __future__ import annotations

import argparse
import sys

from core.console import run_reporting
from eval.cli import add_arguments, run_from_args


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description="Run the eval sets.")
    add_arguments(parser)
    args = parser.parse_args()
    return run_reporting(lambda settings: run_from_args(args, settings))


if __name__ == "__main__":
    sys.exit(main())
