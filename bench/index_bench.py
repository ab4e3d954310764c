"""Time to ready, ask latency, and an ask right after a write, over an ingested archive.

``python -m bench.index_bench --store DIR`` copies the store in ``DIR`` (a NEWSRAG_DATA_DIR that
``newsrag ingest`` filled, e.g. with ``python -m bench.synthetic``) to a temporary folder, serves
it in process (FastAPI's ``TestClient`` over ``create_app``; the heuristic reader, extractive
mode, no LLM) and prints one JSON object:

* ``ready_s``: from creating the app until ``/readyz`` answers 200 (the corpus index is built
  from the store);
* ``first_ask_ms``: the first ``/v1/ask`` after that;
* ``restart_ready_s``, ``restart_first_ask_ms``: the same after a restart, which loads the
  index kept at the first run's shutdown (``NEWSRAG_RETRIEVAL_KEEP_INDEX``);
* ``ask_ms``: ``/v1/ask`` over the next questions (MultiHop-RAG's, whose sentences the archive
  is made of), p50 / p95 / max;
* ``search_ms``: ``/v1/search`` over the same questions;
* ``clients``: ``--clients`` threads asking (then searching) the questions at once: each
  request's p50 / p95 and requests per second;
* ``write_then_ask_ms``: ``--writes`` times, a ``POST /v1/documents`` of a new synthetic article
  and then one ``/v1/ask`` (the ask is timed), p50 / max; ``ask_after_ms`` the ask after that;
* ``replica_write_then_ask_ms``: the same with the write made by another process (a second
  store object over the same Chroma, whose writes this server is not told of: it learns of them
  from the generation token and catches up from the store's change log), ask timed;
* ``rss_mb``: the server's resident memory after those requests (it runs in process);
  ``peak_rss_mb`` the process's peak, the restart included.

The store is copied so that runs do not change it and every run starts from the same archive.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
QUESTIONS_FILE = PROJECT / "newsrag" / "eval" / "data" / "multihop-rag-news-subset.json"


def _figures(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


def _questions(count: int) -> list[str]:
    data = json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))
    return [str(query["query"]) for query in data["queries"][:count]]


def _new_articles(count: int, seed: int = 2025) -> list[dict[str, Any]]:
    """Articles that are not in the archive: a seed of their own, ids of their own."""
    from bench.synthetic import articles

    found = []
    for article in articles(count, seed=seed):
        body = asdict(article)
        body["document_id"] = body["document_id"].replace("synthetic-", "written-")
        body["title"] = "Written " + body["title"]
        found.append(body)
    return found


def _replica_writes(settings: Any, count: int, ask: Any) -> list[float]:
    """``count`` writes by another writer of the same store (not this server's store object,
    so none of its listeners hears of them), each followed by a timed ``ask(number)``."""
    from newsrag.components.embeddings import make_embedder
    from newsrag.components.store.chroma import ChromaStore
    from newsrag.ingest.pipeline import Ingestor
    from newsrag.models import Article

    embedder = make_embedder(settings)
    store = ChromaStore.connect(
        settings.chroma, settings.data_dir, embedder.name, embedder.dimension
    )
    ingestor = Ingestor(store, embedder, settings.chunk, settings.max_document_chars)
    latencies = []
    for number, body in enumerate(_new_articles(count, seed=2026)):
        body["document_id"] = body["document_id"].replace("written-", "replica-")
        ingestor.ingest(Article(**body))
        latencies.append(ask(number))
    return latencies


def _rss_mb() -> int:
    """The process's resident memory now (the first run's server, before the restart)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def _concurrently(call: Any, asked: list[str], clients: int) -> dict[str, float]:
    """``clients`` threads each sending every question: per-request figures and throughput."""
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(call, asked * clients))
    figures = _figures(latencies)
    figures["per_s"] = round(len(latencies) / (time.perf_counter() - began), 1)
    return figures


def run(store: Path, questions: int, writes: int, clients: int = 8) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from newsrag.api.app import create_app
    from newsrag.config import Settings

    asked = _questions(questions + 1)
    with tempfile.TemporaryDirectory(prefix="newsrag-index-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        shutil.copytree(store, data_dir)
        shutil.rmtree(data_dir / "index", ignore_errors=True)  # the first start builds it
        settings = Settings(
            data_dir=data_dir, bootstrap=False, reader="heuristic", answer_mode="extractive"
        )
        started = time.perf_counter()
        with TestClient(create_app(settings)) as client:
            while client.get("/readyz").status_code != 200:
                time.sleep(0.05)
            ready_s = time.perf_counter() - started

            def ask(question: str) -> float:
                began = time.perf_counter()
                response = client.post(
                    "/v1/ask",
                    json={"question": question, "reader": "heuristic", "mode": "extractive"},
                )
                response.raise_for_status()
                return (time.perf_counter() - began) * 1000

            def search(query: str) -> float:
                began = time.perf_counter()
                client.post("/v1/search", json={"query": query, "top_k": 5}).raise_for_status()
                return (time.perf_counter() - began) * 1000

            first = ask(asked[0])
            latencies = [ask(question) for question in asked[1:]]
            searches = [search(question) for question in asked[1:]]
            together = {
                "asks": _concurrently(ask, asked[1:], clients),
                "searches": _concurrently(search, asked[1:], clients),
            }
            after_write: list[float] = []
            next_ask: list[float] = []
            post_ms: list[float] = []
            for number, body in enumerate(_new_articles(writes)):
                began = time.perf_counter()
                client.post("/v1/documents", json=body).raise_for_status()
                post_ms.append((time.perf_counter() - began) * 1000)
                after_write.append(ask(asked[1 + number % questions]))
                next_ask.append(ask(asked[1 + (number + 1) % questions]))
            after_replica = _replica_writes(
                settings, writes, lambda n: ask(asked[1 + n % questions])
            )
            serving_mb = _rss_mb()
        # a restart: the index kept at shutdown is loaded, only what changed since is read
        started = time.perf_counter()
        with TestClient(create_app(settings)) as client:
            while client.get("/readyz").status_code != 200:
                time.sleep(0.05)
            restart_ready_s = time.perf_counter() - started
            restart_first = ask(asked[0])
        return {
            "serving": "in-process TestClient(create_app(settings)), heuristic reader",
            "ready_s": round(ready_s, 2),
            "first_ask_ms": round(first, 1),
            "restart_ready_s": round(restart_ready_s, 2),
            "restart_first_ask_ms": round(restart_first, 1),
            "ask_ms": _figures(latencies),
            "search_ms": _figures(searches),
            "clients": {"count": clients, **together},
            "post_document_ms": _figures(post_ms),
            "write_then_ask_ms": _figures(after_write),
            "ask_after_ms": _figures(next_ask),
            "replica_write_then_ask_ms": _figures(after_replica),
            "rss_mb": serving_mb,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.index_bench", description=__doc__)
    parser.add_argument("--store", type=Path, required=True, help="an ingested NEWSRAG_DATA_DIR")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--writes", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8, help="concurrent askers")
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    os.environ.setdefault("NEWSRAG_LLM_LOCAL", "false")
    figures = run(args.store, args.questions, args.writes, args.clients)
    print(json.dumps({"label": args.label, **figures}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
