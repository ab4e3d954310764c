"""What fails an eval run: floors, targets, the paired comparison with the baseline, runs that
did not happen.

- **Floors** (``[floors.RUN]`` in ``thresholds.toml``): the lowest acceptable value of a figure
  (``*_max``: the highest). Never lowered to let a change pass.
- **Paired comparison** with ``baseline.json``, case by case on the cases both runs asked. A run
  without a model is deterministic: every case that passed in the baseline and fails now fails
  the run, unless ``accepted-changes.toml`` lists it with a reason. A run with a model fails
  when it lost significantly more cases than it gained (the exact sign test of
  ``eval/paired.py``); each gate prints the smallest drop its sample can detect.
- **Targets** (``[targets.RUN]``): where the product should be; reported met or not, never
  failing (a gate written at a bad level would read as if that level were acceptable).
- **Runs not run**: under ``CI=true`` a gated run that did not happen fails with its reason;
  elsewhere it is reported as not run, never as passed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsrag.eval.paired import ALPHA, compare, minimal_detectable_effect, sign_test

EVAL_DIR = Path(__file__).resolve().parent
THRESHOLDS_FILE = EVAL_DIR / "thresholds.toml"
ACCEPTED_FILE = EVAL_DIR / "accepted-changes.toml"
MODEL_SUFFIXES = ("-llm", "-generative")
# the background flip rate assumed for a model's runs when thresholds.toml does not give one
DEFAULT_MODEL_NOISE = 0.05

# the cases each gated figure is a rate over, for its minimal detectable effect
DENOMINATOR = {
    "refusal_accuracy": "unanswerable",
    "false_refusal_rate": "answerable",
    "fact_accuracy": "answerable",
    "answer_contains_gold": "answerable",
    "answer_containment": "answerable",
    "first_sentence_contains_gold": "answerable",
    "short_answer_exact_match": "answerable",
    "evidence_recall": "answerable",
    "all_evidence_rate": "answerable",
    "search_evidence_recall": "answerable",
}


# the figures a case's pass or fail is made of (the paired test sees only those)
PASS_FIGURES = frozenset(
    {
        "fact_accuracy",
        "answer_contains_gold",
        "answer_containment",
        "refusal_accuracy",
        "false_refusal_rate",
        "citation_validity",
        "evidence_coverage",
        "verdict_accuracy",
    }
)


def uses_model(run: str) -> bool:
    return run.endswith(MODEL_SUFFIXES)


@dataclass(frozen=True)
class Gates:
    floors: dict[str, dict[str, float]]
    targets: dict[str, dict[str, float]] = field(default_factory=dict)
    # per run: "cases" (the size of make test's fixed case list), "noise" (flip rate assumed)
    runs: dict[str, dict[str, float]] = field(default_factory=dict)
    accepted: dict[str, dict[str, str]] = field(default_factory=dict)  # run -> case -> reason

    def noise(self, run: str) -> float:
        default = DEFAULT_MODEL_NOISE if uses_model(run) else 0.0
        return float(self.runs.get(run, {}).get("noise", default))

    def ci_cases(self, run: str) -> int | None:
        size = self.runs.get(run, {}).get("cases")
        return int(size) if size is not None else None


def load_gates(path: Path = THRESHOLDS_FILE, accepted: Path = ACCEPTED_FILE) -> Gates:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    unknown = set(raw) - {"floors", "targets", "runs"}
    if unknown:
        raise ValueError(f"{path.name}: unknown sections {sorted(unknown)}")
    return Gates(
        floors=raw.get("floors", {}),
        targets=raw.get("targets", {}),
        runs=raw.get("runs", {}),
        accepted=load_accepted(accepted),
    )


def load_accepted(path: Path = ACCEPTED_FILE) -> dict[str, dict[str, str]]:
    """``[[accepted]]`` entries: ``run``, ``case`` and a non-empty ``reason``."""
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        entries = tomllib.load(handle).get("accepted", [])
    found: dict[str, dict[str, str]] = {}
    for entry in entries:
        reason = str(entry.get("reason", "")).strip()
        if not reason or not entry.get("run") or not entry.get("case"):
            raise ValueError(f"{path.name}: every entry needs run, case and a reason: {entry}")
        found.setdefault(str(entry["run"]), {})[str(entry["case"])] = reason
    return found


def _outside(key: str, value: float, bound: float) -> bool:
    return value > bound if key.endswith("_max") else value < bound


def check_floors(
    summaries: dict[str, dict[str, Any]], floors: dict[str, dict[str, float]]
) -> list[str]:
    """Failed floors, as readable lines (runs that did not happen are judged by
    :func:`not_run`)."""
    failures = []
    for run, gates in floors.items():
        summary = summaries.get(run)
        if summary is None:
            continue
        for key, bound in gates.items():
            metric = key.removesuffix("_max")
            value = summary.get(metric)
            if value is None:
                failures.append(f"{run}.{metric}: not measured")
            elif _outside(key, value, bound):
                sign = ">" if key.endswith("_max") else "<"
                failures.append(f"{run}.{metric} = {value} {sign} {bound}")
    return failures


def targets_report(
    summaries: dict[str, dict[str, Any]], targets: dict[str, dict[str, float]]
) -> list[str]:
    lines = []
    for run, wanted in targets.items():
        summary = summaries.get(run)
        for key, bound in wanted.items():
            metric = key.removesuffix("_max")
            value = None if summary is None else summary.get(metric)
            sign = "≤" if key.endswith("_max") else "≥"
            if value is None:
                state = "not measured"
            else:
                state = "not met" if _outside(key, value, bound) else "met"
            lines.append(
                f"{run}.{metric} {sign} {bound}: {value if value is not None else '—'} ({state})"
            )
    return lines


@dataclass
class PairedResult:
    run: str
    paired: int
    lost: list[str]
    gained: list[str]
    accepted: list[str]
    p_value: float
    failed: bool
    answerable: int = 0  # among the paired cases
    not_asked: list[str] = field(default_factory=list)  # baseline cases this run did not ask
    stale: list[str] = field(default_factory=list)  # accepted entries the baseline already holds

    def line(self) -> str:
        verdict = "FAILED" if self.failed else "ok"
        accepted = f", {len(self.accepted)} accepted" if self.accepted else ""
        missing = f", {len(self.not_asked)} baseline cases not asked" if self.not_asked else ""
        stale = (
            f", stale entries in accepted-changes.toml (remove them): {', '.join(self.stale)}"
            if self.stale
            else ""
        )
        return (
            f"{self.run}: {len(self.lost)} lost, {len(self.gained)} gained of {self.paired} "
            f"paired cases{accepted}{missing} (sign test p = {self.p_value:.3g}){stale} {verdict}"
        )


def compare_with_baseline(
    payload: dict[str, Any], baseline: dict[str, Any], gates: Gates
) -> list[PairedResult]:
    """Every run of ``payload`` that the baseline also has, compared case by case. A run
    without a model asks every case, so a baseline case it did not ask (renamed, removed) fails
    it too, as does an accepted change the baseline already holds (it would hide a later loss)."""
    results = []
    for run, data in payload.get("sets", {}).items():
        before_cases = baseline.get("sets", {}).get(run, {}).get("cases")
        if not before_cases:
            continue
        before = {c["id"]: bool(c["passed"]) for c in before_cases}
        now = {c["id"]: bool(c["passed"]) for c in data["cases"]}
        comparison = compare(before, now)
        accepted_here = gates.accepted.get(run, {})
        accepted = [c for c in comparison.lost if c in accepted_here]
        lost = [c for c in comparison.lost if c not in accepted_here]
        stale = [c for c in accepted_here if c in before and not before[c]]
        not_asked = [c for c in before if c not in now]
        p_value = sign_test(len(lost), len(comparison.gained))
        if uses_model(run):
            failed = p_value < ALPHA or bool(stale)
        else:
            failed = bool(lost or not_asked or stale)
        answerable = sum(
            1 for c in data["cases"] if c["id"] in before and c.get("answerable", True)
        )
        results.append(
            PairedResult(
                run,
                comparison.paired,
                lost,
                comparison.gained,
                accepted,
                p_value,
                failed,
                answerable,
                not_asked,
                stale,
            )
        )
    return results


def not_run(expected: dict[str, str], ran: set[str], floors: dict[str, Any]) -> dict[str, str]:
    """Gated runs that were expected and did not happen, with why (``expected``: run -> the
    reason it would not run, or "" when nothing stood in its way)."""
    return {
        run: why or "it did not run"
        for run, why in expected.items()
        if run in floors and run not in ran
    }


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def effect_lines(
    summaries: dict[str, dict[str, Any]], gates: Gates, paired: list[PairedResult]
) -> list[str]:
    """What each run's comparison can see. Without a model: any one case lost fails. With one:
    for each gated figure that a case's pass or fail is made of, the smallest drop in it that
    the sign test on the run's paired cases catches with 80 % power (a figure over part of the
    cases, the answerable ones say, must drop further to move the whole run as much); the other
    figures are guarded by their floor only."""
    by_run = {p.run: p for p in paired}
    lines = []
    for run, floors in gates.floors.items():
        if run not in summaries:
            continue
        result = by_run.get(run)
        if result is None or not result.paired:
            lines.append(f"{run}: not paired (the baseline does not have this run): floors only")
            continue
        n = result.paired
        if not uses_model(run):
            lines.append(f"{run}: deterministic, any one of {n} paired cases lost fails")
            continue
        noise = gates.noise(run)
        overall = minimal_detectable_effect(n, noise)
        parts = {"answerable": result.answerable, "unanswerable": n - result.answerable}
        for key in floors:
            metric = key.removesuffix("_max")
            value = summaries[run].get(metric)
            if metric not in PASS_FIGURES:
                lines.append(f"{run}.{metric} = {value}: floor only")
                continue
            part = parts.get(DENOMINATOR.get(metric, "cases"), n)
            mde = None if overall is None or not part else overall * n / part
            shown = "not detectable" if mde is None or mde > 1 else f"{mde:.3f}"
            lines.append(
                f"{run}.{metric} = {value} over {part} of {n} paired cases "
                f"(noise {noise:.2f}): minimal detectable drop {shown}"
            )
    return lines
