"""A synthetic news archive of any size, recombined from MultiHop-RAG's bundled articles.

``python -m bench.synthetic --articles 1000 --out archive.jsonl`` writes one JSON object a line
(``document_id``, ``title``, ``text``, ``source``, ``url``, ``published_at``), ready for
``newsrag ingest``. Each article is a run of paragraphs built from whole sentences of the
corpus, drawn with a seeded generator: the same seed and size give the same file, byte for
byte. Ids, titles, sources, urls and dates are distinct per article, so nothing is grouped as a
wire copy by accident more than real news would be, and dates spread over two years so that
time words in questions have something to filter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CORPUS_FILE = PROJECT / "newsrag" / "eval" / "data" / "multihop-rag-news-subset.json"
# the measured archive of issue 25 averaged about 6,200 characters an article
MEAN_CHARS = 6_200
SOURCES = (
    "The Harbour Gazette",
    "Northern Ledger",
    "Evening Dispatch",
    "Coastal Times",
    "Metro Wire",
    "Valley Courier",
    "Daily Register",
    "The Observer Post",
)
FIRST_DAY = dt.date(2022, 1, 1)
DAYS = 730
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]?\s+(?=[A-Z“\"‘(0-9])")


@dataclass(frozen=True, slots=True)
class SyntheticArticle:
    document_id: str
    title: str
    text: str
    source: str
    url: str
    published_at: str


def corpus_sentences(path: Path = CORPUS_FILE) -> list[list[str]]:
    """The sentences of each paragraph of each bundled article, in order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: list[list[str]] = []
    for document in data["documents"]:
        for paragraph in str(document["text"]).split("\n"):
            sentences = [s.strip() for s in _SENTENCE_END.split(paragraph.strip()) if s.strip()]
            if len(sentences) >= 1 and sum(map(len, sentences)) >= 80:
                paragraphs.append(sentences)
    return paragraphs


def articles(count: int, seed: int = 25) -> Iterator[SyntheticArticle]:
    """``count`` articles, the same ones for the same seed."""
    rng = random.Random(seed)
    paragraphs = corpus_sentences()
    for number in range(count):
        target = max(800, int(rng.gauss(MEAN_CHARS, MEAN_CHARS / 3)))
        body: list[str] = []
        size = 0
        start = rng.randrange(len(paragraphs))
        while size < target:
            # mostly consecutive paragraphs (prose that reads on), sometimes a jump elsewhere
            if rng.random() < 0.3:
                start = rng.randrange(len(paragraphs))
            sentences = paragraphs[start % len(paragraphs)]
            start += 1
            keep = sentences if rng.random() < 0.7 else rng.sample(sentences, len(sentences))
            paragraph = " ".join(keep)
            body.append(paragraph)
            size += len(paragraph) + 2
        lead = body[0].split(". ")[0].rstrip(".")
        words = lead.split()[:12]
        title = f"{' '.join(words)} ({number + 1:06d})"
        source = SOURCES[number % len(SOURCES)]
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        slug = f"synthetic-{number + 1:06d}"
        yield SyntheticArticle(
            document_id=slug,
            title=title,
            text="\n\n".join(body),
            source=source,
            url=f"https://news.example/{source.lower().replace(' ', '-')}/{slug}",
            published_at=day.isoformat(),
        )


def write_archive(path: Path, count: int, seed: int = 25) -> int:
    """Write ``count`` articles as JSON lines; the number of characters of text written."""
    total = 0
    with path.open("w", encoding="utf-8") as out:
        for article in articles(count, seed):
            out.write(json.dumps(asdict(article), ensure_ascii=False) + "\n")
            total += len(article.text)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synthetic", description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    chars = write_archive(args.out, args.articles, args.seed)
    print(f"{args.articles} articles, {chars / 1e6:.1f} M characters → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
