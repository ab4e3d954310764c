"""Answer latency of the two readers, side by side, against a real ``newsrag serve``.

The server runs with the bundled article and the supervised local model (the default
Qwen2.5-Coder-1.5B through llama.cpp). The article eval set's questions are asked one at a time,
once with ``"reader": "heuristic"`` and once with ``"reader": "llm"``, in extractive mode; the
figures are p50/p95 of the whole request as a client sees it, with how often the cascade
answered without the model and how many answers refused. Then the LLM reader again with four
clients at once (aggregate answers per minute against one client's), and, with
``--with-ingest``, one client while a ``newsrag ingest`` of synthetic articles runs beside the
server (a newsroom ingests while journalists ask): how many answers passed the read deadline.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.corpus import PROJECT
from bench.ingest_bench import worker_env
from bench.query_bench import _stop, _wait_ready, free_port, newsrag_bin, percentile
from bench.synthetic import write_archive

ARTICLE_CASES = (
    Path(__file__).resolve().parent.parent / "newsrag" / "eval" / "data" / "article.jsonl"
)
LLM_READY_TIMEOUT_S = 300.0
DEADLINE_S = 10.0  # NEWSRAG_READ_DEADLINE_S's default, which the server runs with


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
    clients: int = 1
    per_minute: float = 0.0  # answers per minute, all clients together
    past_deadline: int = 0  # the fast reader answered: the model missed the deadline, or was busy
    over_deadline: int = 0  # requests slower than the read deadline + 1 s


def article_questions(limit: int) -> list[str]:
    rows = [json.loads(line) for line in ARTICLE_CASES.read_text().splitlines() if line.strip()]
    return [row["question"] for row in rows if not row.get("history")][:limit]


def _ask(client: httpx.Client, reader: str, question: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    try:
        response = client.post(
            "/v1/ask", json={"question": question, "mode": "extractive", "reader": reader}
        )
    except httpx.HTTPError:
        return (time.perf_counter() - started) * 1000, {"error": True}
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, response.json() if response.status_code == 200 else {"error": True}


def _measure(
    client: httpx.Client, reader: str, questions: list[str], clients: int = 1
) -> ReaderLatency:
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda q: _ask(client, reader, q), questions))
    wall_s = time.perf_counter() - started
    latencies = [ms for ms, body in results if not body.get("error")]
    bodies = [body for _, body in results if not body.get("error")]
    notes = [str(body.get("note")) for body in bodies]
    return ReaderLatency(
        reader=reader,
        requests=len(latencies),
        errors=len(results) - len(latencies),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        model_share=sum(bool((b.get("reading") or {}).get("model")) for b in bodies)
        / max(len(latencies), 1),
        refused=sum(bool(b.get("refused")) for b in bodies),
        # the model was asked and failed (the cascade's own decisions are not fallbacks)
        fallbacks=sum(reader == "llm" and "LLM reader is unavailable" in n for n in notes)
        - sum(_fast_instead(n) for n in notes),
        clients=clients,
        per_minute=len(latencies) / wall_s * 60 if wall_s else 0.0,
        past_deadline=sum(_fast_instead(n) for n in notes),
        over_deadline=sum(ms > (DEADLINE_S + 1) * 1000 for ms in latencies),
    )


def _fast_instead(note: str) -> bool:
    """The fast reader answered by design: the model missed the deadline or was busy."""
    return "did not answer within" in note or "model is busy" in note


@contextmanager
def ingesting(workdir: Path, articles: int) -> Iterator[subprocess.Popen[bytes]]:
    """A ``newsrag ingest`` of ``articles`` synthetic articles, in its own store, running."""
    archive = workdir / "ingest-archive.jsonl"
    write_archive(archive, articles)
    env = worker_env() | {
        "NEWSRAG_DATA_DIR": str(workdir / "ingest-store"),
        "NEWSRAG_BOOTSTRAP": "false",
        "NEWSRAG_LLM_LOCAL": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "newsrag", "ingest", "-q", str(archive)],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(5)  # the ingest is embedding by now
        if process.poll() is not None:
            raise RuntimeError(f"the ingest beside the server exited early ({process.returncode})")
        yield process
    finally:
        _stop(process)


def run_reader_bench(
    workdir: Path, questions: list[str], with_ingest: int = 0
) -> dict[str, ReaderLatency]:
    """Both readers over the same questions, on one server with the local model; the LLM reader
    again with four clients, and (``with_ingest`` articles) beside a running ingest."""
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
                # each LLM run asks questions the server has not seen: a prompt it cached would
                # flatter the run (prompt evaluation is most of a read)
                first, second, third = (questions[i::3] for i in range(3))
                runs = {reader: _measure(client, reader, first) for reader in ("heuristic", "llm")}
                runs["llm ×4"] = _measure(client, "llm", second, clients=4)
                if with_ingest:
                    with ingesting(workdir, with_ingest) as ingest:
                        runs["llm, ingest running"] = _measure(client, "llm", third)
                        if ingest.poll() is not None:
                            raise RuntimeError("the ingest ended before the questions did")
                return runs
        finally:
            _stop(process)


def reader_section(runs: dict[str, ReaderLatency]) -> list[str]:
    lines = [
        "## Readers: `/v1/ask` latency, one client, bundled article, local 1.5B model",
        "",
        "| run | clients | requests | p50 ms | p95 ms | mean ms | answers/min | model read "
        "| fast reader instead (deadline, busy) | over deadline+1 s | refused | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(
            f"| {name} | {run.clients} | {run.requests} | {run.p50_ms:,.1f} | "
            f"{run.p95_ms:,.1f} | {run.mean_ms:,.1f} | {run.per_minute:,.1f} | "
            f"{run.model_share:.0%} | {run.past_deadline} | {run.over_deadline} | "
            f"{run.refused} | {run.errors + run.fallbacks} |"
        )
    return lines
