"""How one snapshot of the corpus index becomes the next: pure functions, no store, no locks.

* ``changed``: documents removed (their rows masked out, their terms' and words' counts taken
  back) and rows added (one new segment, their counts added). Only the rows concerned are
  touched, plus a copy of the count arrays and of the masks of the segments that lose rows.
* ``compaction_start`` and ``merge`` + ``rebase``: segments merged into one without the rows
  masked out; the statistics do not change. ``rebase`` moves a merge made from an older
  snapshot onto the current one (rows removed since are masked in the merged segment too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np

from newsrag.retrieval.segments import Segment, TokenizedRow, build, has_vectors, merge
from newsrag.retrieval.snapshot import IndexSnapshot, date_span

MAX_SEGMENTS = 8  # more than this and the newest are merged
SIZE_RATIO = 4  # a segment is merged with the newer ones once it is at most this times as large
DEAD_SHARE = 0.3  # a segment with this share of its rows masked out is rewritten
Span = tuple[dt.date, dt.date]


def changed(
    current: IndexSnapshot,
    removed: Collection[str],
    rows: Sequence[TokenizedRow],
    *,
    generation: str | None,
    dense_max: int,
) -> IndexSnapshot:
    """``current`` without the rows of the documents ``removed``, with ``rows`` added (a
    document that is replaced is both removed and added)."""
    vocabulary = current.vocabulary
    segments = list(current.segments)
    alive = list(current.alive)
    minus_terms: list[np.ndarray] = []
    minus_words: list[np.ndarray] = []
    size, total = current.size, current.total_length
    for i, segment in enumerate(segments):
        hit = [segment.by_document[d] for d in removed if d in segment.by_document]
        if not hit:
            continue
        lost = np.concatenate(hit)
        lost = lost[alive[i][lost]]
        if not lost.size:
            continue
        alive[i] = alive[i].copy()
        alive[i][lost] = False
        minus_terms.append(segment.term_counts(lost, 0))
        minus_words.append(segment.word_counts(lost, 0))
        size -= int(lost.size)
        total -= int(segment.lengths[lost].sum())
    with_vectors = 0 < size + len(rows) <= dense_max
    added: Segment | None = None
    if rows:
        added = build(rows, vocabulary, with_vectors)
        segments.append(added)
        alive.append(np.ones(added.size, dtype=bool))
        size += added.size
        total += int(added.lengths.sum())
    frequency = _counts(
        current.document_frequency,
        len(vocabulary.terms),
        minus_terms,
        [added.term_counts(np.arange(added.size), 0)] if added else [],
    )
    words = _counts(
        current.word_counts,
        len(vocabulary.words),
        minus_words,
        [added.word_counts(np.arange(added.size), 0)] if added else [],
    )
    if not 0 < size <= dense_max:
        segments = [s.without_vectors() if s.vectors is not None else s for s in segments]
    if minus_terms:
        span = date_span(segments, alive)
    else:
        span = _wider(current.span, date_span([added], [alive[-1]]) if added else None)
    return IndexSnapshot(
        vocabulary=vocabulary,
        segments=tuple(segments),
        alive=tuple(alive),
        document_frequency=frequency,
        word_counts=words,
        long_terms=len(vocabulary.long_terms),
        long_words=len(vocabulary.long_words),
        long_terms_present=_present(current, frequency),
        size=size,
        total_length=total,
        span=span,
        dense_ready=0 < size <= dense_max and all(has_vectors(s) for s in segments),
        generation=generation,
        sequence=current.sequence + 1,
    )


def lacks_vectors(snapshot: IndexSnapshot, dense_max: int) -> bool:
    """Small enough for dense search in process, but some rows came without their vectors
    (the archive shrank below the limit): only a rebuild can read them all."""
    return 0 < snapshot.size <= dense_max and not snapshot.dense_ready


def compaction_start(snapshot: IndexSnapshot, max_segments: int = MAX_SEGMENTS) -> int | None:
    """The first of the segments to merge into one (all from there on), or None for none.

    Tiered: a segment joins the merge when it is at most ``SIZE_RATIO`` times as large as all
    newer ones together, so a large segment is rewritten rarely (each write adds a small one);
    a segment with many rows masked out is rewritten whatever its size."""
    count = len(snapshot.segments)
    sizes = [int(mask.sum()) for mask in snapshot.alive]
    dead = [
        i
        for i, segment in enumerate(snapshot.segments)
        if segment.size and (segment.size - sizes[i]) / segment.size >= DEAD_SHARE
    ]
    if count <= max_segments and not dead:
        return None
    start = count - 1
    while start > 0 and sizes[start - 1] <= SIZE_RATIO * sum(sizes[start:]):
        start -= 1
    if count > max_segments:
        start = min(start, count - 2)
    if dead:
        start = min(start, dead[0])
    return start


def merge_from(snapshot: IndexSnapshot, start: int) -> Segment:
    return merge(snapshot.segments[start:], snapshot.alive[start:])


def rebase(
    base: IndexSnapshot, current: IndexSnapshot, start: int, merged: Segment
) -> IndexSnapshot | None:
    """``current`` with ``base``'s segments from ``start`` on replaced by ``merged`` (made
    from them); None when ``current`` no longer holds those segments (a rebuild replaced
    them)."""
    count = len(base.segments)
    if (
        current.vocabulary is not base.vocabulary
        or len(current.segments) < count
        or any(a is not b for a, b in zip(current.segments[:count], base.segments, strict=False))
    ):
        return None
    mask = np.ones(merged.size, dtype=bool)
    offset = 0
    for i in range(start, count):
        kept = np.flatnonzero(base.alive[i])
        mask[offset : offset + kept.size] = current.alive[i][kept]
        offset += kept.size
    return replace(
        current,
        segments=(*current.segments[:start], merged, *current.segments[count:]),
        alive=(*current.alive[:start], mask, *current.alive[count:]),
        sequence=current.sequence + 1,
    )


def _counts(
    before: np.ndarray, size: int, minus: Sequence[np.ndarray], plus: Sequence[np.ndarray]
) -> np.ndarray:
    counts = np.zeros(size, dtype=np.int64)
    counts[: len(before)] = before
    for part in minus:
        counts[: len(part)] -= part
    for part in plus:
        counts[: len(part)] += part
    return counts


def _present(previous: IndexSnapshot, frequency: np.ndarray) -> int:
    """How many long terms current rows hold, from the terms whose presence changed."""
    before = np.zeros(len(frequency), dtype=np.int64)
    before[: len(previous.document_frequency)] = previous.document_frequency
    flipped = np.flatnonzero((before > 0) != (frequency > 0))
    flags = previous.vocabulary.long_flags
    present = previous.long_terms_present
    for term in flipped.tolist():
        if flags[term]:
            present += 1 if frequency[term] > 0 else -1
    return present


def _wider(span: Span | None, other: Span | None) -> Span | None:
    if span is None or other is None:
        return span or other
    return (min(span[0], other[0]), max(span[1], other[1]))
