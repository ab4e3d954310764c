"""Two public news-RAG benchmarks as eval sets: MultiHop-RAG (bundled, ODC-BY 1.0) and RGB (read
from ``../shared`` at eval time: its CC BY-NC-SA 4.0 licence forbids bundling it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from newsrag.eval.dataset import DATA_DIR, Case, EvalDocument, EvalSet, SetUnavailable
from newsrag.eval.metrics import squad_contains, squad_normalize

MULTIHOP_FILE = DATA_DIR / "multihop-rag-news-subset.json"
RGB_NAME = "rgb-en-fact-subset.json"
SHARED_ENV = "NEWSRAG_SHARED_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shared_candidates() -> list[Path]:
    """Where the shared folder may be: ``$NEWSRAG_SHARED_DIR`` when set (a worktree or a CI
    checkout elsewhere), else ``../shared`` beside the working directory or the project root."""
    explicit = os.environ.get(SHARED_ENV, "").strip()
    if explicit:
        return [Path(explicit).expanduser()]
    candidates: list[Path] = []
    for root in (Path.cwd(), _PROJECT_ROOT):
        candidate = root.resolve().parent / "shared"
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates


def find_shared_file(name: str, candidates: list[Path] | None = None) -> Path | None:
    for folder in shared_candidates() if candidates is None else candidates:
        path = folder / "external" / name
        if path.is_file():
            return path
    return None


def _verdict(answer: str) -> str | None:
    normalised = squad_normalize(answer)
    return normalised if normalised in ("yes", "no") else None


def load_multihop_set(path: Path = MULTIHOP_FILE) -> EvalSet:
    """MultiHop-RAG: every article one document (title, source, date, url; author and category as
    metadata), every query asked over all of them. Yes/no golds are scored as verdicts, the
    others by containment; the evidence is each distinct article the gold facts come from."""
    data = json.loads(path.read_text(encoding="utf-8"))
    documents = [
        EvalDocument(
            document_id=raw["document_id"],
            title=raw["title"],
            text=raw["text"],
            source=raw.get("source"),
            published_at=raw.get("published_at"),
            url=raw.get("url"),
            metadata={key: str(raw[key]) for key in ("author", "category") if raw.get(key)},
        )
        for raw in data["documents"]
    ]
    cases = []
    for raw in data["queries"]:
        kind = str(raw["type"])
        articles = list(dict.fromkeys(e["document_id"] for e in raw.get("evidence") or []))
        answerable = kind != "null"
        verdict = _verdict(raw["answer"]) if answerable else None
        tags = [kind, f"{len(articles)}-articles"] if answerable else ["unanswerable"]
        if verdict:
            tags.append("yes-no")
        cases.append(
            Case(
                id=raw["id"],
                question=raw["query"],
                answerable=answerable,
                document_id=articles[0] if articles else "",
                tags=tags,
                golds=[raw["answer"]] if answerable else [],
                verdict=verdict,
                evidence_documents=[[article] for article in articles],
                stratum=kind,
            )
        )
    return EvalSet("multihop", documents, cases)


def load_rgb_set(path: Path | None = None) -> EvalSet:
    """RGB (English, fact subset), in its two modes. Each question is asked over a fresh store
    holding only its own passages, each passage one document, as the benchmark hands a reader
    exactly its passages: answer-bearing plus distractor passages (expected: an answer holding
    one of the alternatives), and, for 93 questions, distractors only (expected: refusal).
    Raises ``SetUnavailable`` when the file is not in the shared folder."""
    path = path or find_shared_file(RGB_NAME)
    if path is None or not path.is_file():
        looked = ", ".join(str(folder / "external") for folder in shared_candidates())
        raise SetUnavailable(
            f"{RGB_NAME} not in {looked} (set {SHARED_ENV} to the shared folder; its "
            "CC BY-NC-SA 4.0 licence keeps it out of the package)"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    documents: list[EvalDocument] = []
    cases: list[Case] = []
    for raw in data["cases"]:
        golds = [str(answer) for answer in raw["answers"]]
        scope, bearing = [], []
        for passage in raw["passages"]:
            document_id = f"{raw['id']}-p{passage['k']}"
            documents.append(_passage(document_id, passage["text"]))
            scope.append(document_id)
            # RGB's negatives sometimes hold the answer too: citing one is citing evidence
            if passage["positive"] or squad_contains(passage["text"], golds):
                bearing.append(document_id)
        if raw.get("answerable", True):
            cases.append(
                Case(
                    id=raw["id"],
                    question=raw["query"],
                    answerable=True,
                    document_id=bearing[0] if bearing else scope[0],
                    tags=["answerable"],
                    golds=golds,
                    evidence_documents=[bearing],
                    stratum="answerable",
                    scope=scope,
                )
            )
        negatives = raw.get("rejection_passages") or []
        if negatives:
            scope = [f"{raw['id']}-n{k}" for k in range(len(negatives))]
            documents.extend(map(_passage, scope, negatives))
            cases.append(
                Case(
                    id=f"{raw['id']}-rejection",
                    question=raw["query"],
                    answerable=False,
                    document_id=scope[0],
                    tags=["rejection"],
                    golds=golds,
                    stratum="rejection",
                    scope=scope,
                )
            )
    return EvalSet("rgb", documents, cases)


def _passage(document_id: str, text: str) -> EvalDocument:
    return EvalDocument(document_id, f"RGB passage {document_id}", text, "RGB search result")
