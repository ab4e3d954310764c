"""The server's poller: a thread that syncs registered sources when they are due.

Every replica runs one; the lease in the store (``components.store.sources``) makes each due
source polled by one replica at a time. Off with ``NEWSRAG_SOURCE_POLL=false`` (and in tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from newsrag.errors import NewsragError
from newsrag.ingest.sources.service import SourcesService

log = logging.getLogger(__name__)


class Poller:
    """Calls ``sources().sync_due()`` every ``interval_s`` seconds until stopped."""

    def __init__(self, sources: Callable[[], SourcesService], interval_s: float) -> None:
        self._sources = sources
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="newsrag-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sources().sync_due(self._stop.is_set)
            except NewsragError as exc:  # the store is down: try again next round
                log.warning("polling sources: %s", exc.detail)
            except Exception:
                log.exception("polling sources failed")
            self._stop.wait(self._interval_s)
