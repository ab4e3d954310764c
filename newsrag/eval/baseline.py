"""The committed baseline: each run's figures and, per case, its id and pass/fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASELINE_FILE = Path(__file__).resolve().parent / "baseline.json"


def load_baseline(path: Path = BASELINE_FILE) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def question_of(payload: dict[str, Any], run_name: str, case_id: str) -> str:
    for case in payload["sets"][run_name]["cases"]:
        if case["id"] == case_id:
            return str(case["question"])
    return ""


def compact_baseline(payload: dict[str, Any]) -> dict[str, Any]:
    """What the baseline keeps of a run: when it ran, its figures and, per case, its id and
    pass/fail (no text: RGB's licence keeps its questions out of the repository)."""
    return {
        "sets": {
            name: {
                "generated_at": payload["generated_at"],
                "summary": {k: v for k, v in data["summary"].items() if k != "by_tag"},
                "cases": [{"id": c["id"], "passed": c["passed"]} for c in data["cases"]],
            }
            for name, data in payload["sets"].items()
        },
    }


def write_baseline(payload: dict[str, Any], path: Path = BASELINE_FILE) -> None:
    """Replace the runs of ``payload`` in the baseline (the others are kept)."""
    current = json.loads(path.read_text()) if path.exists() else {}
    current.setdefault("sets", {}).update(compact_baseline(payload)["sets"])
    path.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n")
