"""The per-process index of the corpus: BM25 over every chunk of the committed writes, the
vocabulary for spelling correction, the span of publication dates and, for archives up to a
configured size, the chunk vectors for exact dense search.

Its state is one immutable ``IndexSnapshot`` (``newsrag.retrieval.snapshot``), replaced by a
single reference assignment; a query takes the reference once (``refresh`` returns it) and reads
only that, so it never sees half of an update. How the index learns of writes:

* **This process's writes** (ingest, delete, through any service): the store tells its listeners
  which documents now name which chunk rows and which are gone (``store.changes``). The index
  tokenizes those rows only and adds one small segment, masking out the rows they replace; the
  next question pays for its own write, not for the archive.
* **Other processes' writes** (replicas on one Chroma server) change the store's generation
  token. The index then *catches up*: it reads the store's change log (``store.change_log``)
  since it last looked, then the records of the documents named there whose logged write it
  does not hold, then the chunk rows of those whose record names another write than it
  indexed, and drops documents that are gone. Its cost is what changed, not the archive. A
  question that finds the generation changed waits up to ``catch_up_wait_s`` for that, else it
  is answered from the snapshot it has while the catch-up goes on in the background. A start
  from the index kept on disk catches up the same way (``persisted``); only an index whose last
  look is older than the log keeps reads every record. The index also keeps each document's
  source, which the outlets a question may name follow (``outlets``).
* **Full builds** read every chunk row: once at start-up (``start``, before ``/readyz`` reports
  ready), and only again in the background when the archive shrinks below the dense-search limit
  (the vectors of rows indexed without them must be read).

Segments are merged in the background (``updates.compaction_start``), never on a question's
path. Background work runs on one thread per index, one task at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path

from newsrag.components.embeddings import Matrix
from newsrag.components.store import change_log
from newsrag.components.store.changes import StoreChange
from newsrag.components.store.chroma import ChromaStore
from newsrag.models import StoredDocument
from newsrag.retrieval import catch_up, persisted, updates
from newsrag.retrieval.background import Background
from newsrag.retrieval.catch_up import TokenizedChange, disagree
from newsrag.retrieval.document_sources import DocumentSources
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.segments import TokenizedRow, Vocabulary, tokenize
from newsrag.retrieval.snapshot import IndexSnapshot, empty_snapshot

log = logging.getLogger(__name__)
# Chroma cannot swap the generation token atomically, so a write of another process that lands
# between this process's reading of the token and stamping its own goes unseen by the token; a
# catch-up (a read of the change log) this often, while questions come, bounds how long.
RECHECK_S = 30.0


class CorpusIndex:
    def __init__(
        self,
        store: ChromaStore,
        dense_max_chunks: int = 0,
        *,
        catch_up_wait_s: float = 2.0,
        max_segments: int = updates.MAX_SEGMENTS,
        recheck_s: float = RECHECK_S,
        saved_path: Path | None = None,
    ) -> None:
        """``saved_path``: where the index is kept between runs (see ``persisted``)."""
        self._store = store
        self._saved_path = saved_path
        self._starting = False  # loaded from disk, still catching up with the store
        self._recheck_s = recheck_s
        self._checked_at = time.monotonic()
        self._looked_at: float | None = None  # when the index last read the change log (clock)
        self._dense_max = dense_max_chunks
        self._wait_s = catch_up_wait_s
        self._max_segments = max_segments
        self._snapshot: IndexSnapshot | None = None
        self._lock = threading.Lock()  # held by whoever replaces the snapshot
        self._documents: dict[str, str] = {}  # document → the write indexed
        self._sources = DocumentSources()
        self._sequence = 0  # in-process changes applied so far
        self._recent: dict[str, tuple[int, str | None]] = {}  # document → (sequence, write)
        self._replay: list[TokenizedChange] | None = None  # in-process changes during a full build
        self._worker = Background()
        self._build: Future[None] | None = None
        self._failure: str | None = None
        self._observed: str | None = None
        store.subscribe(self._on_change)

    def source_names(self, known: int | None = None) -> tuple[int, tuple[str, ...]] | None:
        """The sources of the documents the index holds and a version number, or None when the
        version is still ``known``: what the outlets' names follow."""
        with self._lock:
            return self._sources.names_since(known)

    def documents_of(self, sources: Iterable[str]) -> frozenset[str]:
        """The ids of the documents of these sources the index holds now."""
        with self._lock:
            return self._sources.documents(sources)

    # ------------------------------------------------------------------- reading

    def snapshot(self) -> IndexSnapshot:
        """The current snapshot (an empty one before the first build)."""
        return self._snapshot or _EMPTY

    def refresh(self) -> IndexSnapshot:
        """The snapshot a query should read: current with the store when that takes at most
        ``catch_up_wait_s``. Builds the index first if it was never built (at start-up that
        is done before the service reports ready)."""
        return self.refresh_observed()[0]

    def refresh_observed(self) -> tuple[IndexSnapshot, str | None]:
        """``refresh``, with the store generation this call read (what the request's other
        caches are keyed by; the snapshot may still reflect an older one)."""
        observed = self._store.generation()
        self._observed = observed
        if not self.ready:  # never built, or loaded and still catching up
            self.start().result()
        snapshot = self.snapshot()
        if snapshot.generation != observed:
            future = self._worker.submit("catch-up", self._catch_up)
            try:
                future.result(timeout=self._wait_s)
            except FutureTimeout:
                log.info("corpus index: still catching up; answering from the last snapshot")
            except Exception as exc:  # the catch-up logs it; the old snapshot still serves
                log.warning("corpus index: catching up failed: %s", exc)
            snapshot = self.snapshot()
        elif time.monotonic() - self._checked_at > self._recheck_s:
            self._checked_at = time.monotonic()
            self._worker.submit("catch-up", self._catch_up)  # see RECHECK_S; nobody waits
        return snapshot, observed

    @property
    def observed_generation(self) -> str | None:
        """The store generation the last ``refresh`` of any request read (a request keys its
        caches by what its own ``refresh_observed`` returned)."""
        return self._observed

    @property
    def generation(self) -> str | None:
        """The store generation the current snapshot reflects (None: unknown)."""
        return self.snapshot().generation

    @property
    def size(self) -> int:
        return self.snapshot().size

    def date_span(self) -> tuple[dt.date, dt.date] | None:
        return self.snapshot().date_span()

    def correct_spelling(self, text: str) -> str:
        return self.snapshot().correct_spelling(text)

    def idf(self, token: str) -> float:
        return self.snapshot().idf(token)

    @property
    def dense_ready(self) -> bool:
        return self.snapshot().dense_ready

    def dense_search(self, vector: Matrix, n: int, filters: Filters) -> list[tuple[str, float]]:
        return self.snapshot().dense_search(vector, n, filters)

    def search(self, tokens: Sequence[str], n: int, filters: Filters) -> list[tuple[str, float]]:
        return self.snapshot().search(tokens, n, filters)

    # ------------------------------------------------------------------ building

    def start(self) -> Future[None]:
        """Build the index in the background unless it is built or being built."""
        with self._lock:
            if self._snapshot is not None and not self._starting:
                done: Future[None] = Future()
                done.set_result(None)
                return done
            if self._build is None or self._build.done():
                self._build = self._worker.submit("build", self._load_or_rebuild)
            return self._build

    @property
    def ready(self) -> bool:
        return self._snapshot is not None and not self._starting

    @property
    def status(self) -> str:
        """Why the index is not ready (empty when it is)."""
        if self.ready:
            return ""
        return f"failed: {self._failure}" if self._failure else "building"

    def rebuild(self) -> Future[None]:
        """Read everything again, in the background (the current snapshot serves meanwhile)."""
        return self._worker.submit("build", self._rebuild)

    def compact(self) -> Future[None]:
        """Merge segments now if the policy says so, in the background."""
        return self._worker.submit("compact", self._compact)

    def save(self) -> bool:
        """Keep the index on disk for the next run (False: nothing to keep, or no place)."""
        if self._saved_path is None or self._snapshot is None:
            return False
        identity = self._store.identity()
        with self._lock:  # the vocabulary grows under this lock: a copy is written
            snapshot = self._snapshot
            snapshot = replace(snapshot, vocabulary=snapshot.vocabulary.copy())
            documents = dict(self._documents)
            sources = self._sources.copy()
            looked_at = self._looked_at
        size = persisted.save(
            self._saved_path, identity, snapshot, documents, sources=sources, looked_at=looked_at
        )
        log.info("corpus index: saved to %s (%.1f MB)", self._saved_path, size / 1e6)
        return True

    def _load_or_rebuild(self) -> None:
        """Start from the index kept on disk and catch up with the store; else build."""
        self._failure = None
        saved = None
        if self._saved_path is not None:
            saved = persisted.load(self._saved_path, self._store.identity())
        if saved is None:
            self._rebuild()
            self._save_quietly()
            return
        with self._lock:
            if self._snapshot is not None:
                return
            self._starting = True
            # generation None: not known to be current until the catch-up says so
            self._snapshot = replace(saved.snapshot, generation=None, sequence=1)
            self._documents = dict(saved.documents)
            self._sources.set(saved.sources, replace_all=True)
            self._looked_at = saved.looked_at  # the catch-up reads the change log from there
        log.info("corpus index: loaded %s chunks from %s", saved.snapshot.size, self._saved_path)
        try:
            self._catch_up()
        except Exception as exc:
            with self._lock:
                self._snapshot = None  # not ready: the next start reads the store
            self._failure = str(exc)
            log.warning("corpus index: catching up after loading failed: %s", exc)
            raise
        finally:
            self._starting = False

    def _save_quietly(self) -> None:
        try:
            self.save()
        except Exception as exc:  # the index serves from memory; the next start builds again
            log.warning("corpus index: not saved: %s", exc)

    def _rebuild(self) -> None:
        with self._lock:
            self._replay = []
        try:
            self._checked_at = time.monotonic()  # a full read checks more than a catch-up
            looked_at = change_log.now()
            generation = self._store.generation()
            records = {d.document_id: d for d in self._store.list_documents()}
            with_vectors = 0 < sum(d.chunks for d in records.values()) <= self._dense_max
            built = self._read_all(records, generation, with_vectors)
            if not with_vectors and updates.lacks_vectors(built, self._dense_max):
                built = self._read_all(records, generation, True)  # fewer rows than recorded
        except Exception as exc:
            with self._lock:
                self._replay = None
            self._failure = str(exc)
            log.warning("corpus index: the build failed: %s", exc)
            raise
        with self._lock:
            replay, self._replay = self._replay or [], None
            previous = self._snapshot
            self._documents = {document_id: d.write for document_id, d in records.items()}
            self._sources.set({d: r.source for d, r in records.items()}, replace_all=True)
            self._recent = {}
            snapshot = replace(built, sequence=(previous.sequence + 1) if previous else 1)
            latest: dict[str, str | None] = {}
            for change in replay:  # what this process wrote meanwhile: never lost
                snapshot = self._applied(snapshot, change)
                latest.update(change.writes())
            if disagree(records, latest):
                snapshot = replace(snapshot, generation=None)
            self._snapshot = snapshot
            self._looked_at = looked_at
            self._failure = None
        log.info("corpus index: built %s chunks of %s documents", snapshot.size, len(records))
        self._after_update(rebuilt=True)

    def _read_all(
        self, records: Mapping[str, StoredDocument], generation: str, with_vectors: bool
    ) -> IndexSnapshot:
        """A snapshot of every chunk row of the writes ``records`` name, in one segment."""
        rows = tokenize(
            row
            for row in self._store.iter_chunk_rows(with_vectors=with_vectors)
            if (found := records.get(row.document_id)) is not None and found.write == row.write
        )
        rows.sort(key=lambda t: t.row.chunk_id)
        return updates.changed(
            empty_snapshot(Vocabulary()),
            (),
            rows,
            generation=generation,
            dense_max=self._dense_max,
        )

    # ------------------------------------------------------------------- writes

    def _on_change(self, change: StoreChange) -> None:
        """A write or delete of this process (see ``store.changes``)."""
        if not change.known:
            return  # the generation moved on: the next question catches up from the store
        tokenized = TokenizedChange(
            {c.document_id: (c.write, tokenize(c.rows)) for c in change.committed},
            change.deleted,
            change.generation_before,
            change.generation,
            {c.document_id: c.source for c in change.committed},
        )
        with self._lock:
            self._sequence += 1
            for document_id, (write, _) in tokenized.committed.items():
                self._recent[document_id] = (self._sequence, write)
            for document_id in tokenized.deleted:
                self._recent[document_id] = (self._sequence, None)
            if self._replay is not None:
                self._replay.append(tokenized)
            if self._snapshot is None:
                return  # the build under way reads the store after this write, or replays it
            self._snapshot = self._applied(self._snapshot, tokenized)
        self._after_update()

    def _applied(self, current: IndexSnapshot, change: TokenizedChange) -> IndexSnapshot:
        """``current`` after ``change`` (under the lock). In step with the store only if it
        was in step with the token the change replaced."""
        in_step = change.generation_before is not None
        generation = (
            change.generation
            if in_step and current.generation == change.generation_before
            else current.generation
        )
        for document_id, (write, _) in change.committed.items():
            self._documents[document_id] = write
        for document_id in change.deleted:
            self._documents.pop(document_id, None)
        committed = {d: change.sources.get(d) for d in change.committed}
        self._sources.set({**committed, **dict.fromkeys(change.deleted)})
        rows = [row for _, found in change.committed.values() for row in found]
        return updates.changed(
            current,
            set(change.committed) | set(change.deleted),
            rows,
            generation=generation,
            dense_max=self._dense_max,
        )

    def _after_update(self, *, rebuilt: bool = False) -> None:
        snapshot = self.snapshot()
        if not rebuilt and updates.lacks_vectors(snapshot, self._dense_max):
            self.rebuild()
        elif updates.compaction_start(snapshot, self._max_segments) is not None:
            self.compact()

    # --------------------------------------------------------------- background

    def _catch_up(self) -> None:
        """Make the index hold, for every document, the rows of the write its record names,
        reading only the records of the documents the change log names (every record when the
        log cannot say) and the chunk rows of those that differ."""
        with self._lock:
            started = self._sequence
            indexed = dict(self._documents)
        self._checked_at = time.monotonic()
        looked_at = change_log.now()
        generation = self._store.generation()
        read: set[str] | None = None  # whose records were read (None: every one)
        if change_log.usable(self._looked_at, looked_at):
            assert self._looked_at is not None
            records, read = catch_up.logged_records(self._store, indexed, self._looked_at)
            gone = tuple(d for d in sorted(read) if d in indexed and d not in records)
            snapshot = self.snapshot()
            size = snapshot.size - snapshot.rows_of(read)
            size += sum(r.chunks for r in records.values())
            with_vectors = (snapshot.dense_ready or not snapshot.size) and (
                0 < size <= self._dense_max
            )
        else:
            records = {d.document_id: d for d in self._store.list_documents()}
            gone = tuple(d for d in indexed if d not in records)
            with_vectors = 0 < sum(r.chunks for r in records.values()) <= self._dense_max
            if with_vectors and not self.snapshot().dense_ready and self.snapshot().size:
                self._rebuild()  # rows indexed without their vectors must be read again
                return
        stale = {d: r.write for d, r in records.items() if indexed.get(d) != r.write}
        found = self._store.chunk_rows_of(stale, with_vectors=with_vectors) if stale else []
        committed: dict[str, tuple[str, list[TokenizedRow]]] = {
            d: (w, []) for d, w in stale.items()
        }
        for row in tokenize(found):
            committed[row.row.document_id][1].append(row)
        with self._lock:
            # written in this process while the records were read: that state is at least as
            # new; if a record says otherwise, another catch-up must look again
            recent = {d: write for d, (seq, write) in self._recent.items() if seq > started}
            self._recent = {d: v for d, v in self._recent.items() if v[0] > started}
            for document_id in recent:
                committed.pop(document_id, None)
            gone = tuple(d for d in gone if d not in recent)
            current = self._snapshot
            if current is None:
                return
            sources = {d: records[d].source for d in committed}
            snapshot = self._applied(current, TokenizedChange(committed, gone, None, "", sources))
            settled = not disagree(records, recent, read)
            self._snapshot = replace(snapshot, generation=generation if settled else None)
            self._looked_at = looked_at
        if stale or gone:
            log.info("corpus index: caught up with %s changed, %s deleted", len(stale), len(gone))
        self._after_update()

    def _compact(self) -> None:
        base = self._snapshot
        start = updates.compaction_start(base, self._max_segments) if base else None
        if base is None or start is None:
            return
        merged = updates.merge_from(base, start)
        with self._lock:
            current = self._snapshot
            rebased = updates.rebase(base, current, start, merged) if current else None
            if rebased is not None:
                self._snapshot = rebased


_EMPTY = empty_snapshot()
