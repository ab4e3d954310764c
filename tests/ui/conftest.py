"""Fixtures for the browser tests: the real service in a subprocess and the system Chromium.

The service is started once per session (``live_server``) with a private data directory, the
bundled PinkNews article ingested at start-up and the local embedding model, so answers are
deterministic and no network is needed. Chromium is the Debian package at /usr/bin/chromium;
Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.helpers import free_port, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 60.0
# Answers stream from a real server on a 2-core machine: be generous, never sleep.
UI_TIMEOUT_MS = 30_000

# Variables that would point the service at something outside this test session.
_REMOVED_ENV = ("NEWSRAG_CHROMA_HOST", "NEWSRAG_API_KEYS", "NEWSRAG_LLM_BASE_URL")

expect.set_options(timeout=UI_TIMEOUT_MS)


def _server_env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Any other NEWSRAG_* setting (answer mode, rate limit, LLM key…) would make the run
        # depend on the developer's shell; OPENAI_API_KEY would configure an LLM too.
        if not key.startswith("NEWSRAG_") and key != "OPENAI_API_KEY" and key not in _REMOVED_ENV
    }
    env.update(
        {
            "NEWSRAG_DATA_DIR": str(data_dir),
            "NEWSRAG_BOOTSTRAP": "true",
            "NEWSRAG_EMBEDDINGS": "local",
            "NEWSRAG_LLM_LOCAL": "false",  # the UI tests use extractive mode and fake endpoints
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``newsrag serve`` on a free port; yield its base URL once ``/readyz`` is 200."""
    workdir = tmp_path_factory.mktemp("live_server")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stderr_path = workdir / "stderr.log"
    command = [
        sys.executable,
        "-m",
        "newsrag.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with stderr_path.open("wb") as stderr:
        # cwd is the temporary directory so that a developer's .env is not read.
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=_server_env(workdir / "data"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        _wait_until_ready(process, base_url, stderr_path)
        yield base_url
    finally:
        stop(process)


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, stderr_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer yet"
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                _startup_failed(f"the server exited with code {process.returncode}", stderr_path)
            try:
                response = client.get("/readyz")
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:500]}"
            time.sleep(0.25)
    _startup_failed(f"/readyz not 200 after {STARTUP_TIMEOUT_S:.0f} s ({last})", stderr_path)


def _startup_failed(reason: str, stderr_path: Path) -> None:
    stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
    print(f"--- newsrag serve stderr ---\n{stderr}\n--- end of stderr ---", file=sys.stderr)
    pytest.fail(f"newsrag serve did not start: {reason}\n{stderr[-4000:]}", pytrace=False)


@pytest.fixture(scope="session")
def api(live_server: str) -> Iterator[httpx.Client]:
    """An HTTP client for the same server the browser uses."""
    with httpx.Client(base_url=live_server, timeout=60.0) as client:
        yield client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The Debian Chromium, headless; pytest-playwright's own options (e.g. --slowmo) are kept."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], live_server: str) -> dict[str, Any]:
    """Every page resolves relative URLs (``page.goto("/")``) against the live server."""
    return {**browser_context_args, "base_url": live_server}


@pytest.fixture
def ui_page(page: Page) -> Page:
    """The pytest-playwright page with the suite's timeouts."""
    page.set_default_timeout(UI_TIMEOUT_MS)
    return page
