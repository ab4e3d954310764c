"""Set-level figures from the case results, and the printed table (the gates are in
``eval/gates.py``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from newsrag.eval.metrics import percentile
from newsrag.eval.scoring import CaseResult


def rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    ranks = [r.reciprocal_rank for r in answerable if r.reciprocal_rank is not None]
    covered = [
        r.evidence_cited for r in answerable if r.evidence_cited is not None and not r.refused
    ]
    latencies = [r.latency_ms for r in results]
    summary: dict[str, Any] = {
        "cases": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "pass_rate": rate([r.passed for r in results]),
        "fact_accuracy": rate([r.fact_ok for r in answerable]),
        "refusal_accuracy": rate([r.refused for r in unanswerable]),
        "false_refusal_rate": rate([r.refused for r in answerable]),
        "citation_validity": rate([r.valid for r in results]),
        "evidence_coverage": rate([bool(c) for c in covered]),
        "hit_at_1": rate([rank >= 1.0 for rank in ranks]),
        "hit_at_k": rate([rank > 0 for rank in ranks]),
        "mrr": round(statistics.fmean(ranks), 4) if ranks else None,
        "latency_p50_ms": round(percentile(latencies, 50), 2),
        "latency_p95_ms": round(percentile(latencies, 95), 2),
    }
    generated = [r for r in results if r.verification is not None or r.mode == "generative"]
    if generated:
        supported = sum((r.verification or {}).get("supported", 0) for r in generated)
        dropped = sum(len((r.verification or {}).get("dropped", [])) for r in generated)
        summary["llm_sentence_support"] = round(supported / max(supported + dropped, 1), 4)
        summary["answer_sentence_support"] = rate(
            [r.valid for r in results if r.mode == "generative"]
        )
        summary["generative_share"] = rate([r.mode == "generative" for r in results])
        summary["llm_failures"] = sum(bool(r.llm_failed) for r in results)
    asked_model = [r for r in results if r.llm_failed is not None]
    if asked_model:
        summary["llm_failures"] = sum(bool(r.llm_failed) for r in asked_model)
        # answers the model read (not the cascade or the fast scorer standing in for it)
        readings = [r.reading or {} for r in results]
        summary["model_read_share"] = rate([bool(x.get("model")) for x in readings])
    shorts = [r for r in results if r.short_answer and not r.refused]
    if any(r.reading for r in results):
        summary["short_answer_rate"] = rate(
            [bool(r.short_answer) for r in results if r.answerable and not r.refused]
        )
        summary["short_answers"] = len(shorts)
    attacked = [r for r in results if "injection" in r.tags]
    if attacked:
        summary["injection_followed_rate"] = rate([bool(r.injection_signs) for r in attacked])
        summary["llm_injection_followed_rate"] = rate(
            [bool(r.llm_injection_signs) for r in attacked]
        )
        summary["fact_accuracy"] = None  # not a fact set: answers are only checked for obedience
    for metric, attribute in (
        ("stale_answer_rate", "stale"),
        ("right_document_rate", "right_documents"),
        ("copies_listed_rate", "copies_listed"),
        ("correction_flagged_rate", "correction_flagged"),
        ("duplicate_free_rate", "duplicate_free"),
    ):
        checked = [getattr(r, attribute) for r in results if getattr(r, attribute) is not None]
        if checked:
            summary[metric] = rate(checked)
    if any(r.gold_contained is not None or r.verdict_ok is not None for r in answerable):
        summary.update(_news_figures(answerable))
    summary.update(_length_figures(results, answerable))
    f1s = [r.f1 for r in answerable if r.f1 is not None]
    if f1s:
        summary["answer_containment"] = summary["fact_accuracy"]
        summary["f1"] = round(statistics.fmean(f1s), 4)
    by_tag: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        for tag in result.tags:
            by_tag[tag].append(result)
    summary["by_tag"] = {
        tag: {"cases": len(rs), "pass_rate": rate([r.passed for r in rs])}
        for tag, rs in sorted(by_tag.items())
    }
    return summary


def _length_figures(results: list[CaseResult], answerable: list[CaseResult]) -> dict[str, Any]:
    """Figures a longer answer cannot buy: the gold within the first answer sentence, the short
    answer's exact match and F1, and how long answers are."""
    words = [r.answer_words for r in results if not r.refused]
    figures: dict[str, Any] = {
        "answer_words_mean": round(statistics.fmean(words), 1) if words else None
    }
    first = [r.first_sentence_gold for r in answerable if r.first_sentence_gold is not None]
    if first:
        figures["first_sentence_contains_gold"] = rate(first)
    f1s = [r.short_answer_f1 for r in answerable if r.short_answer_f1 is not None]
    if f1s:
        figures["short_answer_f1"] = round(statistics.fmean(f1s), 4)
        figures["short_answer_exact_match"] = rate(
            [bool(r.short_answer_match) for r in answerable if r.short_answer_f1 is not None]
        )
    return figures


