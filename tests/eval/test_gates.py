"""What fails an eval run: floors, the paired comparison with the baseline (named regressions for
runs without a model, a significant net loss for runs with one), runs not run under CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newsrag.eval.gates import (
    Gates,
    PairedResult,
    check_floors,
    compare_with_baseline,
    effect_lines,
    in_ci,
    load_accepted,
    load_gates,
    not_run,
    targets_report,
)
from newsrag.eval.paired import minimal_detectable_effect
from newsrag.eval.summary import QUESTION_TYPES


def _run(passed: dict[str, bool]) -> dict[str, Any]:
    return {"cases": [{"id": k, "passed": v, "question": f"q {k}"} for k, v in passed.items()]}


def _payload(**runs: dict[str, bool]) -> dict[str, Any]:
    return {"sets": {name.replace("_", "-"): _run(cases) for name, cases in runs.items()}}


GATES = Gates(floors={"article": {"fact_accuracy": 0.5}, "article-llm": {"fact_accuracy": 0.5}})


def test_one_lost_case_fails_a_run_without_a_model() -> None:
    baseline = _payload(article={"a": True, "b": True, "c": False})
    now = _payload(article={"a": False, "b": True, "c": True})  # one lost, one gained
    (result,) = compare_with_baseline(now, baseline, GATES)
    assert result.failed and result.lost == ["a"] and result.gained == ["c"]
    assert "1 lost, 1 gained of 3 paired cases" in result.line()


def test_an_accepted_loss_does_not_fail(tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.toml"
    accepted.write_text('[[accepted]]\nrun = "article"\ncase = "a"\nreason = "superseded"\n')
    gates = Gates(floors=GATES.floors, accepted=load_accepted(accepted))
    baseline = _payload(article={"a": True, "b": True})
    (result,) = compare_with_baseline(_payload(article={"a": False, "b": True}), baseline, gates)
    assert not result.failed and result.accepted == ["a"] and result.lost == []


def test_an_accepted_change_needs_a_reason(tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.toml"
    accepted.write_text('[[accepted]]\nrun = "article"\ncase = "a"\nreason = " "\n')
    with pytest.raises(ValueError, match="reason"):
        load_accepted(accepted)


def test_a_model_run_fails_only_on_a_significant_net_loss() -> None:
    cases = {f"c{i}": True for i in range(40)}
    baseline = _payload(article_llm=cases)
    three_lost = {**cases, "c0": False, "c1": False, "c2": False}
    (noise,) = compare_with_baseline(_payload(article_llm=three_lost), baseline, GATES)
    assert not noise.failed and noise.p_value == pytest.approx(1 / 8)
    five_lost = {**three_lost, "c3": False, "c4": False}
    (worse,) = compare_with_baseline(_payload(article_llm=five_lost), baseline, GATES)
    assert worse.failed and worse.p_value == pytest.approx(1 / 32)
    # five lost and five gained elsewhere: a reshuffle, not a loss
    mixed_before = {**cases, **{f"x{i}": False for i in range(5)}}
    mixed_now = {**five_lost, **{f"x{i}": True for i in range(5)}}
    (mixed,) = compare_with_baseline(
        _payload(article_llm=mixed_now), _payload(article_llm=mixed_before), GATES
    )
    assert not mixed.failed and len(mixed.lost) == len(mixed.gained) == 5


def test_runs_missing_from_the_baseline_are_not_compared() -> None:
    assert compare_with_baseline(_payload(article={"a": False}), {"sets": {}}, GATES) == []


def test_floors_and_targets() -> None:
    summaries = {"article": {"fact_accuracy": 0.4, "llm_failures": 2}}
    floors = {"article": {"fact_accuracy": 0.5, "llm_failures_max": 0, "f1": 0.3}}
    assert check_floors(summaries, floors) == [
        "article.fact_accuracy = 0.4 < 0.5",
        "article.llm_failures = 2 > 0",
        "article.f1: not measured",
    ]
    lines = targets_report(summaries, {"article": {"fact_accuracy": 0.3}, "squad": {"f1": 1.0}})
    assert lines == ["article.fact_accuracy ≥ 0.3: 0.4 (met)", "squad.f1 ≥ 1.0: — (not measured)"]


def test_gated_runs_that_did_not_run_are_named() -> None:
    expected = {"rgb": "not in ../shared", "article-llm": "no LLM", "extra": ""}
    floors: dict[str, dict[str, float]] = {"rgb": {}, "article-llm": {}, "article": {}}
    assert not_run(expected, {"article"}, floors) == {
        "rgb": "not in ../shared",
        "article-llm": "no LLM",
    }


@pytest.mark.parametrize(("value", "ci"), [("true", True), ("1", True), ("", False), ("0", False)])
def test_in_ci(monkeypatch: pytest.MonkeyPatch, value: str, ci: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is ci


def test_effect_lines_scale_to_the_paired_part_a_figure_is_over() -> None:
    gates = Gates(
        floors={
            "squad-llm": {"fact_accuracy": 0.5, "refusal_accuracy": 0.1, "model_read_share": 0.9},
            "squad": {"f1": 0},
            "rgb-llm": {"fact_accuracy": 0.5},
        },
        runs={"squad-llm": {"noise": 0.0}},
    )
    # the run asked all 626 cases, 80 of them paired with the baseline (60 answerable)
    summaries = {
        "squad-llm": {"fact_accuracy": 0.7, "refusal_accuracy": 0.3, "model_read_share": 1.0},
        "squad": {"f1": 0.5},
        "rgb-llm": {"fact_accuracy": 0.6},
    }
    paired = [
        PairedResult("squad-llm", 80, [], [], [], 1.0, False, answerable=60),
        PairedResult("squad", 100, [], [], [], 1.0, False),
    ]
    fact, refusal, share, f1, rgb = effect_lines(summaries, gates, paired)
    overall = minimal_detectable_effect(80, 0.0)
    assert overall is not None
    assert fact.endswith(
        f"over 60 of 80 paired cases (noise 0.00): minimal detectable drop {overall * 80 / 60:.3f}"
    )
    assert "over 20 of 80 paired cases (noise 0.00): minimal detectable drop " in refusal
    assert refusal.endswith(f"minimal detectable drop {overall * 4:.3f}")
    assert share == "squad-llm.model_read_share = 1.0: floor only"
    assert f1 == "squad: deterministic, any one of 100 paired cases lost fails"
    assert rgb.startswith("rgb-llm: not paired")


def test_baseline_cases_not_asked_fail_a_deterministic_run() -> None:
    baseline = _payload(article={"a": True, "b": False})
    (result,) = compare_with_baseline(_payload(article={"a": True}), baseline, GATES)
    assert result.failed and result.not_asked == ["b"]
    assert "1 baseline cases not asked" in result.line()


def test_an_accepted_change_the_baseline_holds_is_stale(tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.toml"
    accepted.write_text('[[accepted]]\nrun = "article"\ncase = "b"\nreason = "old"\n')
    gates = Gates(floors=GATES.floors, accepted=load_accepted(accepted))
    baseline = _payload(article={"a": True, "b": False})
    (result,) = compare_with_baseline(_payload(article={"a": True, "b": False}), baseline, gates)
    assert result.failed and result.stale == ["b"] and "remove them" in result.line()


def test_the_shipped_gates_load() -> None:
    gates = load_gates()
    assert gates.floors["article"]["fact_accuracy"] > 0
    for run in gates.runs:
        assert run in gates.floors and gates.ci_cases(run)
    for run in ("multihop", "multihop-llm"):  # MultiHop-RAG is gated by question type too
        assert {f"{kind}_pass_rate" for kind in QUESTION_TYPES} <= gates.floors[run].keys()


def test_every_model_run_has_its_fixed_case_list_in_the_baseline() -> None:
    """make test asks the baseline's lists (--llm-sample baseline): a run without one would draw
    a fresh sample and be paired with nothing."""
    from newsrag.eval.baseline import load_baseline

    gates, baseline = load_gates(), load_baseline()
    for run in gates.runs:
        recorded = baseline["sets"][run]["cases"]
        assert len(recorded) == gates.ci_cases(run), run
    for run in gates.floors:
        assert run in baseline["sets"], f"{run} has floors but no baseline"
