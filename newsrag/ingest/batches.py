"""Bulk ingest (``newsrag ingest``): articles in batches, a pipeline of two stages.

While one batch is written to the store (records read, copies looked up, rows written, one
commit call), the next one is chunked and embedded in a worker thread. Embedding is most of the
work and onnxruntime and Chroma's bindings release the GIL, so the store's share mostly hides
behind it. Each batch holds its documents' locks from the read of their records to their
commit, as a single ``Ingestor.ingest`` does, so the commit protocol's guarantees are the same:
every document is committed whole by its record or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from newsrag.errors import NewsragError
from newsrag.models import Article, IngestResult, IngestStatus

if TYPE_CHECKING:
    from newsrag.components.store.rows import PreparedDocument
    from newsrag.ingest.pipeline import Ingestor, Plan

# What one article can raise; anything else stops the run.
ARTICLE_ERRORS = (NewsragError, OSError, ValueError, UnicodeError, RecursionError)


@dataclass
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def count(self, status: IngestStatus) -> int:
        return sum(1 for result in self.results if result.status == status)


@dataclass
class _Started:
    """A batch whose records are read and locked and whose embedding runs."""

    items: list[tuple[str, Article]]
    ids: list[str]
    plan: Plan
    prepared: Future[list[PreparedDocument]]
    locks: ExitStack


class BulkIngest:
    """One run of :meth:`Ingestor.ingest_many`."""

    def __init__(
        self,
        ingestor: Ingestor,
        pool: ThreadPoolExecutor,
        on_progress: Callable[[int], object] | None,
    ) -> None:
        self._ingestor = ingestor
        self._pool = pool
        self._on_progress = on_progress
        self._pending: _Started | None = None
        self.report = IngestReport()

    def failed(self, label: str, exc: Exception) -> None:
        self.report.failures.append((label, reason(exc)))
        self._progress(1)

    def submit(self, items: list[tuple[str, Article]], ids: list[str]) -> None:
        """Start a batch of valid articles (``ids`` their document ids), then finish the one
        before it."""
        pending_ids = set(self._pending.ids) if self._pending else set()
        if len(set(ids)) != len(ids) or pending_ids.intersection(ids):
            # a later copy of a document must see the earlier one stored: no overlap
            self.drain()
            self._one_batch_at_a_time(items)
            return
        try:
            started = self._start(items, ids)
        except ARTICLE_ERRORS:
            self.drain()
            self._one_by_one(items)
            return
        # the new batch is in flight before the previous one finishes: should finishing fail
        # unexpectedly, ``abandon`` still releases the new batch's locks
        previous, self._pending = self._pending, started
        self._finish(previous)

    def drain(self) -> None:
        """Finish the batch in flight, if any."""
        started, self._pending = self._pending, None
        self._finish(started)

    def _finish(self, started: _Started | None) -> None:
        if started is None:
            return
        try:
            with started.locks:
                results = self._ingestor.finish(started.plan, started.prepared.result())
        except ARTICLE_ERRORS:
            # nothing of the batch committed (one commit call); redo it one by one so that
            # only the culprit fails
            self._one_by_one(started.items)
            return
        self.report.results.extend(results)
        self._progress(len(results))

    def abandon(self) -> None:
        """Drop the batch in flight unwritten (the run stops on an error of its own)."""
        started, self._pending = self._pending, None
        if started is not None:
            started.prepared.cancel()
            started.locks.close()

    def _start(self, items: list[tuple[str, Article]], ids: list[str]) -> _Started:
        locks = ExitStack()
        try:
            # this process's other writers and deletes of these ids wait (see store.commit)
            locks.enter_context(self._ingestor.store.locked(ids))
            plan = self._ingestor.plan([article for _, article in items], ids)
            prepared = self._pool.submit(self._ingestor.prepare, plan)
        except BaseException:
            locks.close()
            raise
        return _Started(items, ids, plan, prepared, locks)

    def _one_batch_at_a_time(self, items: list[tuple[str, Article]]) -> None:
        try:
            results = self._ingestor.ingest_batch([article for _, article in items])
        except ARTICLE_ERRORS:
            self._one_by_one(items)
            return
        self.report.results.extend(results)
        self._progress(len(results))

    def _one_by_one(self, items: list[tuple[str, Article]]) -> None:
        for label, article in items:
            try:
                self.report.results.append(self._ingestor.ingest(article))
            except ARTICLE_ERRORS as exc:
                self.report.failures.append((label, reason(exc)))
            self._progress(1)

    def _progress(self, done: int) -> None:
        if self._on_progress:
            self._on_progress(done)


def ingest_many(
    ingestor: Ingestor,
    items: Iterable[tuple[str, Article | Exception]],
    on_progress: Callable[[int], object] | None,
    batch_size: int,
) -> IngestReport:
    """See :meth:`Ingestor.ingest_many`."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsrag-embed") as pool:
        run = BulkIngest(ingestor, pool, on_progress)
        batch: list[tuple[str, Article]] = []
        ids: list[str] = []
        try:
            for label, item in items:
                if isinstance(item, Exception):
                    run.failed(label, item)
                    continue
                try:
                    document_id = ingestor.validate(item)
                except ARTICLE_ERRORS as exc:
                    run.failed(label, exc)
                    continue
                batch.append((label, item))
                ids.append(document_id)
                if len(batch) >= batch_size:
                    run.submit(batch, ids)
                    batch, ids = [], []
            if batch:
                run.submit(batch, ids)
        except BaseException:
            run.abandon()
            raise
        run.drain()
    return run.report


def reason(exc: Exception) -> str:
    return exc.detail if isinstance(exc, NewsragError) else str(exc)
