"""Integration fixtures: the real local embedding model and real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from ingest.embeddings import OnnxMiniLMEmbedder
from tests.conftest import make_settings

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def local_embedder() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder()


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", embeddings="local")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSRAG_", "OPENAI_"))}
    env.update({"HF_HUB_OFFLINE": "1", "NO_PROXY": "*"})
    env.update(extra)
    return env


def wait_for(
    url: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")


def start_service(data_dir: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "newsrag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=clean_env(NEWSRAG_DATA_DIR=str(data_dir), **env),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
