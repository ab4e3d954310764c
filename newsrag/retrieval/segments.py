"""Immutable segments of the corpus index, and the vocabulary their ids refer to.

A segment holds a set of chunk rows as they are needed to score them: each row's distinct
terms (Snowball stems) with their counts and its length in tokens, the same postings by term
(which rows hold a term, how often), the words as written that spelling correction may suggest,
the rows' document ids and dates, and optionally their normalised vectors. A segment never
changes once built; the index removes rows by masking them out in a snapshot and merges
segments into a new one (compaction).

Scoring is not stored: BM25 needs the whole index's document frequencies, number of rows and
average length, which every write changes, so a snapshot computes the scores of a query's terms
from these counts (see ``newsrag.retrieval.snapshot``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from newsrag.components.store.rows import ChunkRow
from newsrag.text.sentences import index_words, lexical_tokens

EMPTY = "<empty>"  # the one token of a row without any, so that it still counts in N and lengths


class Vocabulary:
    """Ids for the terms (stems) and the words as written of one index build, shared by its
    segments and snapshots. Append-only: an id never changes meaning, so a snapshot only
    remembers how many ids there were when it was made, and ignores later ones. Only the index's
    writer adds ids (under its lock); readers look ids up at the same time, which is safe for
    Python's dicts and lists."""

    def __init__(self) -> None:
        self.term_ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.long_flags: list[bool] = []  # per term id: is it one of long_terms
        self.word_ids: dict[str, int] = {}
        self.words: list[str] = []
        # terms of 3 characters or more (not EMPTY) and words of 3 or more, in id order, for
        # fuzzy matching: what spelling correction may propose
        self.long_terms: list[str] = []
        self.long_term_ids: list[int] = []
        self.long_words: list[str] = []
        self.long_word_ids: list[int] = []
        # the stem of each word of 3 characters or more → those words' ids
        self.stem_words: dict[str, list[int]] = {}

    def copy(self) -> Vocabulary:
        """An independent copy (to write to disk while the index goes on adding ids)."""
        other = Vocabulary()
        for name, value in vars(self).items():
            setattr(
                other,
                name,
                {k: list(v) for k, v in value.items()} if name == "stem_words" else value.copy(),
            )
        return other

    def term(self, term: str) -> int:
        found = self.term_ids.get(term)
        if found is None:
            found = self.term_ids[term] = len(self.terms)
            self.terms.append(term)
            self.long_flags.append(len(term) >= 3 and term != EMPTY)
            if self.long_flags[found]:
                self.long_terms.append(term)
                self.long_term_ids.append(found)
        return found

    def word(self, word: str) -> int:
        found = self.word_ids.get(word)
        if found is None:
            found = self.word_ids[word] = len(self.words)
            self.words.append(word)
            if len(word) >= 3:
                self.long_words.append(word)
                self.long_word_ids.append(found)
                for stem in lexical_tokens(word)[:1]:
                    self.stem_words.setdefault(stem, []).append(found)
        return found


@dataclass(frozen=True, slots=True)
class TokenizedRow:
    """A chunk row with its tokens, computed once (stemming is the costly part of indexing)."""

    row: ChunkRow
    tokens: tuple[str, ...]
    words: tuple[str, ...]


def tokenize(rows: Iterable[ChunkRow]) -> list[TokenizedRow]:
    found = []
    for row in rows:
        tokens, words = index_words(row.text)
        found.append(TokenizedRow(row, tokens or (EMPTY,), words))
    return found


