"""A llama.cpp server as a supervised child process of newsrag.

``LocalLLMServer`` runs llama.cpp's own ``llama-server`` (C++: OpenAI-compatible
``/v1/chat/completions`` with token log-probabilities and JSON schemas, parallel slots with
continuous batching, prompt caching, ``/health``) on a loopback port, waits until it answers,
restarts it with exponential backoff when it dies (each death is logged with the tail of its log
and counted in ``/metrics``), and stops it with the service. It dies with newsrag however newsrag
dies (SIGKILL as its parent-death signal). ``newsrag serve`` starts one when a local model is
configured; ``running_local_llm`` does the same for the eval and the tests.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from newsrag.components.llm import models as local_models
from newsrag.config import LLMSettings, Settings
from newsrag.errors import ConfigurationError

log = logging.getLogger(__name__)
State = Literal["starting", "ready", "restarting", "failed", "stopped"]
_LOG_TAIL = 600
_STOP_GRACE_S = 3.0
_PROMPT_CACHE_MIB = 2048
NOT_INSTALLED = "llama.cpp's llama-server is not installed (run `make install`)"


@dataclass(frozen=True, slots=True)
class LocalModelChoice:
    """Which GGUF file the supervised server loads, and the name it answers to."""

    path: Path
    alias: str


def resolve_local_model(settings: Settings) -> LocalModelChoice | None:
    """The local model to supervise, or None (an external endpoint, or local serving off).

    ``NEWSRAG_LLM_LOCAL=auto`` serves the model when no external endpoint is set and the model
    and llama.cpp are installed; ``true`` requires them (a clear error otherwise).
    """
    llm = settings.llm
    if llm.local == "false" or llm.base_url:
        return None
    required = llm.local == "true"
    if not local_models.llama_server_installed():
        if required:
            raise ConfigurationError(
                "llama.cpp's llama-server is not installed (run `make install`)"
            )
        return None
    if llm.model_path is not None:
        if not llm.model_path.is_file():
            raise ConfigurationError(f"NEWSRAG_LLM_MODEL_PATH: no such file: {llm.model_path}")
        return LocalModelChoice(llm.model_path, llm.model_path.stem)
    model = local_models.lookup(llm.local_model)
    base = settings.embedding.model_cache_dir
    if not required and local_models.status(model, base) == "not installed":
        return None
    return LocalModelChoice(local_models.verified_path(model, base), model.name)


def server_command(choice: LocalModelChoice, host: str, port: int, llm: LLMSettings) -> list[str]:
    binary = local_models.llama_server_binary()
    if binary is None:
        raise ConfigurationError(NOT_INSTALLED)
    threads = llm.local_threads or os.cpu_count() or 2
    slots = llm.local_parallel
    return [
        str(binary),
        "--model", str(choice.path), "--alias", choice.alias,
        "--host", host, "--port", str(port),
        # each slot keeps local_context tokens (the context is shared out among the slots)
        "--ctx-size", str(llm.local_context * slots), "--parallel", str(slots),
        "--threads", str(threads), "--threads-batch", str(threads),
        # the host-memory prompt cache (8 GiB by default) bounded beside an archive's process
        "--cache-ram", str(_PROMPT_CACHE_MIB),
        # warnings and errors only: their tail is what a death is reported with
        "--no-webui", "--no-warmup", "--log-verbosity", "2",
    ]  # fmt: skip


class LocalLLMServer:
    """One supervised llama.cpp server; ``base_url`` stays the same across restarts."""

    def __init__(
        self,
        choice: LocalModelChoice,
        llm: LLMSettings,
        port: int | None = None,
        on_restart: Callable[[], object] | None = None,
        max_backoff_s: float = 30.0,
        command: Callable[[int], list[str]] | None = None,
    ) -> None:
        """``command`` builds another server's command line from the port (tests use it)."""
        self.choice = choice
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.health_url = f"http://127.0.0.1:{self.port}/health"
        self._command = (
            command(self.port)
            if command is not None
            else server_command(choice, "127.0.0.1", self.port, llm)
        )
        self._startup_timeout_s = llm.local_startup_timeout_s
        self.on_restart = on_restart
        self._max_backoff_s = max_backoff_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self.state: State = "stopped"
        self.restarts = 0
        self.last_exit: str | None = None

    # ------------------------------------------------------------------------------ control

    def start(self) -> None:
        """Spawn the server and wait until it answers; raise ConfigurationError if it cannot."""
        self._stopping.clear()
        self.state = "starting"
        try:
            self._spawn()
            ready = self._wait_ready()
        except BaseException:  # Ctrl-C during the load: leave no child behind
            self.stop()
            raise
        if not ready:
            self.stop()
            raise ConfigurationError(f"the local LLM server did not start: {self.last_exit}")
        self.state = "ready"
        self._monitor = threading.Thread(target=self._supervise, name="llm-supervisor", daemon=True)
        self._monitor.start()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:  # it may be finishing a request: a short grace, then no more
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=15)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.state = "stopped"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def describe(self) -> dict[str, object]:
        return {
            "model": self.choice.alias,
            "state": self.state,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
        }

    # ---------------------------------------------------------------------------- internals

    def _spawn(self) -> None:
        if self._log is not None:
            self._log.close()
        # llama.cpp logs a lot: a file, not a pipe nobody reads (a full pipe would block it)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the child)
        # its own session: a Ctrl-C meant for newsrag must not kill the model first (the
        # supervisor would count a death and restart it during shutdown); and it dies with us
        self._process = subprocess.Popen(
            self._command,
            env=_child_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_death_signal(),
        )

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        size = self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, size - 4096))
        text = self._log.read().decode(errors="replace").strip()
        return " | ".join(text[-_LOG_TAIL:].splitlines()[-4:])

    def _wait_ready(self) -> bool:
        import httpx

        deadline = time.monotonic() + self._startup_timeout_s
        process = self._process
        assert process is not None
        while not self._stopping.is_set():
            code = process.poll()
            if code is not None:
                self.last_exit = f"exit code {code}: {self._log_tail()}"
                return False
            try:  # 503 while the model loads, 200 once it can answer
                if httpx.get(f"{self.health_url}", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.last_exit = f"no answer within {self._startup_timeout_s:.0f} s"
                return False
            time.sleep(0.25)
        return False

    def _supervise(self) -> None:
        try:
            self._watch()
        except Exception:  # the watcher must not die silently and leave "restarting" forever
            log.exception("the local LLM supervisor stopped")
            self.state = "failed"

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            self.last_exit = f"exit code {code}: {self._log_tail()}"
            self.restarts += 1
            self.state = "restarting"
            log.error(
                "the local LLM server (%s) died (%s); restart %d",
                self.choice.alias,
                self.last_exit,
                self.restarts,
            )
            if self.on_restart is not None:
                self.on_restart()
            if not self._bring_back():
                return

    def _bring_back(self) -> bool:
        """Restart with exponential backoff until the server answers; False when stopping."""
        backoff = 1.0
        while not self._stopping.wait(backoff):
            try:
                self._spawn()
                ready = self._wait_ready()
            except OSError as exc:  # no memory, no file descriptors: try again later
                self.last_exit = f"could not start: {exc}"
                ready = False
            if ready:
                self.state = "ready"
                log.warning("the local LLM server is back after restart %d", self.restarts)
                return True
            self.state = "failed"
            log.error("the local LLM server did not come back (%s)", self.last_exit)
            process = self._process
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
            backoff = min(backoff * 2, self._max_backoff_s)
        return False


# llama-server reads options from LLAMA_ARG_* (and LLAMA_API_KEY…) variables: one meant for
# another llama.cpp would change this child (a key on every request, a path prefix that hides
# /health). The child gets only what a process needs to run; newsrag sets its options itself.
_CHILD_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "TZ", "LD_LIBRARY_PATH")
_CHILD_ENV_PREFIXES = ("LC_", "OMP_", "GGML_")


