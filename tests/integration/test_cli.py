"""The `newsrag` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT, clean_env

pytestmark = pytest.mark.integration


def newsrag(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsrag.cli", *args],
        env=clean_env(NEWSRAG_DATA_DIR=str(data_dir), **env),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ask_bootstraps_and_answers(tmp_path: Path) -> None:
    result = newsrag("ask", "What did the Kremlin say about the reports?", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reliable information" in result.stdout
    counted = newsrag("ask", "How many members of Congress signed the letter?", data_dir=tmp_path)
    assert counted.stdout.startswith("Short answer: 50 [1]\n"), counted.stdout
    as_json = newsrag("ask", "Who signed the letter?", "--json", data_dir=tmp_path)
    body = json.loads(as_json.stdout)
    assert body["refused"] is False and body["citations"]


def test_ingest_reports_bad_files_and_continues(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.txt").write_text("Harbour reopens\n\nThe harbour reopened on Monday.\n")
    (folder / "broken.json").write_text("{oops")
    (folder / "empty.md").write_text("   \n")
    result = newsrag("ingest", str(folder), data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert "created 1, updated 0, unchanged 0, failed 2" in result.stdout
    assert "broken.json" in result.stderr and "Traceback" not in result.stderr
    again = newsrag("ingest", str(folder / "good.txt"), data_dir=tmp_path / "data")
    assert again.returncode == 0 and "unchanged 1" in again.stdout
    listed = newsrag("docs", "list", data_dir=tmp_path / "data")
    assert "good\t" in listed.stdout
    (folder / "good.txt").write_text("Harbour reopens\n\nThe harbour reopened on Tuesday.\n")
    corrected = newsrag("ingest", str(folder / "good.txt"), data_dir=tmp_path / "data")
    assert corrected.returncode == 0 and "updated 1" in corrected.stdout
    versions = newsrag("docs", "versions", "good", data_dir=tmp_path / "data")
    lines = versions.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["v1", "v2"] and "current" in lines[1]


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    result = newsrag("ask", "x", data_dir=tmp_path, NEWSRAG_ANSWER_MODE="poetic")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "NEWSRAG_ANSWER_MODE" in result.stderr


def test_unknown_document_is_a_clear_error(tmp_path: Path) -> None:
    result = newsrag("docs", "show", "nope", data_dir=tmp_path, NEWSRAG_BOOTSTRAP="false")
    assert result.returncode == 1
    assert "no document with id 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_another_embedders_store_stops_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("Title\n\nSome text.\n")
    built = newsrag("ingest", str(folder), data_dir=tmp_path / "data", NEWSRAG_EMBEDDINGS="fake")
    assert built.returncode == 0, built.stderr
    result = newsrag("serve", "--port", "0", data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert "re-index" in result.stderr and "Traceback" not in result.stderr


def test_eval_never_passes_a_gated_run_that_did_not_run(tmp_path: Path) -> None:
    """Without ../shared (RGB's data) and without a model, the rgb and rgb-llm gates cannot be
    judged: under CI that fails the run, elsewhere it is reported as not run."""
    empty = tmp_path / "no-shared"
    empty.mkdir()
    args = ("eval", "--sets", "rgb", "--report-dir", str(tmp_path / "report"))
    env = {"NEWSRAG_SHARED_DIR": str(empty)}
    in_ci = newsrag(*args, data_dir=tmp_path, CI="true", **env)
    assert in_ci.returncode == 1, in_ci.stdout
    assert "GATE FAILED: rgb: not run under CI" in in_ci.stderr
    assert "GATE FAILED: rgb-llm: not run under CI — rgb-en-fact-subset.json" in in_ci.stderr
    local = newsrag(*args, data_dir=tmp_path, CI="", **env)
    assert local.returncode == 0, local.stderr
    assert "NOT RUN: rgb —" in local.stdout and "NOT RUN: rgb-llm —" in local.stdout
    assert "some runs did not run" in local.stdout


def test_ingest_of_a_jsonl_counts_articles_in_its_progress_bar(tmp_path: Path) -> None:
    archive = tmp_path / "archive.jsonl"
    records = [{"document_id": f"s{i}", "text": f"Story {i}. The pier reopened."} for i in range(3)]
    archive.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    result = newsrag("ingest", str(archive), data_dir=tmp_path / "data", NEWSRAG_EMBEDDINGS="fake")
    assert result.returncode == 0, result.stderr
    assert "created 3," in result.stdout
    assert "3/3" in result.stderr and "article/s" in result.stderr
