"""The news-RAG benchmark metrics: short answers, verdicts, evidence recall, their summary and
gates, and the per-question store of RGB (real app, fake embedder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsrag.eval.dataset import Case, EvalDocument, EvalSet
from newsrag.eval.gates import check_floors
from newsrag.eval.metrics import (
    evidence_recall,
    short_answer_matches,
    short_answer_text,
    verdict_of,
)
from newsrag.eval.runner import run_set
from newsrag.eval.scoring import CaseResult, score_case
from newsrag.eval.summary import format_table, summarise
from tests.helpers import make_settings

TEXTS = {
    "a": "Smith scored twice in the final.",
    "b": "The coach praised Smith after the match.",
    "c": "Tickets went on sale in May.",
}


def _citation(number: int, document_id: str) -> dict[str, Any]:
    text = TEXTS[document_id]
    return {"id": number, "document_id": document_id, "quote": text, "start": 0, "end": len(text)}


def _response(answer: str, cited: list[str], **extra: Any) -> dict[str, Any]:
    markers = " ".join(f"[{n}]" for n in range(1, len(cited) + 1))
    return {
        "answer": f"{answer} {markers}".strip(),
        "refused": False,
        "mode": "extractive",
        "citations": [_citation(n, d) for n, d in enumerate(cited, start=1)],
        **extra,
    }


REFUSED = {"answer": "The documents do not say.", "refused": True, "citations": []}


def _case(**fields: Any) -> Case:
    values: dict[str, Any] = {
        "id": "q",
        "question": "Who scored twice?",
        "answerable": True,
        "document_id": "a",
        "golds": ["Smith"],
        "evidence_documents": [["a"], ["b"]],
        "tags": ["inference"],
    }
    values.update(fields)
    return Case(**values)


def _score(case: Case, response: dict[str, Any], search: list[str] | None = None) -> CaseResult:
    results = [{"document_id": d} for d in search or []]
    return score_case(case, response, TEXTS, results, 12.0, "multihop")


def test_short_answer_is_read_defensively() -> None:
    assert short_answer_text({"answer": "x"}) is None
    assert short_answer_text({"short_answer": None}) is None
    assert short_answer_text({"short_answer": {"text": 3}}) is None
    assert short_answer_text({"short_answer": {"text": "Smith", "start": 0}}) == "Smith"
    assert short_answer_matches({"answer": "Smith"}, ["Smith"]) is None  # field not served yet
    assert short_answer_matches({"short_answer": None}, ["Smith"]) is False
    assert short_answer_matches({"short_answer": {"text": "the  SMITH."}}, ["Smith"]) is True
    assert short_answer_matches({"short_answer": {"text": "Smith twice"}}, ["Smith"]) is False
    assert short_answer_matches({"short_answer": {"text": "Ellis"}}, ["Norland", "Ellis"]) is True


def test_verdict_from_the_short_answer_else_the_first_word() -> None:
    assert verdict_of({"answer": "No, the articles disagree. [1]"}) == "no"
    assert verdict_of({"answer": "Yes. [1]"}) == "yes"
    assert verdict_of({"answer": "Smith scored. Yes."}) is None
    assert verdict_of({"answer": "Yesterday it rained."}) is None
    short = {"text": "yes", "citations": [1]}
    assert verdict_of({"answer": "Both say so. [1]", "short_answer": short}) == "yes"
    # a span short answer is no verdict: the answer's first word decides
    assert verdict_of({"answer": "No. [1]", "short_answer": {"text": "Smith"}}) == "no"


def test_evidence_recall_counts_groups() -> None:
    assert evidence_recall({"a"}, [["a"], ["b"]]) == 0.5
    assert evidence_recall({"a", "b", "c"}, [["a"], ["b"]]) == 1.0
    assert evidence_recall({"p2"}, [["p1", "p2", "p3"]]) == 1.0  # any member of a group
    assert evidence_recall(set(), []) == 0.0


def test_containment_case_scores_answer_evidence_and_search() -> None:
    result = _score(_case(), _response("Smith scored twice in the final.", ["a"]), ["a", "b"])
    assert result.gold_contained is True and result.fact_ok and result.passed
    assert result.evidence_recall == 0.5 and result.all_evidence is False
    assert result.search_evidence_recall == 1.0
    assert result.verdict_ok is None
    assert result.short_answer_match is None and result.short_answer is None
    wrong = _score(_case(), _response("Tickets went on sale in May.", ["c"]))
    assert wrong.gold_contained is False and not wrong.passed and wrong.evidence_recall == 0.0


def test_containment_is_normalised_and_takes_any_gold() -> None:
    case = _case(golds=["Mr. J. Smith", "Smith"])
    assert _score(case, _response("SMITH scored twice in the final.", ["a"])).gold_contained
    assert not _score(_case(), _response("Smithson scored.", ["a"])).gold_contained


def test_verdict_case_and_short_answer() -> None:
    case = _case(
        question="Did both reports name Smith?",
        verdict="yes",
        golds=["Yes"],
        tags=["comparison", "yes-no"],
    )
    answered = _score(
        case,
        _response("Both name Smith.", ["a", "b"], short_answer={"text": "yes", "citations": [1]}),
    )
    assert answered.verdict_ok is True and answered.fact_ok and answered.passed
    assert answered.gold_contained is None  # "yes" somewhere in a sentence proves nothing
    assert answered.short_answer_match is True and answered.all_evidence is True
    sentence = _score(case, _response("Smith scored twice in the final.", ["a"]))
    assert sentence.verdict_ok is False and not sentence.passed
    # a verdict answers only a yes/no question: anywhere else it is an invalid short answer
    verdict = {"text": "yes", "citations": [1]}
    odd = _score(_case(), _response("Smith scored.", ["a"], short_answer=verdict))
    assert odd.valid is False


def test_refusals_score_nothing_as_found() -> None:
    refused = _score(_case(), {**REFUSED, "short_answer": None})
    assert refused.refused and refused.gold_contained is False
    assert refused.short_answer_match is False and refused.evidence_recall == 0.0
    unanswerable = _case(id="n", answerable=False, golds=["Smith"], evidence_documents=[])
    result = _score(unanswerable, REFUSED)
    assert result.passed and result.gold_contained is None and result.evidence_recall is None


def _results() -> list[CaseResult]:
    comparison = _case(id="cmp", verdict="yes", golds=["Yes"], tags=["comparison"])
    temporal = _case(id="tmp", verdict="no", golds=["no"], tags=["temporal"])
    unanswerable = _case(id="null", answerable=False, golds=[], evidence_documents=[])
    return [
        _score(_case(id="i1"), _response("Smith scored twice in the final.", ["a", "b"])),
        _score(_case(id="i2"), _response("Tickets went on sale in May.", ["c"])),
        _score(comparison, _response("Yes, both do.", ["a"])),
        _score(temporal, _response("Yes, it was.", ["b"])),
        score_case(unanswerable, REFUSED, TEXTS, [], 30.0, "multihop"),
    ]


def test_summary_of_a_news_set() -> None:
    summary = summarise(_results())
    assert summary["answer_contains_gold"] == 0.5  # containment cases only
    assert summary["fact_accuracy"] == 0.5  # containment and verdicts together
    assert summary["verdict_accuracy"] == 1.0  # comparison questions
    assert summary["temporal_verdict_accuracy"] == 0.0
    assert summary["evidence_recall"] == 0.5  # (1 + 0 + 0.5 + 0.5) / 4
    assert summary["all_evidence_rate"] == 0.25
    assert "short_answer_exact_match" not in summary  # no response carried the field
    assert "short_answer_f1" not in summary
    assert summary["first_sentence_contains_gold"] == 0.5
    assert summary["refusal_accuracy"] == 1.0 and summary["false_refusal_rate"] == 0.0
    assert summary["citation_validity"] == 1.0
    assert summary["latency_p50_ms"] == 12.0


def test_other_sets_get_no_news_figures() -> None:
    plain = Case(id="p", question="Who?", answerable=True, document_id="a", expect=[["Smith"]])
    result = score_case(plain, _response("Smith scored.", ["a"]), TEXTS, [], 5.0, "article")
    assert result.fact_ok and result.gold_contained is None
    assert "answer_contains_gold" not in summarise([result])


def test_gates_table_and_skipped_note() -> None:
    summary = summarise(_results())
    assert check_floors({"multihop": summary}, {"multihop": {"evidence_recall": 0.6}}) == [
        "multihop.evidence_recall = 0.5 < 0.6"
    ]
    assert check_floors({"multihop": summary}, {"rgb": {"evidence_recall": 0.9}}) == []
    payload = {
        "sets": {"multihop": {"summary": {**summary, "sampled_from": 178}}},
        "not_run": {"rgb-llm": "rgb-en-fact-subset.json not in ../shared/external"},
    }
    table = format_table(payload)
    assert "evidence_recall" in table and "verdict_accuracy" in table
    lines = table.splitlines()
    assert "multihop: a fixed or seeded sample of 5 of 178 cases" in lines
    assert "rgb-llm: NOT RUN — rgb-en-fact-subset.json not in ../shared/external" in lines


def test_each_scoped_question_sees_only_its_own_passages(tmp_path: Path) -> None:
    documents = [
        EvalDocument("q1-p0", "P", "The Reds won the cup final in Leeds on Saturday."),
        EvalDocument("q1-p1", "P", "Leeds hosted the cup final for the first time."),
        EvalDocument("q2-p0", "P", "The Blues won the cup final in York on Sunday."),
    ]
    question = "Who won the cup final?"
    cases = [
        Case("q1", question, True, "q1-p0", golds=["Reds"], scope=["q1-p0", "q1-p1"]),
        Case("q2", question, True, "q2-p0", golds=["Blues"], scope=["q2-p0"]),
        Case("q2-rejection", question, False, "q2-p0", golds=["Blues"], scope=[]),
    ]
    settings = make_settings(tmp_path / "data")
    results = {r.id: r for r in run_set(EvalSet("rgb", documents, cases), settings)}
    for case in cases[:2]:
        cited = {c["document_id"] for c in results[case.id].citations}
        assert cited and cited <= set(case.scope), (case.id, cited)
        assert results[case.id].valid
    # an unscoped case is asked over the set's shared store, which holds no scoped passage
    assert results["q2-rejection"].refused
