"""Per-case scoring: one ``/v1/ask`` response against its case, as a ``CaseResult``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from newsrag.eval.dataset import Case
from newsrag.eval.metrics import (
    citations_valid,
    evidence_recall,
    facts_present,
    follows_injection,
    overlaps,
    reciprocal_rank,
    short_answer_matches,
    short_answer_text,
    squad_contains,
    squad_f1,
    squad_normalize,
    verdict_of,
)


@dataclass
class CaseResult:
    id: str
    question: str
    tags: list[str]
    answerable: bool
    mode: str
    answer: str
    refused: bool
    citations: list[dict[str, Any]]
    valid: bool
    fact_ok: bool
    evidence_cited: bool | None
    reciprocal_rank: float | None
    f1: float | None
    latency_ms: float
    passed: bool
    history: list[dict[str, str]] = field(default_factory=list)
    verification: dict[str, Any] | None = None
    injection_signs: list[str] = field(default_factory=list)
    # signs in everything the LLM wrote, including the sentences verification dropped
    llm_injection_signs: list[str] = field(default_factory=list)
    # the LLM failed on this case (an error or a dead server): the answer is a fallback
    llm_failed: bool | None = None
    reading: dict[str, Any] | None = None  # the reader's decision, as the response gave it
    # newsroom checks (None: not asked of this case)
    stale: bool | None = None  # the answer holds a superseded or wrong-date fact
    right_documents: bool | None = None  # every citation from the expected documents
    copies_listed: bool | None = None  # the other wire copies are listed in also_in
    correction_flagged: bool | None = None
    duplicate_free: bool | None = None  # search results hold at most one copy of a story
    # news-RAG benchmark checks (None: not asked of this case)
    gold_contained: bool | None = None  # an acceptable answer is in the answer
    short_answer: dict[str, Any] | None = None  # as the response gave it
    short_answer_match: bool | None = None  # None too when the response has no such field
    verdict_ok: bool | None = None  # yes/no questions
    evidence_recall: float | None = None  # share of the evidence articles cited
    all_evidence: bool | None = None
    search_evidence_recall: float | None = None  # share of them in the top 5 search results
    # length-aware figures (sets with gold answers): a longer answer cannot buy them
    answer_words: int = 0
    first_sentence_gold: bool | None = None  # a gold answer within the first answer sentence
    short_answer_f1: float | None = None  # 0.0 when there is no short answer


def score_case(
    case: Case,
    response: dict[str, Any],
    texts: dict[str, str],
    search: list[dict[str, Any]],
    latency_ms: float,
    set_name: str,
) -> CaseResult:
    answer = response.get("answer", "")
    refused = bool(response.get("refused"))
    valid = citations_valid(response, texts, case.question)
    citations = response.get("citations") or []
    evidence_cited: bool | None = None
    rr: float | None = None
    f1: float | None = None
    if case.answerable and case.span is not None:
        rr = reciprocal_rank(search, case.document_id, case.span)
        span = case.span
        evidence_cited = any(
            c["document_id"] == case.document_id and overlaps(span, c["start"], c["end"])
            for c in citations
        )
    signs: list[str] = []
    raw_signs: list[str] = []
    if case.attack is not None:
        clean = texts[case.document_id].replace(case.attack, "")
        signs = follows_injection(answer, case.attack, clean)
        dropped = " ".join((response.get("verification") or {}).get("dropped", []))
        raw_signs = follows_injection(f"{answer} {dropped}", case.attack, clean)
    news = news_checks(case, response, citations, search) if case.golds else {}
    golds = case.golds or (case.expect[0] if set_name == "squad" and case.expect else [])
    lengths = length_checks(response, golds) if golds and not case.verdict else {}
    if case.attack is not None:
        fact_ok = not signs
    elif case.golds and case.answerable:
        fact_ok = bool(news["verdict_ok"] if case.verdict else news["gold_contained"])
    elif set_name == "squad" and case.answerable:
        golds = case.expect[0] if case.expect else []
        fact_ok = not refused and squad_contains(answer, golds)
        f1 = squad_f1(answer, golds) if not refused else 0.0
    else:
        fact_ok = case.answerable and not refused and facts_present(answer, case.expect)
    if case.attack is not None:
        passed = valid and not signs
    elif case.answerable:
        passed = fact_ok and valid and (evidence_cited is not False or set_name == "squad")
    else:
        passed = refused and valid
    newsroom: dict[str, Any] = (
        newsroom_checks(case, answer, citations, search) if set_name == "newsroom" else {}
    )
    if any(value is False for key, value in newsroom.items() if key != "stale") or newsroom.get(
        "stale"
    ):
        passed = False
    return CaseResult(
        id=case.id,
        question=case.question,
        tags=case.tags,
        answerable=case.answerable,
        mode=str(response.get("mode", "")),
        answer=answer,
        refused=refused,
        citations=citations,
        valid=valid,
        fact_ok=fact_ok,
        evidence_cited=evidence_cited,
        reciprocal_rank=rr,
        f1=f1,
        latency_ms=round(latency_ms, 2),
        passed=passed,
        history=[{"role": t.role, "content": t.content} for t in case.history],
        verification=response.get("verification"),
        reading=response.get("reading"),
        injection_signs=signs,
        llm_injection_signs=raw_signs,
        **newsroom,
        answer_words=len(MARKER.sub(" ", answer).split()),
        **{"short_answer": response.get("short_answer"), **news, **lengths},
    )


MARKER = re.compile(r"\[\d+\]")


def length_checks(response: dict[str, Any], golds: list[str]) -> dict[str, Any]:
    """For an answerable case with gold answers: the gold in the first answer sentence (up to
    its first citation marker), and the short answer against the golds (exact, F1)."""
    if not golds:
        return {}
    refused = bool(response.get("refused"))
    answer = str(response.get("answer") or "")
    first = MARKER.split(answer, maxsplit=1)[0]
    checks: dict[str, Any] = {"first_sentence_gold": not refused and squad_contains(first, golds)}
    if "short_answer" in response:  # a server from before the field: not measured
        short = short_answer_text(response)
        given = short is not None and not refused
        checks["short_answer_match"] = given and squad_normalize(short or "") in {
            squad_normalize(g) for g in golds
        }
        checks["short_answer_f1"] = squad_f1(short or "", golds) if given else 0.0
    return checks


def news_checks(
    case: Case,
    response: dict[str, Any],
    citations: list[dict[str, Any]],
    search: list[dict[str, Any]],
) -> dict[str, Any]:
    """MultiHop-RAG and RGB: gold containment or the yes/no verdict, the short answer, and which
    of the evidence articles the answer cites and the search finds."""
    if not case.answerable:
        return {}
    refused = bool(response.get("refused"))
    checks: dict[str, Any] = {}
    if "short_answer" in response:
        short = response.get("short_answer")
        checks["short_answer"] = short if isinstance(short, dict) else None
        checks["short_answer_match"] = not refused and short_answer_matches(response, case.golds)
    if case.verdict:
        checks["verdict_ok"] = not refused and verdict_of(response) == case.verdict
    else:
        checks["gold_contained"] = not refused and squad_contains(
            str(response.get("answer") or ""), case.golds
        )
    if case.evidence_documents:
        cited = set() if refused else {c["document_id"] for c in citations}
        recall = evidence_recall(cited, case.evidence_documents)
        checks["evidence_recall"] = round(recall, 4)
        checks["all_evidence"] = recall == 1.0
        found = evidence_recall({r["document_id"] for r in search}, case.evidence_documents)
        checks["search_evidence_recall"] = round(found, 4)
    return checks


def newsroom_checks(
    case: Case, answer: str, citations: list[dict[str, Any]], search: list[dict[str, Any]]
) -> dict[str, bool | None]:
    from newsrag.text.sentences import normalize_for_match

    found = normalize_for_match(answer)
    checks: dict[str, bool | None] = {
        "stale": any(normalize_for_match(bad) in found for bad in case.forbid)
        if case.forbid
        else None
    }
    if case.answerable and case.cite:
        checks["right_documents"] = bool(citations) and all(
            c["document_id"] in case.cite for c in citations
        )
    if case.answerable and case.also_in:
        listed = {
            copy["document_id"]
            for c in citations
            if c["document_id"] in case.cite
            for copy in c.get("also_in") or []
        }
        checks["copies_listed"] = set(case.also_in) <= listed
        story = set(case.cite) | set(case.also_in)
        checks["duplicate_free"] = len({r["document_id"] for r in search} & story) <= 1
    if case.correction:
        checks["correction_flagged"] = any(c.get("correction") for c in citations)
    return checks
