"""The supervisor of the local LLM server, driven with a stand-in child process."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from newsrag.components.llm import models as local_models
from newsrag.components.llm.server import (
    LocalLLMServer,
    LocalModelChoice,
    _child_env,
    resolve_local_model,
)
from newsrag.config import EmbeddingSettings, LLMSettings, Settings
from newsrag.errors import ConfigurationError


def stand_in(root: Path) -> object:
    """A child that answers GET /health and /v1/models like llama-server."""
    (root / "v1").mkdir(parents=True, exist_ok=True)
    (root / "v1" / "models").write_text('{"data": []}')
    (root / "health").write_text('{"status": "ok"}')

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                "--directory", str(root)]  # fmt: skip

    return command


def wait_until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_restarts_a_dead_server_and_reports_it(tmp_path: Path) -> None:
    restarts: list[int] = []
    server = LocalLLMServer(
        LocalModelChoice(tmp_path / "m.gguf", "stand-in"),
        LLMSettings(),
        on_restart=lambda: restarts.append(1),
        command=stand_in(tmp_path),  # type: ignore[arg-type]
    )
    server.start()
    try:
        assert server.state == "ready"
        assert httpx.get(f"{server.base_url}/models").status_code == 200
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: server.restarts == 1 and server.state == "ready")
        assert restarts == [1]
        assert server.pid != first
        assert "exit code -9" in str(server.describe()["last_exit"])
        assert httpx.get(f"{server.base_url}/models").status_code == 200  # same URL
    finally:
        server.stop()
    assert server.describe()["state"] == "stopped"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.base_url}/models", timeout=1)


def test_a_server_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    server = LocalLLMServer(
        LocalModelChoice(tmp_path / "m.gguf", "broken"),
        LLMSettings(),
        command=lambda port: [sys.executable, "-c", "import sys; print('bad model'); sys.exit(3)"],
    )
    with pytest.raises(ConfigurationError, match="exit code 3: bad model"):
        server.start()


def test_choice_follows_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def settings(**llm: object) -> Settings:
        return Settings(llm=LLMSettings(**llm))  # type: ignore[arg-type]

    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF")
    monkeypatch.setattr(local_models, "llama_server_installed", lambda: False)
    assert resolve_local_model(settings(local="auto", model_path=own)) is None
    with pytest.raises(ConfigurationError, match="llama-server is not installed"):
        resolve_local_model(settings(local="true", model_path=own))

    monkeypatch.setattr(local_models, "llama_server_installed", lambda: True)
    assert resolve_local_model(settings(local="false", model_path=own)) is None
    assert resolve_local_model(settings(base_url="http://x.invalid/v1", model_path=own)) is None
    assert resolve_local_model(settings(model_path=own)) == LocalModelChoice(own, "own")
    with pytest.raises(ConfigurationError, match="NEWSRAG_LLM_MODEL_PATH"):
        resolve_local_model(settings(model_path=tmp_path / "missing.gguf"))
    empty = Settings(
        llm=LLMSettings(local="auto"),
        embedding=EmbeddingSettings(model_cache_dir=tmp_path / "cache"),
    )
    assert resolve_local_model(empty) is None  # auto: nothing installed, nothing served
    required = empty.model_copy(update={"llm": LLMSettings(local="true")})
    with pytest.raises(ConfigurationError, match="newsrag models pull"):
        resolve_local_model(required)


def test_the_child_never_sees_settings_meant_for_others(monkeypatch: pytest.MonkeyPatch) -> None:
    # llama-server reads LLAMA_ARG_* and LLAMA_API_KEY as its own options: a key there would
    # make every read a 401 while /health says ready
    meant_elsewhere = {
        "PORT": "8765", "HOST": "0.0.0.0", "API_KEY": "k", "MODEL": "x",
        "LLAMA_API_KEY": "k", "LLAMA_ARG_API_PREFIX": "/x", "LLAMA_ARG_PORT": "1",
    }  # fmt: skip
    for key, value in meant_elsewhere.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    env = _child_env()
    assert not set(meant_elsewhere) & set(env)
    assert env["PATH"] == os.environ["PATH"] and env["LC_ALL"] == "C.UTF-8"
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"  # threads sleep at barriers, no spinning
