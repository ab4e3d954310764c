"""The scale benchmark at 1,000 articles: every figure measured, none absurd.

Latency is not gated here (a test shares the machine); the figures go to docs/benchmarks.md
from runs that had the CPU to themselves. What this checks is that the phase works end to end
on a real archive: generated, ingested by `newsrag ingest`, served, asked, written to.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1200)
def test_the_scale_phase_measures_a_1000_article_archive(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    command = [sys.executable, "-m", "bench", "--only", "scale", "--articles", "1000"]
    done = subprocess.run(
        [*command, "--embedder-articles", "50", "--clients", "4", "--out", str(out)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| ingest articles/s |" in done.stdout
    (figures,) = json.loads(out.read_text(encoding="utf-8"))["scale"]
    assert figures["articles"] == 1000
    assert figures["sentences"] > 40_000
    assert 0.5 < figures["ingest_articles_per_s"] < 1000
    assert 0.1 < figures["ingest_fraction_of_embedder"] < 2
    assert 0 < figures["ready_s"] < 300 and 0 < figures["restart_ready_s"] < figures["ready_s"]
    assert figures["disk_mb"] > 10 and figures["rss_mb"] > 100
    for name in (
        "ask_ms",
        "search_ms",
        "write_then_ask_ms",
        "replica_write_then_ask_ms",
        "post_document_ms",
    ):
        assert 0 < figures[name]["p50"] <= figures[name]["p95"], name
    assert figures["ask_ms"]["n"] == 20 and figures["write_then_ask_ms"]["n"] == 10
    assert figures["clients"]["count"] == 4
    assert figures["clients"]["asks"]["n"] == 4 * 20 and figures["clients"]["asks"]["per_s"] > 0
