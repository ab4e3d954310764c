"""Answer latency of the two readers, side by side, against a real ``newsrag serve``.

The server runs with the bundled article and the supervised local model (the default
Qwen2.5-Coder-1.5B through llama.cpp). The article eval set's questions are asked one at a time,
once with ``"reader": "heuristic"`` and once with ``"reader": "llm"``, in extractive mode; the
figures are p50/p95 of the whole request as a client sees it, with how often the cascade
answered without the model and how many answers refused.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.ingest_bench import worker_env
from bench.query_bench import _stop, _wait_ready, free_port, newsrag_bin, percentile

ARTICLE_CASES = (
    Path(__file__).resolve().parent.parent / "newsrag" / "eval" / "data" / "article.jsonl"
)
LLM_READY_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class ReaderLatency:
    reader: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    model_share: float  # answers the model read (the rest: the cascade's fast path)
    refused: int
    fallbacks: int  # the model was asked for and the fast scorer answered (an LLM failure)


def article_questions(limit: int) -> list[str]:
    rows = [json.loads(line) for line in ARTICLE_CASES.read_text().splitlines() if line.strip()]
    return [row["question"] for row in rows if not row.get("history")][:limit]


def _measure(client: httpx.Client, reader: str, questions: list[str]) -> ReaderLatency:
    latencies: list[float] = []
    errors = model = refused = fallbacks = 0
    for question in questions:
        started = time.perf_counter()
        try:
            response = client.post(
                "/v1/ask", json={"question": question, "mode": "extractive", "reader": reader}
            )
        except httpx.HTTPError:
            errors += 1
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            errors += 1
            continue
        body = response.json()
        reading = body.get("reading") or {}
        model += bool(reading.get("model"))
        refused += bool(body.get("refused"))
        # the model was asked and failed (the cascade's own decisions are not fallbacks)
        fallbacks += reader == "llm" and "LLM reader is unavailable" in str(body.get("note"))
    return ReaderLatency(
        reader=reader,
        requests=len(latencies),
        errors=errors,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        model_share=model / max(len(latencies), 1),
        refused=refused,
        fallbacks=fallbacks,
    )


def run_reader_bench(workdir: Path, questions: list[str]) -> dict[str, ReaderLatency]:
    """Both readers over the same questions, on one server with the local model."""
    port = free_port()
    env = worker_env()
    env.update(
        NEWSRAG_DATA_DIR=str(workdir / "reader-store"),
        NEWSRAG_EMBEDDINGS="local",
        NEWSRAG_EMBEDDINGS_QUERY_CACHE_SIZE="0",
        NEWSRAG_LLM_LOCAL="true",
        NEWSRAG_LLM_ON_ERROR="extractive",
    )
    env.pop("NEWSRAG_LLM_BASE_URL", None)
    log_path = workdir / "reader-server.log"
    command = [str(newsrag_bin()), "serve", "--host", "127.0.0.1", "--port", str(port)]
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--log-level", "warning"],
            cwd=workdir,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(base_url, process, log_path, started)
            with httpx.Client(base_url=base_url, timeout=LLM_READY_TIMEOUT_S) as client:
                client.post("/v1/ask", json={"question": questions[0], "reader": "llm"})  # warm
                return {
                    reader: _measure(client, reader, questions) for reader in ("heuristic", "llm")
                }
        finally:
            _stop(process)


def reader_section(runs: dict[str, ReaderLatency]) -> list[str]:
    lines = [
        "## Readers: `/v1/ask` latency, one client, bundled article, local 1.5B model",
        "",
        "| reader | requests | p50 ms | p95 ms | mean ms | model read | refused | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs.values():
        lines.append(
            f"| {run.reader} | {run.requests} | {run.p50_ms:,.1f} | {run.p95_ms:,.1f} | "
            f"{run.mean_ms:,.1f} | {run.model_share:.0%} | {run.refused} | "
            f"{run.errors + run.fallbacks} |"
        )
    return lines
