"""The baseline's case lists and what a run asks, the runs an eval plans, and length-aware
scoring."""

from __future__ import annotations

import json
from pathlib import Path

from newsrag.eval.baseline import compact_baseline, load_baseline, write_baseline
from newsrag.eval.dataset import Case, EvalDocument, EvalSet
from newsrag.eval.gates import Gates
from newsrag.eval.runner import _cases_for, planned_runs
from newsrag.eval.scoring import length_checks

CASES = [
    Case(f"c{i}", f"q{i}", answerable=i % 3 != 0, document_id="d", stratum="t") for i in range(30)
]
SET = EvalSet("squad", [EvalDocument("d", "T", "text")], CASES)
GATES = Gates(floors={}, runs={"squad-llm": {"cases": 12}})


def _run(ids: list[str]) -> dict[str, object]:
    return {"cases": [{"id": i, "passed": True} for i in ids]}


def test_a_model_run_asks_the_baseline_case_list() -> None:
    baseline = {"sets": {"squad-llm": _run(["c3", "c1", "c7"])}}
    chosen = _cases_for(SET, "squad-llm", "baseline", baseline, GATES)
    assert [c.id for c in chosen.cases] == ["c1", "c3", "c7"]  # in the set's order


def test_without_a_recorded_list_it_draws_the_configured_size_reproducibly() -> None:
    first = _cases_for(SET, "squad-llm", "baseline", {}, GATES)
    again = _cases_for(SET, "squad-llm", "baseline", {}, GATES)
    assert len(first.cases) == 12 and first.cases == again.cases
    assert _cases_for(SET, "squad-llm", None, {}, GATES) is SET  # eval-full: every case
    assert len(_cases_for(SET, "squad-llm", 6, {}, GATES).cases) == 6
    many = [Case(f"r{i}", "q", answerable=True, document_id="d") for i in range(60)]
    ungated = _cases_for(
        EvalSet("rgb", SET.documents, many), "rgb-generative", "baseline", {}, GATES
    )
    assert len(ungated.cases) == 40


def test_write_baseline_replaces_only_the_runs_written(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"sets": {"article": _run(["a"]), "squad": _run(["s"])}}))
    payload = {
        "generated_at": "2026-12-06T10:00:00Z",
        "sets": {
            "squad": {
                "summary": {"fact_accuracy": 0.5, "by_tag": {}},
                "cases": [{"id": "s2", "passed": False, "question": "secret text"}],
            }
        },
    }
    write_baseline(payload, path)
    written = load_baseline(path)
    assert written["sets"]["article"] == _run(["a"])
    assert written["sets"]["squad"] == {
        "generated_at": "2026-12-06T10:00:00Z",
        "summary": {"fact_accuracy": 0.5},
        "cases": [{"id": "s2", "passed": False}],
    }
    assert "secret text" not in path.read_text()
    assert compact_baseline(payload)["sets"]["squad"]["cases"] == [{"id": "s2", "passed": False}]


def test_planned_runs() -> None:
    assert planned_runs(["article", "bipia", "rgb"], set()) == [
        ("article", "extractive"),
        ("article", "reader"),
        ("article", "generative"),
        ("bipia", "generative"),
        ("rgb", "extractive"),
        ("rgb", "reader"),
    ]
    assert ("rgb", "generative") in planned_runs(["rgb"], {"rgb"})


def test_length_checks_read_the_first_sentence_and_the_short_answer() -> None:
    golds = ["Peskov"]
    late = {
        "answer": "The Kremlin spoke. [1] Peskov said so. [2]",
        "refused": False,
        "short_answer": {"text": "Dmitry Peskov"},
    }
    checks = length_checks(late, golds)
    assert checks["first_sentence_gold"] is False  # the gold only in the second sentence
    assert checks["short_answer_match"] is False
    assert 0.0 < checks["short_answer_f1"] < 1.0
    exact = {**late, "answer": "Peskov said so. [1]", "short_answer": {"text": "Peskov"}}
    assert length_checks(exact, golds) == {
        "first_sentence_gold": True,
        "short_answer_match": True,
        "short_answer_f1": 1.0,
    }
    refused = {**exact, "refused": True}
    assert length_checks(refused, golds) == {
        "first_sentence_gold": False,
        "short_answer_match": False,
        "short_answer_f1": 0.0,
    }
    assert "short_answer_f1" not in length_checks({"answer": "Peskov. [1]"}, golds)
