"""Readiness waits for the corpus index; the first question then finds it built."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsrag.api.app import create_app
from newsrag.components.store.chroma import ChromaStore
from newsrag.retrieval.index import CorpusIndex
from tests.helpers import assert_problem, make_settings, post_doc


def test_readyz_waits_for_the_corpus_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        assert post_doc(client).status_code == 201

    release = threading.Event()
    original = CorpusIndex._load_or_rebuild

    def slow_build(index: CorpusIndex) -> None:
        release.wait(30)  # an archive that takes a while to read
        original(index)

    monkeypatch.setattr(CorpusIndex, "_load_or_rebuild", slow_build)
    monkeypatch.setattr("newsrag.api.app.INDEX_START_WAIT_S", 0.0)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        body = assert_problem(client.get("/readyz"), 503, "corpus index")
        assert "corpus index: building" in body["checks"]
        release.set()
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.02)
        index = client.app.state.container.services.retriever.index  # type: ignore[attr-defined]
        built = index.snapshot()
        assert built.size == 1

        asked = client.post("/v1/ask", json={"question": "Who will start construction?"})
        assert asked.status_code == 200
        found = client.post("/v1/search", json={"query": "Riverside bridge council"}).json()
        assert [r["document_id"] for r in found["results"]] == ["bridge"]
        assert index.snapshot() is built  # the first questions read the index as it was built


def test_a_write_is_answerable_at_once_without_reading_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(make_settings(tmp_path / "data"))) as client:
        index = client.app.state.container.services.retriever.index  # type: ignore[attr-defined]
        assert index.ready
        reads: list[str] = []
        monkeypatch.setattr(CorpusIndex, "_rebuild", lambda _: reads.append("build"))
        monkeypatch.setattr(CorpusIndex, "_catch_up", lambda _: reads.append("catch-up"))
        assert post_doc(client).status_code == 201
        found = client.post("/v1/search", json={"query": "Riverside bridge council"}).json()
        assert [r["document_id"] for r in found["results"]] == ["bridge"]
        client.delete("/v1/documents/bridge")
        assert client.post("/v1/search", json={"query": "Riverside bridge"}).json()["results"] == []
        assert index.size == 0
        assert reads == []  # the index followed the writes from their own rows


def test_a_restart_loads_the_kept_index_instead_of_reading_every_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        assert post_doc(client).status_code == 201
    assert (tmp_path / "data" / "index" / "newsrag.pickle").is_file()  # kept at shutdown

    def read_all(*args: object, **kwargs: object) -> object:
        raise AssertionError("the whole archive was read at start-up")

    monkeypatch.setattr(ChromaStore, "iter_chunk_rows", read_all)
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        found = client.post("/v1/search", json={"query": "Riverside bridge council"}).json()
        assert [r["document_id"] for r in found["results"]] == ["bridge"]
