"""The corpus index's background thread: catch-ups, compactions and builds, one at a time."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

log = logging.getLogger(__name__)


class Background:
    """One thread running background tasks in order, started when there is work and ending
    when there is none. A task asked for while the same kind waits to start joins it (a task
    already running may have read the store too early, so it is not joined)."""

    def __init__(self) -> None:
        self._tasks: deque[tuple[str, Callable[[], None], Future[None]]] = deque()
        self._waiting: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._running = False

    def submit(self, kind: str, task: Callable[[], None]) -> Future[None]:
        with self._lock:
            future = self._waiting.get(kind)
            if future is None:
                future = self._waiting[kind] = Future()
                self._tasks.append((kind, task, future))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="corpus-index", daemon=True).start()
            return future

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._tasks:
                    self._running = False
                    return
                kind, task, future = self._tasks.popleft()
                if self._waiting.get(kind) is future:
                    del self._waiting[kind]
            if not future.set_running_or_notify_cancel():
                continue
            try:
                task()
            except BaseException as exc:
                log.warning("corpus index: %s failed: %s", kind, exc)
                future.set_exception(exc)
            else:
                future.set_result(None)
