"""The ``scale`` phase of ``python -m bench``: the synthetic archive at each size, end to end.

Per size (``--articles 1000,10000``), each step in a fresh process on this machine:
``bench.scale_ingest`` (the archive generated from MultiHop-RAG's public sentences, the embedder
alone over its first ``--embedder-articles`` articles, then ``newsrag ingest`` of all of it), the
store's size on disk, then ``bench.index_bench`` over that store (time to ready, a restart, ask
and search latency with one client and with ``--clients``, a write followed by an ask, peak RSS
of the serving process). The figures are comparable only between runs that had the CPU to
themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.ingest_bench import worker_env
from bench.scale_ingest import measure

PROJECT = Path(__file__).resolve().parent.parent


def disk_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6, 1)


def serve_figures(store: Path, clients: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.index_bench", "--store", str(store)]
    done = subprocess.run(
        [*command, "--clients", str(clients)],
        env=worker_env() | {"NEWSRAG_LLM_LOCAL": "false"},
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.index_bench failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def run_scale(
    sizes: list[int], workdir: Path, embedder_articles: int, clients: int, progress: Any
) -> list[dict[str, Any]]:
    results = []
    for size in sizes:
        folder = workdir / f"scale-{size}"
        folder.mkdir(parents=True)
        progress(f"scale: {size:,} articles: generate, embedder alone, newsrag ingest")
        ingest = measure(size, embedder_articles, folder)
        progress(f"scale: {size:,} articles: {ingest['ingest_articles_per_s']} articles/s; serving")
        served = serve_figures(folder / "data", clients)
        results.append({**ingest, "disk_mb": disk_mb(folder / "data"), **served})
    return results


def _ms(figures: dict[str, Any]) -> str:
    return f"{figures['p50']:,.0f} / {figures['p95']:,.0f}"


def scale_section(results: list[dict[str, Any]]) -> list[str]:
    if not results:
        return []
    sizes = [f"{r['articles']:,}" for r in results]
    rows = [
        ("ingest articles/s", [f"{r['ingest_articles_per_s']:.2f}" for r in results]),
        ("ingest MB/s", [f"{r['ingest_mb_per_s']:.3f}" for r in results]),
        ("ingest / embedder alone", [f"{r['ingest_fraction_of_embedder']:.2f}" for r in results]),
        ("store on disk, MB", [f"{r['disk_mb']:,.0f}" for r in results]),
        (
            "start to ready, s (first / restart)",
            [f"{r['ready_s']:.1f} / {r['restart_ready_s']:.1f}" for r in results],
        ),
        (
            "first ask, ms (first start / restart)",
            [f"{r['first_ask_ms']:,.0f} / {r['restart_first_ask_ms']:,.0f}" for r in results],
        ),
        ("ask p50 / p95, ms", [_ms(r["ask_ms"]) for r in results]),
        ("search p50 / p95, ms", [_ms(r["search_ms"]) for r in results]),
        ("asks, N clients: p50 / p95, ms", [_ms(r["clients"]["asks"]) for r in results]),
        ("asks, N clients: per s", [f"{r['clients']['asks']['per_s']}" for r in results]),
        ("searches, N clients: p50 / p95, ms", [_ms(r["clients"]["searches"]) for r in results]),
        ("searches, N clients: per s", [f"{r['clients']['searches']['per_s']}" for r in results]),
        ("a write, then an ask: p50 / p95, ms", [_ms(r["write_then_ask_ms"]) for r in results]),
        (
            "another process's write, then an ask: p50 / p95, ms",
            [_ms(r["replica_write_then_ask_ms"]) for r in results],
        ),
        ("POST /v1/documents p50 / p95, ms", [_ms(r["post_document_ms"]) for r in results]),
        ("server RSS after the requests, MB", [f"{r['rss_mb']:,}" for r in results]),
    ]
    clients = results[0]["clients"]["count"]
    lines = [
        "## Archive scale (synthetic articles from MultiHop-RAG's sentences)",
        "",
        f"Heuristic reader, in process; N = {clients} concurrent clients.",
        "",
        "| | " + " | ".join(f"{s} articles" for s in sizes) + " |",
        "| --- |" + " ---: |" * len(sizes),
    ]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return lines
