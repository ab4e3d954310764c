"""Query latency and throughput against a real ``newsrag serve``, and the CLI's cold start.

The server runs as its own process (``newsrag serve`` with a temporary ``NEWSRAG_DATA_DIR``,
no bootstrap, the local ONNX embedder, no API keys and no rate limit), so that the load generator
does not share a GIL with it. Documents are ingested over HTTP; then ``/v1/search`` and
``/v1/ask`` (extractive) are timed with one client, and with 16 concurrent clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.corpus import Document
from bench.ingest_bench import worker_env

COLD_QUESTION = "What did the Kremlin say about the reports?"
READY_TIMEOUT_S = 180.0


@dataclass(frozen=True, slots=True)
class Latency:
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    mean_ms: float


@dataclass(frozen=True, slots=True)
class Throughput:
    requests: int
    concurrency: int
    seconds: float
    requests_per_s: float
    errors: int
    p50_ms: float
    p95_ms: float
    error_kinds: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ColdStart:
    question: str
    first_run_s: float  # the store is empty: includes ingesting the bundled article
    runs_s: list[float]  # the store already holds the bundled article
    median_s: float
    answer_head: str


@dataclass(frozen=True, slots=True)
class ServerRun:
    documents: int
    document_chars: int
    questions: int
    server_ready_s: float
    http_ingest_s: float
    http_ingest_chunks: int
    http_ingest_errors: int
    first_search_ms: float
    first_ask_ms: float
    sequential: dict[str, Latency]
    concurrent: dict[str, Throughput]
    server_peak_rss_mb: float | None


def newsrag_bin() -> Path:
    """The ``newsrag`` console script next to this interpreter (not resolved: the venv's)."""
    return Path(sys.executable).parent / "newsrag"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def server_env(data_dir: Path, *, bootstrap: bool) -> dict[str, str]:
    env = worker_env()
    # The questions repeat (40 of them, round after round): the question-vector cache is turned
    # off so that every request pays for embedding its question, as a new question would.
    env.update(
        NEWSRAG_DATA_DIR=str(data_dir),
        NEWSRAG_EMBEDDINGS="local",
        NEWSRAG_EMBEDDINGS_QUERY_CACHE_SIZE="0",
        NEWSRAG_LLM_LOCAL="false",  # the extractive path is measured; no model to load at start
    )
    if not bootstrap:
        env["NEWSRAG_BOOTSTRAP"] = "false"
    return env


@contextlib.contextmanager
def running_server(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """``newsrag serve`` on a free port; yields its base URL, process and seconds to ready."""
    port = free_port()
    data_dir = workdir / "server-store"
    log_path = workdir / "server.log"
    command = [str(newsrag_bin()), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning"]
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=server_env(data_dir, bootstrap=False),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            ready = _wait_ready(base_url, process, log_path, started)
            yield base_url, process, ready
        finally:
            _stop(process)


def _wait_ready(
    base_url: str, process: subprocess.Popen[bytes], log_path: Path, started: float
) -> float:
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        while time.perf_counter() - started < READY_TIMEOUT_S:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"newsrag serve exited with {process.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/readyz").status_code == 200:
                    return time.perf_counter() - started
            time.sleep(0.1)
    raise RuntimeError(f"newsrag serve was not ready after {READY_TIMEOUT_S:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def peak_rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _search_body(question: str) -> dict[str, Any]:
    return {"query": question}


def _ask_body(question: str) -> dict[str, Any]:
    return {"question": question, "mode": "extractive"}


ENDPOINTS = {"/v1/search": _search_body, "/v1/ask": _ask_body}


def http_ingest(client: httpx.Client, documents: list[Document]) -> tuple[float, int, int]:
    """POST every document; seconds, chunks written, failed requests."""
    chunks = errors = 0
    started = time.perf_counter()
    for d in documents:
        response = client.post(
            "/v1/documents",
            json={"text": d.text, "title": d.title, "document_id": d.doc_id, "source": "bench"},
        )
        if response.status_code in (200, 201):
            chunks += int(response.json()["chunks"])
        else:
            errors += 1
    return time.perf_counter() - started, chunks, errors


def _timed_post(client: httpx.Client, path: str, body: dict[str, Any]) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        ok = client.post(path, json=body).status_code == 200
    except httpx.HTTPError:
        ok = False
    return (time.perf_counter() - started) * 1000, ok


def sequential(client: httpx.Client, path: str, questions: list[str], rounds: int) -> Latency:
    make_body = ENDPOINTS[path]
    latencies: list[float] = []
    errors = 0
    for _ in range(rounds):
        for question in questions:
            ms, ok = _timed_post(client, path, make_body(question))
            latencies.append(ms)
            errors += not ok
    return Latency(
        requests=len(latencies),
        errors=errors,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        mean_ms=statistics.fmean(latencies),
    )


async def concurrent(
    base_url: str, path: str, questions: list[str], total: int, concurrency: int
) -> Throughput:
    """``total`` requests from ``concurrency`` clients sharing one queue of questions."""
    make_body = ENDPOINTS[path]
    numbers = iter(range(total))
    latencies: list[float] = []
    error_kinds: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0, limits=limits) as client:

        async def one_client() -> None:
            for number in numbers:
                body = make_body(questions[number % len(questions)])
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                    if response.status_code != 200:
                        error_kinds[f"HTTP {response.status_code}"] += 1
                except httpx.HTTPError as exc:
                    error_kinds[type(exc).__name__] += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Throughput(
        requests=len(latencies),
        concurrency=concurrency,
        seconds=seconds,
        requests_per_s=len(latencies) / seconds,
        errors=sum(error_kinds.values()),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        error_kinds=dict(error_kinds),
    )


def run_server_bench(
    workdir: Path,
    documents: list[Document],
    questions: list[str],
    *,
    rounds: int,
    concurrent_requests: int,
    concurrency: int,
) -> ServerRun:
    with running_server(workdir) as (base_url, process, ready_s):
        with httpx.Client(base_url=base_url, timeout=600.0) as client:
            ingest_s, chunks, ingest_errors = http_ingest(client, documents)
            # The first query after writes: includes any index (re)build the service does lazily.
            first_search_ms, _ = _timed_post(client, "/v1/search", _search_body(questions[0]))
            first_ask_ms, _ = _timed_post(client, "/v1/ask", _ask_body(questions[0]))
            seq = {path: sequential(client, path, questions, rounds) for path in ENDPOINTS}
        conc = {
            path: asyncio.run(
                concurrent(base_url, path, questions, concurrent_requests, concurrency)
            )
            for path in ENDPOINTS
        }
        rss = peak_rss_mb(process.pid)
    return ServerRun(
        documents=len(documents),
        document_chars=sum(len(d.text) for d in documents),
        questions=len(questions),
        server_ready_s=ready_s,
        http_ingest_s=ingest_s,
        http_ingest_chunks=chunks,
        http_ingest_errors=ingest_errors,
        first_search_ms=first_search_ms,
        first_ask_ms=first_ask_ms,
        sequential=seq,
        concurrent=conc,
        server_peak_rss_mb=rss,
    )


def _ask_once(data_dir: Path, workdir: Path) -> tuple[float, str]:
    command = [str(newsrag_bin()), "ask", COLD_QUESTION]
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=workdir,
        env=server_env(data_dir, bootstrap=True),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"newsrag ask failed ({completed.returncode}): {completed.stderr[-2000:]}"
        )
    return seconds, completed.stdout.strip().split("\n", 1)[0][:160]


def cold_start(workdir: Path, runs: int) -> ColdStart:
    """Wall time of ``newsrag ask`` as a fresh process, once on an empty store, then primed."""
    data_dir = workdir / "cold-store"
    first_s, _ = _ask_once(data_dir, workdir)
    timings: list[float] = []
    head = ""
    for _ in range(runs):
        seconds, head = _ask_once(data_dir, workdir)
        timings.append(seconds)
    return ColdStart(COLD_QUESTION, first_s, timings, statistics.median(timings), head)
