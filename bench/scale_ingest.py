"""Ingest at archive scale, against the embedder alone on the same text.

``python -m bench.scale_ingest --articles 1000,5000`` writes the seeded synthetic archive of
each size (``bench.synthetic``), then, each in a fresh process on this machine:

* the embedder alone (the local int8 MiniLM, batches as ingest makes them) over every sentence
  of the first ``--embedder-articles`` articles: sentences/s, the physical limit of ingest;
* ``newsrag ingest -q ARCHIVE.jsonl`` into an empty data dir (the user's path: loading,
  chunking, embedding, MinHash, store writes and commits), wall time of the whole process.

It prints one JSON object a size: ingest articles/s, MB/s (UTF-8 bytes of article text),
sentences/s, and ingest as a fraction of the embedder's sentences/s. Run it on an otherwise idle
machine (the figures are only comparable between runs that had the CPU to themselves).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.ingest_bench import worker_env
from bench.synthetic import write_archive

PROJECT = Path(__file__).resolve().parent.parent


def sentences_of_archive(archive: Path, limit: int | None = None) -> list[str]:
    from newsrag.ingest.loaders import load_path
    from newsrag.text.chunking import sentences_of

    articles = load_path(archive)[:limit]
    return [a.text[s.start : s.end] for a in articles for s in sentences_of(a.text)]


def embed_only(archive: Path, articles: int) -> dict[str, Any]:
    """The embedder alone over the sentences of the first ``articles`` articles, fed in calls
    of about one ingest batch (32 articles) of sentences."""
    from newsrag.components.embeddings.onnx import OnnxMiniLMEmbedder

    texts = sentences_of_archive(archive, articles)
    embedder = OnnxMiniLMEmbedder()
    embedder.embed(["warm up"] * 8)
    step = max(1, len(texts) * 32 // articles)
    started = time.perf_counter()
    for offset in range(0, len(texts), step):
        embedder.embed(texts[offset : offset + step])
    seconds = time.perf_counter() - started
    return {"sentences": len(texts), "seconds": round(seconds, 2), "per_s": len(texts) / seconds}


def run_ingest(archive: Path, workdir: Path) -> float:
    env = worker_env() | {"NEWSRAG_DATA_DIR": str(workdir / "data"), "NEWSRAG_BOOTSTRAP": "false"}
    env["NEWSRAG_LLM_LOCAL"] = "false"
    command = [sys.executable, "-m", "newsrag", "ingest", "-q", str(archive)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"newsrag ingest failed:\n{done.stderr[-3000:]}")
    return seconds


def measure(size: int, embedder_articles: int, workdir: Path) -> dict[str, Any]:
    archive = workdir / f"archive-{size}.jsonl"
    write_archive(archive, size)
    text_bytes = sum(len(t.encode()) for t in _texts(archive))
    sentences = len(sentences_of_archive(archive))
    sample = min(size, embedder_articles)
    command = [sys.executable, "-m", "bench.scale_ingest", "--embed-only", str(archive)]
    done = subprocess.run(
        [*command, "--embedder-articles", str(sample)],
        env=worker_env(),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    embedder = json.loads(done.stdout)
    seconds = run_ingest(archive, workdir)
    return {
        "articles": size,
        "sentences": sentences,
        "text_mb": round(text_bytes / 1e6, 2),
        "ingest_s": round(seconds, 1),
        "ingest_articles_per_s": round(size / seconds, 2),
        "ingest_mb_per_s": round(text_bytes / 1e6 / seconds, 4),
        "ingest_sentences_per_s": round(sentences / seconds, 1),
        "embedder_alone_sentences_per_s": round(embedder["per_s"], 1),
        "embedder_alone_articles_measured": sample,
        "ingest_fraction_of_embedder": round(sentences / seconds / embedder["per_s"], 3),
    }


def _texts(archive: Path) -> list[str]:
    lines = archive.read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_ingest", description=__doc__)
    parser.add_argument("--articles", default="1000", help="sizes, comma-separated")
    parser.add_argument("--embedder-articles", type=int, default=1000)
    parser.add_argument("--embed-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.embed_only:
        print(json.dumps(embed_only(args.embed_only, args.embedder_articles)))
        return 0
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-ingest-") as tmp:
        for size in (int(s) for s in args.articles.split(",")):
            workdir = Path(tmp) / str(size)
            workdir.mkdir()
            print(json.dumps(measure(size, args.embedder_articles, workdir)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