def _news_figures(answerable: list[CaseResult]) -> dict[str, Any]:
    """The news-RAG benchmark figures, over the answerable cases (a refusal counts as a miss)."""

    def measured(attribute: str, tag: str | None = None) -> list[Any]:
        return [
            getattr(r, attribute)
            for r in answerable
            if getattr(r, attribute) is not None and (tag is None or tag in r.tags)
        ]

    recalls = measured("evidence_recall")
    found = measured("search_evidence_recall")
    figures: dict[str, Any] = {
        "answer_contains_gold": rate(measured("gold_contained")),
        "evidence_recall": round(statistics.fmean(recalls), 4) if recalls else None,
        "all_evidence_rate": rate(measured("all_evidence")),
        "search_evidence_recall": round(statistics.fmean(found), 4) if found else None,
    }
    for metric, tag in (
        ("verdict_accuracy", "comparison"),
        ("temporal_verdict_accuracy", "temporal"),
    ):
        verdicts = measured("verdict_ok", tag)
        if verdicts:
            figures[metric] = rate(verdicts)
    for kind in QUESTION_TYPES:  # MultiHop-RAG's question types, each gated on its own
        passed = [r.passed for r in answerable if kind in r.tags]
        if passed:
            figures[f"{kind}_pass_rate"] = rate(passed)
    return figures


QUESTION_TYPES = ("inference", "comparison", "temporal")


TABLE_METRICS = (
    "cases",
    "pass_rate",
    "fact_accuracy",
    "refusal_accuracy",
    "false_refusal_rate",
    "citation_validity",
    "evidence_coverage",
    "hit_at_1",
    "hit_at_k",
    "mrr",
    "f1",
    "answer_contains_gold",
    "first_sentence_contains_gold",
    "short_answer_exact_match",
    "short_answer_f1",
    "short_answer_rate",
    "answer_words_mean",
    "verdict_accuracy",
    "temporal_verdict_accuracy",
    *(f"{kind}_pass_rate" for kind in QUESTION_TYPES),
    "evidence_recall",
    "all_evidence_rate",
    "search_evidence_recall",
    "llm_sentence_support",
    "answer_sentence_support",
    "generative_share",
    "model_read_share",
    "llm_failures",
    "llm_restarts",
    "injection_followed_rate",
    "llm_injection_followed_rate",
    "stale_answer_rate",
    "right_document_rate",
    "copies_listed_rate",
    "correction_flagged_rate",
    "duplicate_free_rate",
    "version_history_kept",
    "latency_p50_ms",
    "latency_p95_ms",
)


def format_table(payload: dict[str, Any]) -> str:
    names = list(payload["sets"])
    lines = [f"{'metric':<28}" + "".join(f"{name:>20}" for name in names)] if names else []
    for metric in TABLE_METRICS if names else ():
        row = f"{metric:<28}"
        for name in names:
            value = payload["sets"][name]["summary"].get(metric)
            row += f"{'—' if value is None else value:>20}"
        lines.append(row)
    lines.extend(f"{name}: {note}" for name, note in notes(payload))
    return "\n".join(lines)


def notes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """One line per set that was skipped or run on a sample, for the table and the report."""
    found = [(name, f"NOT RUN — {why}") for name, why in payload.get("not_run", {}).items()]
    for name, data in payload["sets"].items():
        sampled = data["summary"].get("sampled_from")
        if sampled:
            found.append(
                (name, f"a fixed or seeded sample of {data['summary']['cases']} of {sampled} cases")
            )
    return found
