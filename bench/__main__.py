"""``python -m bench``: stock LangChain vs newsrag ingest, the embedding floor, query latency.

Prints a markdown report to stdout (progress goes to stderr) and writes the figures to
``bench/results/latest.json``. ``--quick`` uses a ~50 kB corpus and few requests (a smoke run);
``--size 10`` repeats the corpus ten times; ``--only`` runs some of the phases. ``scale``
(``bench.scale``) ingests and serves a synthetic archive of each ``--articles`` size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.corpus import (
    base_documents,
    build_corpus,
    cl100k_tokens,
    questions,
    split_documents,
    write_corpus,
)
from bench.ingest_bench import FloorRun, IngestRun, run_floor, run_ingest
from bench.query_bench import ColdStart, ServerRun, cold_start, run_server_bench
from bench.reader_bench import ReaderLatency, article_questions, reader_section, run_reader_bench
from bench.report import CorpusFacts, render
from bench.scale import run_scale, scale_section

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PHASES = ("ingest", "floor", "query", "readers", "scale")
DEFAULT_PHASES = PHASES[:-1]
VERSIONED = (
    "chromadb",
    "onnxruntime",
    "torch",
    "sentence-transformers",
    "transformers",
    "tokenizers",
    "tiktoken",
    "langchain-text-splitters",
    "langchain-huggingface",
    "langchain-chroma",
    "fastapi",
    "uvicorn",
    "httpx",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1, help="corpus copies (1 ≈ 500 kB, 10 ≈ 5 MB)")
    parser.add_argument("--quick", action="store_true", help="~50 kB corpus, few requests")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=PHASES,
        default=list(DEFAULT_PHASES),
        help="phases to run (scale only when named: it ingests whole archives)",
    )
    parser.add_argument(
        "--floor-chunks", type=int, default=1000, help="floor: at most this many chunks (0 = all)"
    )
    parser.add_argument("--query-docs", type=int, default=None, help="documents for the server")
    parser.add_argument("--rounds", type=int, default=None, help="1-client passes over questions")
    parser.add_argument("--requests", type=int, default=None, help="concurrent requests/endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cold-runs", type=int, default=None, help="timed `newsrag ask` runs")
    parser.add_argument(
        "--reader-questions", type=int, default=None, help="readers: article questions asked"
    )
    parser.add_argument(
        "--with-ingest",
        type=int,
        nargs="?",
        const=1000,
        default=0,
        help="readers: also ask while `newsrag ingest` of this many articles runs (1000)",
    )
    parser.add_argument(
        "--articles",
        default="1000,10000",
        help="scale: archive sizes, comma-separated (100000 takes about 5 hours to ingest here)",
    )
    parser.add_argument(
        "--embedder-articles", type=int, default=1000, help="scale: articles the embedder reads"
    )
    parser.add_argument("--clients", type=int, default=8, help="scale: concurrent clients")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be at least 1")
    try:
        args.articles = [int(size) for size in str(args.articles).split(",")]
    except ValueError:
        parser.error("--articles must be sizes separated by commas, e.g. 1000,10000")
    if any(size < 1 for size in args.articles):
        parser.error("--articles: every size must be at least 1")
    quick = bool(args.quick)
    args.query_docs = args.query_docs or (20 if quick else 100)
    args.rounds = args.rounds or (1 if quick else 2)
    args.requests = args.requests or (64 if quick else 400)
    args.cold_runs = args.cold_runs or (1 if quick else 3)
    args.reader_questions = args.reader_questions or (15 if quick else 81)
    args.out = args.out or RESULTS_DIR / ("quick.json" if quick else "latest.json")
    return args


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_facts() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "versions": versions,
        "load_start": _load(),
    }


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    machine = machine_facts()
    documents = build_corpus(args.size, quick=args.quick)
    texts = [d.text for d in documents]
    corpus = CorpusFacts(
        size=args.size,
        quick=args.quick,
        documents=len(documents),
        chars=sum(len(t) for t in texts),
        cl100k_tokens=cl100k_tokens(texts),
    )
    progress(
        f"corpus: {corpus.documents} documents, {corpus.chars:,} chars, "
        f"{corpus.cl100k_tokens:,} cl100k tokens"
    )
    ingest: dict[str, IngestRun] = {}
    floor: FloorRun | None = None
    server: ServerRun | None = None
    cold: ColdStart | None = None
    readers: dict[str, ReaderLatency] = {}
    scale: list[dict[str, Any]] = []

    workdir = Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    try:
        corpus_file = workdir / "corpus.json"
        write_corpus(documents, corpus_file)
        if "ingest" in args.only:
            for kind in ("stock", "newsrag"):
                progress(f"ingest: {kind} pipeline in a fresh process")
                ingest[kind] = run_ingest(kind, corpus_file, workdir)
                progress(f"ingest: {kind} took {ingest[kind].seconds:.1f} s")
        if "floor" in args.only:
            progress("floor: ONNX int8 and float compute, sentence-transformers fp32, stock chunks")
            floor = run_floor(corpus_file, workdir, args.floor_chunks)
        if "query" in args.only:
            served = split_documents(base_documents(quick=args.quick), args.query_docs)
            progress(f"query: newsrag serve, {len(served)} documents over HTTP")
            server = run_server_bench(
                workdir,
                served,
                questions(),
                rounds=args.rounds,
                concurrent_requests=args.requests,
                concurrency=args.concurrency,
            )
            progress("query: cold start of `newsrag ask`")
            cold = cold_start(workdir, args.cold_runs)
        if "readers" in args.only:
            progress(f"readers: heuristic and llm, {args.reader_questions} article questions each")
            readers = run_reader_bench(
                workdir, article_questions(args.reader_questions), args.with_ingest
            )
        if "scale" in args.only:
            scale = run_scale(
                args.articles, workdir, args.embedder_articles, args.clients, progress
            )
    finally:
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.perf_counter() - started
    machine["load_end"] = _load()
    text = render(command, machine, corpus, ingest, floor, server, cold, elapsed)
    sections = [*(reader_section(readers) if readers else []), *scale_section(scale)]
    print("\n".join([text, *sections]))
    ratio = (
        ingest["newsrag"].seconds / ingest["stock"].seconds
        if {"stock", "newsrag"} <= ingest.keys()
        else None
    )
    write_json(
        args.out,
        {
            "command": command,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "elapsed_s": elapsed,
            "machine": machine,
            "corpus": asdict(corpus),
            "ingest": {kind: asdict(run) for kind, run in ingest.items()},
            "ingest_time_ratio_newsrag_over_stock": ratio,
            "floor": asdict(floor) if floor else None,
            "query": asdict(server) if server else None,
            "cold_start": asdict(cold) if cold else None,
            "readers": {name: asdict(run) for name, run in readers.items()} or None,
            "scale": scale or None,
        },
    )
    progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
