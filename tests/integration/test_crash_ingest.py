"""Kill -9 during `newsrag ingest`: every document is fully the old or fully the new version."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings
from newsrag.text.ids import text_hash
from tests.helpers import PROJECT, clean_env

pytestmark = pytest.mark.integration
SQUAD = PROJECT / "newsrag" / "eval" / "data" / "squad2-dev-small.json"


def big_text(tag: str) -> str:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))
    paragraphs = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    return "\n\n".join(f"{tag} {i}. {p}" for i, p in enumerate(paragraphs * 6))


def ingest(path: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsrag.cli", "ingest", "--quiet", str(path)],
        env=clean_env(NEWSRAG_DATA_DIR=str(data_dir), NEWSRAG_EMBEDDINGS="fake"),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def check_consistent(data_dir: Path, versions: dict[str, str]) -> tuple[str, int]:
    """The visible version is complete; returns its name and how many other rows lie around."""
    embedder = HashingEmbedder()
    store = ChromaStore.connect(ChromaSettings(), data_dir, embedder.name, embedder.dimension)
    document = store.get_document("story")
    assert document.text in versions.values()
    rows = list(store.iter_chunk_rows())
    current = [row for row in rows if row.text_hash == document.text_hash]
    assert len(current) == document.chunks  # the visible version is complete
    for row in current[:50]:
        assert row.text in (document.text or "")
    name = next(name for name, text in versions.items() if text == document.text)
    return name, len(rows) - len(current)


def test_kill_during_ingest_leaves_old_or_new(tmp_path: Path) -> None:
    article = tmp_path / "story.txt"
    versions = {"old": big_text("Old"), "new": big_text("New")}
    assert text_hash(versions["new"]) != text_hash(versions["old"])
    killed_mid_write = 0
    # Kill the update at several points of its run (start-up, chunking, embedding, then writes),
    # each time from a fresh store holding the old version. The points are fractions of how
    # long an uninterrupted update of the same store takes on this machine (an update reads
    # the old version first: a first ingest is no measure of it).
    article.write_text(versions["old"], encoding="utf-8")
    assert ingest(article, tmp_path / "data-timing").wait(timeout=300) == 0
    article.write_text(versions["new"], encoding="utf-8")
    started = time.perf_counter()
    assert ingest(article, tmp_path / "data-timing").wait(timeout=300) == 0
    duration = time.perf_counter() - started
    for attempt, fraction in enumerate([0.5, 0.65, 0.8, 0.95]):
        kill_after_s = fraction * duration
        data_dir = tmp_path / f"data-{attempt}"
        article.write_text(versions["old"], encoding="utf-8")
        assert ingest(article, data_dir).wait(timeout=300) == 0
        article.write_text(versions["new"], encoding="utf-8")
        process = ingest(article, data_dir)
        time.sleep(kill_after_s)
        process.send_signal(signal.SIGKILL)
        process.wait()
        visible, stray_rows = check_consistent(data_dir, versions)
        killed_mid_write += stray_rows > 0 or visible == "new"
        assert ingest(article, data_dir).wait(timeout=300) == 0  # the rerun completes it
        assert check_consistent(data_dir, versions) == ("new", 0)
    assert killed_mid_write >= 1  # at least one kill landed after writing had begun
