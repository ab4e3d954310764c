"""The sources use case behind ``/v1/sources`` and the server's poller: register a feed (and
sync it at once), list, remove, and sync whatever is due, one replica per source at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from newsrag.components.store.sources import SourceRecord, SourceRegistry
from newsrag.config import SourceSettings
from newsrag.errors import FetchFailed, InvalidInput, LeaseLost, NotFound
from newsrag.ingest.formats.ids import id_from_uri
from newsrag.ingest.pipeline import Ingestor
from newsrag.ingest.sources.fetch import Fetcher
from newsrag.ingest.sources.sync import SyncContext, SyncReport, sync
from newsrag.metrics import Metrics
from newsrag.schemas import SourceIn, SourceList, SourceOut, SyncResult

log = logging.getLogger(__name__)


def replica_name() -> str:
    """Who holds a lease: this host and process, and a nonce (a restarted process is another)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


class HeldLease:
    """A source's lease while its sync runs: renewed as stories are stored, every third of its
    length, so that a sync longer than the lease is not joined by another replica; a renewal
    that finds the lease taken stops the sync (:class:`LeaseLost`)."""

    def __init__(
        self, registry: SourceRegistry, source_id: str, owner: str, lease_s: float
    ) -> None:
        self._registry, self._source_id, self._owner = registry, source_id, owner
        self._lease_s = lease_s
        self._renewed = time.monotonic()

    def keep(self) -> None:
        if time.monotonic() - self._renewed < self._lease_s / 3:
            return
        if not self._registry.renew(self._source_id, self._owner, self._lease_s):
            raise LeaseLost(
                f"the lease of {self._source_id} is another replica's now, or the source was "
                "removed; the stories stored so far stay"
            )
        self._renewed = time.monotonic()

    def watching(self, on_progress: Callable[[int], object] | None) -> Callable[[int], object]:
        def progressed(done: int) -> None:
            self.keep()
            if on_progress is not None:
                on_progress(done)

        return progressed


class SourcesService:
    """Registered sources: each a feed URL polled every N minutes by one replica at a time."""

    def __init__(
        self,
        registry: SourceRegistry,
        ingestor: Ingestor,
        settings: SourceSettings,
        metrics: Metrics | None = None,
        owner: str | None = None,
    ) -> None:
        self._registry = registry
        self._ingestor = ingestor
        self._settings = settings
        self._metrics = metrics
        self.owner = owner or replica_name()

    def register(self, body: SourceIn) -> tuple[SourceOut, bool]:
        """Register (or re-register) a feed and sync it at once: the source and whether it is
        new. :class:`InvalidInput` naming ``url`` for another scheme or a private address."""
        url = body.url.strip()
        fetcher = Fetcher(self._settings)
        try:
            fetcher.check(url)
        except FetchFailed as exc:
            raise InvalidInput(
                exc.detail, field="url", errors=[{"field": "url", "message": exc.detail}]
            ) from None
        finally:
            fetcher.close()
        source_id = id_from_uri(url)
        found = self._registry.get(source_id)
        if found is not None:  # its state and lease stay; it is due at once
            record = dataclasses.replace(found, every_minutes=body.every_minutes, next_due=0.0)
        else:
            record = SourceRecord(source_id, url, body.every_minutes, _iso(time.time()))
        self._registry.put(record)
        synced = self.sync_source(source_id)
        latest = synced[0] if synced else None
        return self._out(latest or self._registry.get(source_id) or record), found is None

    def list(self) -> SourceList:
        return SourceList(sources=[self._out(r) for r in self._registry.all()])

    def delete(self, source_id: str) -> None:
        """Stop polling a source; its stories stay in the archive."""
        if not self._registry.delete(source_id):
            raise NotFound(f"no source with id {source_id!r}", source_id=source_id)
        if self._metrics is not None:
            self._metrics.forget_source(source_id)

    def sync_due(self, stopping: Callable[[], bool] = lambda: False) -> int:
        """Sync every due source this replica can lease (until ``stopping``); how many."""
        synced = 0
        for record in self._registry.due():
            if stopping():
                break
            if self.sync_source(record.source_id) is not None:
                synced += 1
        return synced

    def source_id_of(self, url: str) -> str | None:
        """The id of the registered source with this url, if there is one."""
        source_id = id_from_uri(url.strip())
        return source_id if self._registry.get(source_id) is not None else None

    def sync_source(
        self,
        source_id: str,
        on_total: Callable[[int], object] | None = None,
        on_progress: Callable[[int], object] | None = None,
    ) -> tuple[SourceRecord | None, SyncReport] | None:
        """Lease the source, sync it and write its new state: that state (None if the source
        was removed meanwhile) and the report; None when another replica holds it."""
        record = self._registry.acquire(source_id, self.owner, self._settings.lease_s)
        if record is None:
            return None
        lease = HeldLease(self._registry, source_id, self.owner, self._settings.lease_s)
        context = SyncContext(
            self._ingestor,
            self._settings,
            etag=record.etag,
            last_modified=record.last_modified,
            on_total=on_total,
            on_progress=lease.watching(on_progress),
        )
        try:
            report = sync(record.url, context)
            log.info("source %s: %s", source_id, report.line())
            now = time.time()
            if self._metrics is not None:
                self._metrics.record_sync(source_id, report.counts, report.failed, now)
            after = self._after(record, report, now)
        except LeaseLost as exc:  # whoever holds the source now writes its state
            log.warning("source %s: sync stopped: %s", source_id, exc.detail)
            return None
        except BaseException:
            # the lease is given back whatever happened; the source is tried again when next due
            due = time.time() + record.every_minutes * 60
            self._registry.release(dataclasses.replace(record, next_due=due), self.owner)
            raise
        return self._registry.release(after, self.owner), report

    def _after(self, record: SourceRecord, report: SyncReport, now: float) -> SourceRecord:
        # a failed fetch says nothing new about the feed's validators; after a rejection that
        # may pass another time, the old ones stay so that the next poll reads the feed again
        keep = report.failed or report.retry
        return dataclasses.replace(
            record,
            etag=record.etag if keep else report.etag,
            last_modified=record.last_modified if keep else report.last_modified,
            last_synced_at=_iso(now),
            next_due=now + record.every_minutes * 60,
            last_result=report.summary(),
        )

    @staticmethod
    def _out(record: SourceRecord) -> SourceOut:
        result = record.last_result
        return SourceOut(
            source_id=record.source_id,
            url=record.url,
            every_minutes=record.every_minutes,
            created_at=record.created_at,
            last_synced_at=record.last_synced_at,
            next_sync_at=_iso(record.next_due) if record.next_due else None,
            last_result=SyncResult.model_validate(result) if result else None,
        )