@dataclass(frozen=True, slots=True, eq=False)
class Segment:
    chunk_ids: np.ndarray  # object (str)
    document_ids: np.ndarray  # object (str)
    published: np.ndarray  # float64 epoch seconds, NaN when undated
    lengths: np.ndarray  # int64 tokens per row
    row_ptr: np.ndarray  # int64, rows → their distinct terms (CSR)
    row_terms: np.ndarray  # int32 term ids
    row_tf: np.ndarray  # float32 counts
    word_ptr: np.ndarray  # int64, rows → their distinct words (CSR)
    row_words: np.ndarray  # int32 word ids
    terms: np.ndarray  # int32 sorted term ids present, terms → rows (CSC)
    term_ptr: np.ndarray  # int64
    post_rows: np.ndarray  # int32
    post_tf: np.ndarray  # float32
    vectors: np.ndarray | None  # float32, unit rows (None: dense search is not in process)
    by_document: dict[str, np.ndarray]  # document id → its rows

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding ``term`` and how often each holds it."""
        at = int(np.searchsorted(self.terms, term))
        if at == len(self.terms) or self.terms[at] != term:
            return _NO_POSTINGS, _NO_TF
        start, end = self.term_ptr[at], self.term_ptr[at + 1]
        return self.post_rows[start:end], self.post_tf[start:end]

    def term_counts(self, rows: np.ndarray, size: int) -> np.ndarray:
        """How many of ``rows`` hold each term id (below ``size``)."""
        return np.bincount(self.row_terms[_ranges(self.row_ptr, rows)], minlength=size)

    def word_counts(self, rows: np.ndarray, size: int) -> np.ndarray:
        return np.bincount(self.row_words[_ranges(self.word_ptr, rows)], minlength=size)

    def without_vectors(self) -> Segment:
        return replace(self, vectors=None)


def has_vectors(segment: Segment) -> bool:
    """Whether the segment can be searched in process (an empty one can, trivially)."""
    return segment.vectors is not None or segment.size == 0


_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_POSTINGS = np.zeros(0, dtype=np.int32)
_NO_TF = np.zeros(0, dtype=np.float32)


def build(rows: Sequence[TokenizedRow], vocabulary: Vocabulary, with_vectors: bool) -> Segment:
    """A segment of these rows; their terms and words get ids in ``vocabulary``."""
    row_terms: list[int] = []
    row_tf: list[int] = []
    row_words: list[int] = []
    term_ptr = [0]
    word_ptr = [0]
    for tokenized in rows:
        counts = Counter(tokenized.tokens)
        for token, count in counts.items():
            row_terms.append(vocabulary.term(token))
            row_tf.append(count)
        term_ptr.append(len(row_terms))
        row_words.extend(vocabulary.word(word) for word in tokenized.words)
        word_ptr.append(len(row_words))
    vectors = None
    if with_vectors and rows and all(t.row.vector is not None for t in rows):
        vectors = _unit_rows(np.vstack([t.row.vector for t in rows if t.row.vector is not None]))
    return _assemble(
        chunk_ids=[t.row.chunk_id for t in rows],
        document_ids=[t.row.document_id for t in rows],
        published=[math.nan if t.row.published_ts is None else t.row.published_ts for t in rows],
        lengths=np.array([len(t.tokens) for t in rows], dtype=np.int64),
        row_ptr=np.array(term_ptr, dtype=np.int64),
        row_terms=np.array(row_terms, dtype=np.int32),
        row_tf=np.array(row_tf, dtype=np.float32),
        word_ptr=np.array(word_ptr, dtype=np.int64),
        row_words=np.array(row_words, dtype=np.int32),
        vectors=vectors,
    )


def merge(segments: Sequence[Segment], alive: Sequence[np.ndarray]) -> Segment:
    """One segment of the rows of ``segments`` that ``alive`` keeps, in order (compaction).
    Nothing is tokenized again: the rows' term and word ids are copied."""
    keep = [np.flatnonzero(mask) for mask in alive]
    parts_terms = [_gather(s.row_ptr, s.row_terms, k) for s, k in zip(segments, keep, strict=True)]
    parts_tf = [_gather(s.row_ptr, s.row_tf, k) for s, k in zip(segments, keep, strict=True)]
    parts_words = [_gather(s.word_ptr, s.row_words, k) for s, k in zip(segments, keep, strict=True)]
    vectors = None
    if all(has_vectors(s) for s in segments):
        kept = [s.vectors[k] for s, k in zip(segments, keep, strict=True) if s.vectors is not None]
        vectors = np.concatenate(kept) if kept else None
    return _assemble(
        chunk_ids=np.concatenate([s.chunk_ids[k] for s, k in zip(segments, keep, strict=True)]),
        document_ids=np.concatenate(
            [s.document_ids[k] for s, k in zip(segments, keep, strict=True)]
        ),
        published=np.concatenate([s.published[k] for s, k in zip(segments, keep, strict=True)]),
        lengths=np.concatenate([s.lengths[k] for s, k in zip(segments, keep, strict=True)]),
        row_ptr=_concat_ptr([p for p, _ in parts_terms]),
        row_terms=np.concatenate([v for _, v in parts_terms]),
        row_tf=np.concatenate([v for _, v in parts_tf]),
        word_ptr=_concat_ptr([p for p, _ in parts_words]),
        row_words=np.concatenate([v for _, v in parts_words]),
        vectors=vectors,
    )


def _assemble(
    *,
    chunk_ids: Sequence[str] | np.ndarray,
    document_ids: Sequence[str] | np.ndarray,
    published: Sequence[float] | np.ndarray,
    lengths: np.ndarray,
    row_ptr: np.ndarray,
    row_terms: np.ndarray,
    row_tf: np.ndarray,
    word_ptr: np.ndarray,
    row_words: np.ndarray,
    vectors: np.ndarray | None,
) -> Segment:
    documents = np.array(document_ids, dtype=object)
    # postings: the CSR entries ordered by term (stable, so rows stay in order within a term)
    entry_rows = np.repeat(np.arange(len(lengths), dtype=np.int32), np.diff(row_ptr))
    order = np.argsort(row_terms, kind="stable")
    terms, counts = np.unique(row_terms[order], return_counts=True)
    by_document: dict[str, list[int]] = {}
    for row, document_id in enumerate(documents.tolist()):
        by_document.setdefault(document_id, []).append(row)
    return Segment(
        chunk_ids=np.array(chunk_ids, dtype=object),
        document_ids=documents,
        published=np.array(published, dtype=np.float64),
        lengths=lengths,
        row_ptr=row_ptr,
        row_terms=row_terms,
        row_tf=row_tf,
        word_ptr=word_ptr,
        row_words=row_words,
        terms=terms.astype(np.int32),
        term_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        post_rows=entry_rows[order],
        post_tf=row_tf[order],
        vectors=vectors,
        by_document={d: np.array(rows, dtype=np.int64) for d, rows in by_document.items()},
    )


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = matrix.astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _ranges(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The positions of the CSR entries of ``rows``."""
    if rows.size == 0:
        return _NO_ROWS
    starts, ends = ptr[rows], ptr[rows + 1]
    sizes = ends - starts
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    positions: np.ndarray = np.arange(int(sizes.sum()), dtype=np.int64) + offsets
    return positions


def _gather(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR entries of ``rows``: their pointer array (from 0) and values."""
    sizes = ptr[rows + 1] - ptr[rows] if rows.size else _NO_ROWS
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64), values[_ranges(ptr, rows)]


def _concat_ptr(ptrs: Sequence[np.ndarray]) -> np.ndarray:
    out = [np.zeros(1, dtype=np.int64)]
    base = 0
    for ptr in ptrs:
        out.append(ptr[1:] + base)
        base += int(ptr[-1])
    return np.concatenate(out).astype(np.int64)
