"""Integration fixtures: the real local embedding model and real servers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsrag.components.embeddings.onnx import OnnxMiniLMEmbedder
from newsrag.config import Settings
from tests.helpers import make_settings, start_service, stop, wait_for


@pytest.fixture(scope="session")
def local_embedder() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder()


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", embeddings="local")


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(data_dir: Path | None = None, **env: str) -> str:
        process, url = start_service(data_dir or tmp_path / "data", **env)
        started.append(process)
        wait_for(f"{url}/healthz", process=process)
        return url

    yield start
    for process in started:
        stop(process)
