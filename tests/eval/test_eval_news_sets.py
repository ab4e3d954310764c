"""The news-RAG benchmark sets (MultiHop-RAG, RGB): loaders, the shared folder, sampling."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from newsrag.eval.dataset import Case, EvalDocument, EvalSet, SetUnavailable, load_sets
from newsrag.eval.news_sets import (
    MULTIHOP_FILE,
    RGB_NAME,
    SHARED_ENV,
    find_shared_file,
    load_multihop_set,
    load_rgb_set,
    shared_candidates,
)

MULTIHOP: dict[str, Any] = {
    "name": "fixture",
    "documents": [
        {
            "document_id": "mhr-001",
            "title": "Cup final",
            "text": "The Reds won the cup. Smith scored twice.",
            "source": "Sporting News",
            "url": "https://example.org/a",
            "published_at": "2023-10-01T10:00:00+00:00",
            "author": "A. Writer",
            "category": "sports",
        },
        {
            "document_id": "mhr-002",
            "title": "Cup final reaction",
            "text": "Smith said the win was for the fans.",
            "source": "The Guardian",
            "url": None,
            "published_at": "2023-10-02T10:00:00+00:00",
            "author": None,
            "category": "sports",
        },
    ],
    "queries": [
        {
            "id": "q-inf",
            "type": "inference",
            "query": "Who scored twice for the cup winners and thanked the fans?",
            "answer": "Smith",
            "evidence": [
                {"document_id": "mhr-001", "fact": "Smith scored twice.", "start": 22, "end": 41},
                {"document_id": "mhr-002", "fact": "Smith said", "start": 0, "end": 10},
                {"document_id": "mhr-001", "fact": "The Reds won the cup.", "start": 0, "end": 21},
            ],
        },
        {
            "id": "q-cmp",
            "type": "comparison",
            "query": "Do both articles mention Smith?",
            "answer": "Yes",
            "evidence": [
                {"document_id": "mhr-001", "fact": "Smith", "start": 22, "end": 27},
                {"document_id": "mhr-002", "fact": "Smith", "start": 0, "end": 5},
            ],
        },
        {
            "id": "q-tmp",
            "type": "temporal",
            "query": "Was the reaction reported before the final?",
            "answer": "no",
            "evidence": [
                {"document_id": "mhr-002", "fact": "Smith", "start": 0, "end": 5},
                {"document_id": "mhr-001", "fact": "Smith", "start": 22, "end": 27},
            ],
        },
        {
            "id": "q-null",
            "type": "null",
            "query": "What did the referee say?",
            "answer": "Insufficient information.",
            "evidence": [],
        },
    ],
}

RGB: dict[str, Any] = {
    "name": "fixture",
    "cases": [
        {
            "id": "rgb-000",
            "query": "Harbour Cup 2031 venue",
            "answers": ["Port Ellis, Norland"],
            "answerable": True,
            "passages": [
                {"k": 0, "text": "Car parks near the quay will shut at noon.", "positive": False},
                {"k": 1, "text": "The final was played in Port Ellis, Norland.", "positive": True},
                {"k": 2, "text": "The 2031 cup moves to Port Ellis, Norland.", "positive": False},
            ],
            "rejection_passages": [
                "Car parks near the quay will shut at noon.",
                "Tickets for the 2032 cup are on sale.",
            ],
        },
        {
            "id": "rgb-001",
            "query": "Who bought Quillchat?",
            "answers": ["Brightwave"],
            "answerable": True,
            "passages": [{"k": 0, "text": "Brightwave bought Quillchat.", "positive": True}],
            "rejection_passages": [],
        },
    ],
}


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_multihop_documents_carry_their_metadata(tmp_path: Path) -> None:
    eval_set = load_multihop_set(_write(tmp_path / "mh.json", MULTIHOP))
    first, second = eval_set.documents
    assert (first.document_id, first.source, first.url) == (
        "mhr-001",
        "Sporting News",
        "https://example.org/a",
    )
    assert first.published_at == "2023-10-01T10:00:00+00:00"
    assert first.metadata == {"author": "A. Writer", "category": "sports"}
    assert second.metadata == {"category": "sports"}  # no author: not sent as "None"


def test_multihop_cases_types_verdicts_and_evidence(tmp_path: Path) -> None:
    cases = {c.id: c for c in load_multihop_set(_write(tmp_path / "mh.json", MULTIHOP)).cases}
    inference = cases["q-inf"]
    assert inference.answerable and inference.golds == ["Smith"] and inference.verdict is None
    # each distinct article once, in the order of the evidence
    assert inference.evidence_documents == [["mhr-001"], ["mhr-002"]]
    assert inference.tags == ["inference", "2-articles"] and inference.stratum == "inference"
    assert cases["q-cmp"].verdict == "yes" and "yes-no" in cases["q-cmp"].tags
    assert cases["q-tmp"].verdict == "no" and cases["q-tmp"].stratum == "temporal"
    null = cases["q-null"]
    assert not null.answerable and null.golds == [] and null.evidence_documents == []
    assert null.tags == ["unanswerable"] and null.stratum == "null"
    assert not any(case.scope for case in cases.values())  # one store for the whole set


def test_bundled_multihop_file_is_whole() -> None:
    eval_set = load_multihop_set(MULTIHOP_FILE)
    assert len(eval_set.documents) == 119
    assert Counter(case.stratum for case in eval_set.cases) == {
        "inference": 50,
        "comparison": 44,
        "temporal": 44,
        "null": 40,
    }
    ids = {document.document_id for document in eval_set.documents}
    for case in eval_set.cases:
        articles = [group[0] for group in case.evidence_documents]
        assert set(articles) <= ids
        assert (2 <= len(articles) <= 4) if case.answerable else not articles


def test_rgb_modes_scopes_and_evidence(tmp_path: Path) -> None:
    eval_set = load_rgb_set(_write(tmp_path / RGB_NAME, RGB))
    cases = {case.id: case for case in eval_set.cases}
    assert list(cases) == ["rgb-000", "rgb-000-rejection", "rgb-001"]
    answerable = cases["rgb-000"]
    assert answerable.answerable and answerable.golds == ["Port Ellis, Norland"]
    assert answerable.scope == ["rgb-000-p0", "rgb-000-p1", "rgb-000-p2"]
    # a negative that holds the answer counts as evidence, one group of interchangeable passages
    assert answerable.evidence_documents == [["rgb-000-p1", "rgb-000-p2"]]
    rejection = cases["rgb-000-rejection"]
    assert not rejection.answerable and rejection.tags == ["rejection"]
    assert rejection.scope == ["rgb-000-n0", "rgb-000-n1"]
    assert rejection.evidence_documents == []
    texts = {document.document_id: document.text for document in eval_set.documents}
    assert texts["rgb-000-n1"] == "Tickets for the 2032 cup are on sale."
    assert set(texts) == {d for case in eval_set.cases for d in case.scope}


def test_rgb_absent_is_skipped_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SHARED_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(SetUnavailable, match=RGB_NAME):
        load_rgb_set()
    skipped: dict[str, str] = {}
    assert load_sets(["rgb"], skipped) == []
    assert SHARED_ENV in skipped["rgb"] and "\n" not in skipped["rgb"]


def test_shared_folder_beside_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SHARED_ENV, raising=False)
    checkout = tmp_path / "newsrag"
    checkout.mkdir()
    path = _write(tmp_path / "shared" / "external" / RGB_NAME, RGB)
    monkeypatch.chdir(checkout)
    assert tmp_path.resolve() / "shared" in shared_candidates()
    assert find_shared_file(RGB_NAME) == path.resolve()
    assert load_sets(["rgb"])[0].cases[0].id == "rgb-000"


def test_shared_folder_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "elsewhere" / "external" / RGB_NAME, RGB)
    monkeypatch.setenv(SHARED_ENV, str(tmp_path / "elsewhere"))
    assert shared_candidates() == [tmp_path / "elsewhere"]
    assert find_shared_file(RGB_NAME) == path


def _case(number: int, answerable: bool, stratum: str | None, scope: bool = False) -> Case:
    return Case(
        id=f"c{number:03d}",
        question=f"question {number}?",
        answerable=answerable,
        document_id="d",
        stratum=stratum,
        scope=[f"c{number:03d}-p"] if scope else [],
    )


def test_sample_is_stratified_by_question_type_and_seeded() -> None:
    kinds = ["inference"] * 50 + ["comparison"] * 44 + ["temporal"] * 44
    cases = [_case(i, True, kind) for i, kind in enumerate(kinds)]
    cases += [_case(200 + i, False, "null") for i in range(40)]
    eval_set = EvalSet("multihop", [], cases)
    sample = eval_set.sample(40)
    assert Counter(case.stratum for case in sample.cases) == {
        "inference": 11,
        "comparison": 10,
        "temporal": 10,
        "null": 9,
    }
    assert [c.id for c in sample.cases] == [c.id for c in eval_set.sample(40).cases]
    order = [c.id for c in cases]
    assert [order.index(c.id) for c in sample.cases] == sorted(
        order.index(c.id) for c in sample.cases
    )
    assert [c.id for c in eval_set.sample(40, seed=1).cases] != [c.id for c in sample.cases]


def test_sample_without_strata_draws_as_before() -> None:
    """Sets without question types sample exactly as the answerability-only sampler did."""
    import random

    cases = [_case(i, i % 3 != 0, None) for i in range(30)]
    rng = random.Random(20261202)
    expected: set[str] = set()
    for answerable in (True, False):
        stratum = [c.id for c in cases if c.answerable is answerable]
        expected.update(rng.sample(stratum, round(10 * len(stratum) / len(cases))))
    sample = EvalSet("article", [], cases).sample(10)
    assert [c.id for c in sample.cases] == [c.id for c in cases if c.id in expected]


def test_sample_keeps_only_the_documents_its_cases_see() -> None:
    cases = [_case(i, i % 2 == 0, None, scope=True) for i in range(10)]
    documents = [EvalDocument("shared", "Shared", "A text all cases see.")]
    documents += [EvalDocument(f"c{i:03d}-p", "P", f"Passage {i}.") for i in range(10)]
    sample = EvalSet("rgb", documents, cases).sample(4)
    kept = {document.document_id for document in sample.documents}
    assert kept == {"shared"} | {d for case in sample.cases for d in case.scope}
    assert len(sample.cases) == 4
