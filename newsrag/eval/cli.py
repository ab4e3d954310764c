"""The eval's command-line arguments (`newsrag eval`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal

from newsrag.config import Settings
from newsrag.eval.dataset import SET_NAMES
from newsrag.eval.runner import run_cli


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sets",
        nargs="*",
        default=None,
        help="article, squad, newsroom, bipia, multihop, rgb (space- or comma-separated; default "
        "all; bipia only with an LLM; multihop and rgb run generative too when named here)",
    )
    parser.add_argument("--report-dir", type=Path, default=None)
    parser.add_argument(
        "--local-llm",
        action="store_true",
        help="also score generative mode with the local model, served by llama.cpp",
    )
    parser.add_argument(
        "--llm-sample",
        type=_sample,
        default=None,
        metavar="N|baseline",
        help="runs with a model: a seeded sample of N cases, stratified by answerability and "
        "question type; or 'baseline': the fixed case lists of the baseline (what make test "
        "runs); default: every case",
    )
    parser.add_argument(
        "--write-baseline",
        action="store_true",
        help="after a run that meets every gate, record its runs (figures and pass/fail by "
        "case) in newsrag/eval/baseline.json",
    )


def run_from_args(args: argparse.Namespace, settings: Settings) -> int:
    names = [n for value in args.sets or [] for n in value.split(",") if n.strip()] or None
    unknown = [name for name in names or [] if name not in SET_NAMES]
    if unknown:
        print(
            f"newsrag eval: unknown set(s) {', '.join(unknown)}; choose from "
            f"{', '.join(SET_NAMES)}",
            file=sys.stderr,
        )
        return 2
    return run_cli(
        names, args.report_dir, settings, args.local_llm, args.llm_sample, args.write_baseline
    )


def _sample(value: str) -> int | Literal["baseline"]:
    if value == "baseline":
        return "baseline"
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or 'baseline': {value}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return number