def _child_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in _CHILD_ENV or key.startswith(_CHILD_ENV_PREFIXES)
    }
    # this llama.cpp is built with OpenMP: its threads sleep at barriers instead of spinning on
    # a core that an ingest needs (OMP_WAIT_POLICY=ACTIVE in the environment restores spinning)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def _death_signal() -> Callable[[], None] | None:
    if sys.platform != "linux":
        return None
    import ctypes

    # resolved here, in the parent: the forked child of a threaded process should not load
    return _die_with_parent(os.getpid(), ctypes.CDLL(None).prctl)


def _die_with_parent(parent: int, prctl: Callable[..., int]) -> Callable[[], None]:
    """What the child runs before exec: ask Linux to kill it when newsrag dies, however newsrag
    dies. SIGKILL, not SIGTERM: a server in the middle of a request finishes it before it
    honours SIGTERM (an orphan was seen running on for over 30 s). Linux sends the signal when
    the *thread* that forked exits: ``start`` runs in the caller's long-lived thread and
    restarts in the supervisor's, never in a short-lived worker."""

    def arm() -> None:
        prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # newsrag died before the request was armed
            os._exit(1)

    return arm


@contextmanager
def running_local_llm(settings: Settings, port: int | None = None) -> Iterator[LocalLLMServer]:
    """Start the configured local model (required) for the duration of the block."""
    required = settings.model_copy(
        update={"llm": settings.llm.model_copy(update={"local": "true", "base_url": None})}
    )
    choice = resolve_local_model(required)
    assert choice is not None  # local="true" either resolves or raises
    server = LocalLLMServer(choice, settings.llm, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def with_endpoint(llm: LLMSettings, server: LocalLLMServer) -> LLMSettings:
    """The LLM settings pointed at a supervised server."""
    return llm.model_copy(
        update={"base_url": server.base_url, "model": server.choice.alias, "json_schema": True}
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_local_llm(settings: Settings, host: str, port: int) -> int:
    """``newsrag llm``: the local model alone, in the foreground (signals reach it directly)."""
    required = settings.model_copy(
        update={"llm": settings.llm.model_copy(update={"local": "true", "base_url": None})}
    )
    choice = resolve_local_model(required)
    assert choice is not None
    command = server_command(choice, host, port, settings.llm)
    os.execv(command[0], command)
    return 0  # not reached
