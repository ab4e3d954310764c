"""The eval sets: the bundled article's cases, SQuAD 2.0, our newsroom stories, BIPIA; the two
news-RAG benchmarks (MultiHop-RAG, RGB) load in ``eval/news_sets.py``."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

DATA_DIR = Path(__file__).resolve().parent / "data"
ARTICLE_CASES = DATA_DIR / "article.jsonl"
SQUAD_FILE = DATA_DIR / "squad2-dev-small.json"
INJECTION_HOSTS = DATA_DIR / "injection-hosts.json"
NEWSROOM_DIR = DATA_DIR / "newsroom"
BIPIA_FILES = [DATA_DIR / f"bipia-text-attacks-{split}.json" for split in ("train", "test")]


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    question: str
    answerable: bool
    document_id: str
    expect: list[list[str]] = field(default_factory=list)  # all groups, any alternative
    evidence: str | None = None
    tags: list[str] = field(default_factory=list)
    history: list[Turn] = field(default_factory=list)
    span: tuple[int, int] | None = None  # where the supporting evidence lies in the document
    restrict: bool = False  # ask with document_ids=[document_id]
    attack: str | None = None  # a planted prompt-injection instruction (bipia set)
    # newsroom set: strings a stale or wrong-date answer would contain; documents the citations
    # must come from; other wire copies the citations must list; a correction must be flagged
    forbid: list[str] = field(default_factory=list)
    cite: list[str] = field(default_factory=list)
    also_in: list[str] = field(default_factory=list)
    correction: bool = False
    request: dict[str, str] = field(default_factory=dict)  # as_of, published_after/before
    # news-RAG benchmarks: acceptable answers (any one); "yes"/"no" when the gold is a verdict;
    # the documents the answer rests on (every group cited by one of its members); the sampling
    # stratum (question type); the documents this case alone sees, in a store of its own
    golds: list[str] = field(default_factory=list)
    verdict: str | None = None
    evidence_documents: list[list[str]] = field(default_factory=list)
    stratum: str | None = None
    scope: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EvalDocument:
    document_id: str
    title: str
    text: str
    source: str | None = None
    published_at: str | None = None
    url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


class SetUnavailable(Exception):
    """A set whose data is not here (a licence keeps it out of the package): skipped, noted."""


@dataclass(frozen=True, slots=True)
class EvalSet:
    name: str
    documents: list[EvalDocument]
    cases: list[Case]

    def only(self, case_ids: list[str]) -> EvalSet:
        """The cases named (a run's fixed case list), in the set's order; documents only the
        others would have seen are left out with them."""
        wanted = set(case_ids)
        return self._keeping({c.id for c in self.cases if c.id in wanted})

    def _keeping(self, chosen: set[str]) -> EvalSet:
        cases = [c for c in self.cases if c.id in chosen]
        kept = {document_id for case in cases for document_id in case.scope}
        dropped = {d for case in self.cases if case.id not in chosen for d in case.scope} - kept
        documents = [d for d in self.documents if d.document_id not in dropped]
        return EvalSet(self.name, documents, cases)

    def sample(self, size: int, seed: int = 20261202) -> EvalSet:
        """A seeded sample of ``size`` cases, stratified by answerability and then by each case's
        stratum (question type) where the set has them, in the set's order."""
        if size >= len(self.cases):
            return self
        rng = random.Random(seed)
        chosen: set[str] = set()
        for answerable in (True, False):
            group = [case for case in self.cases if case.answerable is answerable]
            for name in sorted({case.stratum or "" for case in group}):
                stratum = [case.id for case in group if (case.stratum or "") == name]
                share = round(size * len(stratum) / len(self.cases))
                chosen.update(rng.sample(stratum, min(share, len(stratum))))
        return self._keeping(chosen)


def load_article_set(path: Path = ARTICLE_CASES) -> EvalSet:
    from newsrag.ingest.bundled import BUNDLED_ID, bundled_article

    article = bundled_article()
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        cases.append(
            Case(
                id=raw["id"],
                question=raw["question"],
                answerable=bool(raw["answerable"]),
                document_id=BUNDLED_ID,
                expect=raw.get("expect") or [],
                evidence=raw.get("evidence"),
                tags=list(raw.get("tags") or []),
                history=[Turn(t["role"], t["content"]) for t in raw.get("history") or []],
                span=_find(article.text, raw.get("evidence")),
            )
        )
    document = EvalDocument(
        BUNDLED_ID, article.title, article.text, article.source, article.published_at
    )
    return EvalSet("article", [document], cases)


def load_squad_set(path: Path = SQUAD_FILE) -> EvalSet:
    """SQuAD 2.0 in its official format; each Wikipedia article becomes one document whose
    paragraphs are joined by blank lines (so the gold answer offsets shift, the texts do not)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    documents: list[EvalDocument] = []
    cases: list[Case] = []
    for article in data["data"]:
        document_id = (
            "squad-" + "".join(c if c.isalnum() else "-" for c in article["title"]).lower()
        )
        paragraphs = [p["context"] for p in article["paragraphs"]]
        documents.append(EvalDocument(document_id, article["title"], "\n\n".join(paragraphs)))
        offset = 0
        for paragraph in article["paragraphs"]:
            paragraph_offset, offset = offset, offset + len(paragraph["context"]) + 2
            for qa in paragraph["qas"]:
                unanswerable = bool(qa.get("is_impossible")) or not qa.get("answers")
                golds = sorted({a["text"] for a in qa.get("answers", [])})
                cases.append(
                    Case(
                        id=qa["id"],
                        question=qa["question"],
                        answerable=not unanswerable,
                        document_id=document_id,
                        expect=[golds] if golds else [],
                        evidence=None,
                        tags=["unanswerable"] if unanswerable else ["answerable"],
                        span=_answer_span(paragraph_offset, qa.get("answers") or []),
                    )
                )
    return EvalSet("squad", documents, cases)


def load_bipia_set() -> EvalSet:
    """Each BIPIA instruction planted as its own paragraph in the middle of a news story; the
    question is an ordinary one about the story. Generative mode only (see eval/runner.py)."""
    hosts = json.loads(INJECTION_HOSTS.read_text(encoding="utf-8"))
    attacks = [
        (category, instruction)
        for path in BIPIA_FILES
        for category, instructions in json.loads(path.read_text(encoding="utf-8")).items()
        for instruction in instructions
    ]
    documents: list[EvalDocument] = []
    cases: list[Case] = []
    for number, (category, instruction) in enumerate(attacks):
        host = hosts[number % len(hosts)]
        document_id = f"bipia-{number:03d}"
        text = "\n\n".join([host["title"], host["before"], instruction, host["after"]])
        documents.append(EvalDocument(document_id, host["title"], text, "newsrag eval"))
        cases.append(
            Case(
                id=document_id,
                question=host["question"],
                answerable=True,
                document_id=document_id,
                tags=["injection", category],
                restrict=True,
                attack=instruction,
            )
        )
    return EvalSet("bipia", documents, cases)


def load_newsroom_set(directory: Path = NEWSROOM_DIR) -> EvalSet:
    """Stories of our own making for dates, wire copies and corrections. Documents are ingested
    in file order; an id that appears twice is a correction (its later text replaces the
    earlier one)."""
    documents = [
        EvalDocument(
            document_id=raw["document_id"],
            title=raw["title"],
            text=raw["text"],
            source=raw.get("source"),
            published_at=raw.get("published_at"),
            url=raw.get("url"),
        )
        for raw in _jsonl(directory / "documents.jsonl")
    ]
    final = {document.document_id: document.text for document in documents}
    cases = []
    for raw in _jsonl(directory / "cases.jsonl"):
        cite = list(raw.get("cite") or [])
        document_id = cite[0] if cite else ""
        cases.append(
            Case(
                id=raw["id"],
                question=raw["question"],
                answerable=bool(raw["answerable"]),
                document_id=document_id,
                expect=raw.get("expect") or [],
                evidence=raw.get("evidence"),
                tags=list(raw.get("tags") or []),
                history=[Turn(t["role"], t["content"]) for t in raw.get("history") or []],
                span=_find(final.get(document_id, ""), raw.get("evidence")),
                forbid=list(raw.get("forbid") or []),
                cite=cite,
                also_in=list(raw.get("also_in") or []),
                correction=bool(raw.get("correction")),
                request={
                    key: raw[key]
                    for key in ("as_of", "published_after", "published_before")
                    if raw.get(key)
                },
            )
        )
    return EvalSet("newsroom", documents, cases)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


SET_NAMES = ("article", "squad", "newsroom", "bipia", "multihop", "rgb")


def load_sets(
    names: list[str] | None = None, skipped: dict[str, str] | None = None
) -> list[EvalSet]:
    """The named sets. A set whose data is absent raises ``SetUnavailable``, or, given
    ``skipped``, is left out with its one-line note recorded there."""
    from newsrag.eval.news_sets import load_multihop_set, load_rgb_set

    loaders: dict[str, Callable[[], EvalSet]] = {
        "article": load_article_set,
        "squad": load_squad_set,
        "newsroom": load_newsroom_set,
        "bipia": load_bipia_set,
        "multihop": load_multihop_set,
        "rgb": load_rgb_set,
    }
    chosen = names or ["article", "squad", "newsroom"]
    unknown = [name for name in chosen if name not in loaders]
    if unknown:
        raise ValueError(
            f"unknown eval set(s): {', '.join(unknown)} (choose from {', '.join(loaders)})"
        )
    sets = []
    for name in chosen:
        try:
            sets.append(loaders[name]())
        except SetUnavailable as missing:
            if skipped is None:
                raise
            skipped[name] = str(missing)
    return sets


def _find(text: str, evidence: str | None) -> tuple[int, int] | None:
    start = text.find(evidence) if evidence else -1
    return (start, start + len(evidence or "")) if start >= 0 else None


def _answer_span(paragraph_offset: int, answers: list[dict[str, object]]) -> tuple[int, int] | None:
    if not answers:
        return None
    first = answers[0]
    start = paragraph_offset + int(str(first["answer_start"]))
    return start, start + len(str(first["text"]))
