"""How every command-line entry point runs: a known failure is one line on stderr, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

from newsrag.config import Settings, load_settings
from newsrag.errors import NewsragError, SettingsError


def run_reporting(command: Callable[[Settings], int]) -> int:
    """Load the settings and run ``command``; exit 2 for a bad setting, 1 for a known error."""
    try:
        return command(load_settings())
    except SettingsError as exc:
        print(f"newsrag: {exc}", file=sys.stderr)
        return 2
    except NewsragError as exc:
        print(f"newsrag: error: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
