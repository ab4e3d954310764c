"""One path from a question to what retrieval needs, for ``/v1/ask`` and ``/v1/search`` alike.

The planner refreshes the corpus index and keeps the snapshot it got for the whole request (the
vocabulary, the date span and, through the plan, the retrieval read that one state), reads the
question once (:class:`~newsrag.retrieval.question.Question`: time words resolved against the
archive's dates, the outlets and dates it names), narrows the request's filters to its time
frame, corrects spelling against the archive's words, adds the salient words of earlier turns to
a follow-up and embeds the result. A question with facets (``retrieval.facets``: several outlets,
or several dates) gets one more query per facet, filtered to the facet's outlet and date; the
whole question is still retrieved, within the span of the facets' dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from newsrag.components.embeddings import Embedder, Matrix
from newsrag.retrieval.facets import Facet, facets_of
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.index import CorpusIndex
from newsrag.retrieval.outlets import OutletCatalogue, Outlets
from newsrag.retrieval.question import Question, read_question
from newsrag.retrieval.snapshot import IndexSnapshot
from newsrag.retrieval.timeframe import TimeFrame
from newsrag.schemas import Message
from newsrag.text.dates import parse_published, to_timestamp
from newsrag.text.sentences import lexical_tokens
from newsrag.text.words import WORD


@dataclass(frozen=True, slots=True)
class Query:
    """A question ready to score against: ``text`` is the standalone (condensed, spelling-
    corrected) form used for retrieval, ``question`` the corrected question as asked."""

    text: str
    question: str
    vector: Matrix
    question_vector: Matrix
    latest: bool = False  # the question asks for the latest: recency breaks near-ties


class Lexicon(Protocol):
    """What planning reads of the corpus index (a snapshot, or the index's current one)."""

    def idf(self, token: str) -> float: ...

    def correct_spelling(self, text: str) -> str: ...


@dataclass(frozen=True, slots=True)
class FacetQuery:
    """One facet of the question, ready for retrieval: its words, vector and filters."""

    facet: Facet
    query: Query
    filters: Filters
    searchable: bool = True  # False: its outlet holds none of the documents asked about


@dataclass(frozen=True, slots=True)
class Plan:
    """A question ready for retrieval: the query, the filters narrowed by its time words, and
    one query per facet when it has several parts, and the index snapshot and store generation
    the request reads (see ``HybridRetriever``)."""

    query: Query
    filters: Filters
    frame: TimeFrame = field(default_factory=TimeFrame)
    question: Question | None = None
    facets: tuple[FacetQuery, ...] = ()
    index: IndexSnapshot | None = None
    generation: str | None = None


class QueryPlanner:
    def __init__(
        self, index: CorpusIndex, embedder: Embedder, outlets: OutletCatalogue | None = None
    ) -> None:
        self._index = index
        self._embedder = embedder
        self._outlets = outlets

    def plan(
        self,
        question: str,
        history: Sequence[Message] = (),
        *,
        document_ids: list[str] | None = None,
        published_after: dt.date | dt.datetime | None = None,
        published_before: dt.date | dt.datetime | None = None,
        as_of: dt.date | dt.datetime | None = None,
        standalone: str | None = None,
    ) -> Plan:
        """``standalone`` is an LLM's rewrite of a follow-up; the history's salient words are
        added to it too, so a poor rewrite cannot lose the context."""
        index, generation = self._index.refresh_observed()
        as_of_date = _as_date(as_of)
        outlets = self._outlets.outlets() if self._outlets else Outlets.of({})
        archive = index.date_span()
        read = read_question(question, outlets, as_of=as_of_date, archive=archive)
        requested = _filters(document_ids, published_after, published_before)
        facets = _within(facets_of(read, archive), read)
        frame = _spanning(read.frame, facets) if facets else read.frame
        filters = _narrowed(requested, frame, as_of_date)
        asked = standalone or frame.question
        if standalone and frame.phrase:
            asked = standalone.replace(frame.phrase, " ").strip() or standalone
        query = make_query(asked, history, index, self._embedder, latest=frame.latest)
        planned = self._facets(index, facets, outlets, requested, as_of_date, frame.latest)
        return Plan(query, filters, frame, read, planned, index, generation)

    def _facets(
        self,
        index: IndexSnapshot,
        facets: Sequence[Facet],
        outlets: Outlets,
        requested: Filters,
        as_of: dt.date | None,
        latest: bool,
    ) -> tuple[FacetQuery, ...]:
        """A query and filters for each facet. A facet whose outlet holds none of the documents
        the request allows stays in the plan, unsearchable: nothing can support it, and the
        answer must say so (a verdict must not rest on the other facets alone)."""
        kept: list[tuple[Facet, Filters, bool]] = []
        for facet in facets:
            filters = _narrowed(requested, TimeFrame(facet.after, facet.before), as_of)
            allowed: set[str] | None = None
            if facet.sources:
                allowed = set(outlets.documents(facet.sources))
                if requested.document_ids:
                    allowed &= set(requested.document_ids)
                filters = replace(filters, document_ids=tuple(sorted(allowed)))
            kept.append((facet, filters, allowed is None or bool(allowed)))
        if not kept:
            return ()
        texts = [index.correct_spelling(facet.text) for facet, _, _ in kept]
        vectors = self._embedder.embed(texts)
        return tuple(
            FacetQuery(facet, Query(text, text, vector, vector, latest), filters, searchable)
            for (facet, filters, searchable), text, vector in zip(kept, texts, vectors, strict=True)
        )


def _within(facets: tuple[Facet, ...], question: Question) -> tuple[Facet, ...]:
    """Facets keep the time frame of the question's relative time words ("What did Reuters and
    AP report last week?"). A question naming dates keeps each facet's own (a date no stored
    article's day falls on is an event, not a filter: see ``facets_of``)."""
    if question.dates or any(facet.after or facet.before for facet in facets):
        return facets
    frame = question.frame
    return tuple(replace(facet, after=frame.after, before=frame.before) for facet in facets)


def _spanning(frame: TimeFrame, facets: Sequence[Facet]) -> TimeFrame:
    """The time frame of the whole question when it has facets: the span of the facets'
    dates (open when a facet has none), not the first date it names."""
    afters = [facet.after for facet in facets]
    befores = [facet.before for facet in facets]
    after = None if any(a is None for a in afters) else min(a for a in afters if a)
    before = None if any(b is None for b in befores) else max(b for b in befores if b)
    phrases = [facet.date for facet in facets if facet.date]
    phrase = " … ".join(dict.fromkeys(phrases)) if phrases else frame.phrase
    return replace(frame, after=after, before=before, phrase=phrase)


def _filters(
    document_ids: list[str] | None,
    after: dt.date | dt.datetime | None,
    before: dt.date | dt.datetime | None,
) -> Filters:
    after_iso = parse_published(after, "published_after")
    before_iso = parse_published(before, "published_before")
    return Filters(
        document_ids=tuple(document_ids) if document_ids else None,
        after_ts=to_timestamp(after_iso) if after_iso else None,
        before_ts=to_timestamp(before_iso, end_of_day=True) if before_iso else None,
    )


def _as_date(value: dt.date | dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def _narrowed(filters: Filters, frame: TimeFrame, as_of: dt.date | None) -> Filters:
    """The request's filters intersected with the question's time frame and ``as_of``."""
    after = [filters.after_ts] if filters.after_ts is not None else []
    before = [filters.before_ts] if filters.before_ts is not None else []
    if frame.after:
        after.append(to_timestamp(frame.after.isoformat()))
    if frame.before:
        before.append(to_timestamp(frame.before.isoformat(), end_of_day=True))
    if as_of:
        before.append(to_timestamp(as_of.isoformat(), end_of_day=True))
    return Filters(
        document_ids=filters.document_ids,
        after_ts=max(after) if after else None,
        before_ts=min(before) if before else None,
    )


def condense_query(question: str, history: Sequence[Message], lexical: Lexicon) -> str:
    """A standalone retrieval query: the question plus the rarest words of recent turns.

    Up to six words come from the last two user turns; up to two names from the last answer
    (capitalised words) resolve pronouns ("What did she call for?" after an answer quoting
    Baroness Anelay) without pulling the previous answer back in.
    """
    asked = set(lexical_tokens(question))
    seen: set[str] = set()

    def rarest(texts: Sequence[str], limit: int, names_only: bool) -> list[str]:
        found: list[tuple[float, str]] = []
        for content in texts:
            for match in WORD.finditer(content):
                word = match.group()
                tokens = lexical_tokens(word)
                if not tokens or tokens[0] in asked or tokens[0] in seen:
                    continue
                if names_only and not word[0].isupper():
                    continue
                seen.add(tokens[0])
                found.append((-lexical.idf(tokens[0]), word))
        return [word for _, word in sorted(found)[:limit]]

    user_turns = [turn.content for turn in history if turn.role == "user"][-2:][::-1]
    answers = [turn.content for turn in history if turn.role == "assistant"][-1:]
    salient = rarest(user_turns, 6, names_only=False) + rarest(answers, 2, names_only=True)
    return f"{question} ({' '.join(salient)})" if salient else question


def make_query(
    question: str,
    history: Sequence[Message],
    lexical: Lexicon,
    embedder: Embedder,
    *,
    latest: bool = False,
) -> Query:
    corrected = lexical.correct_spelling(question)
    text = lexical.correct_spelling(condense_query(question, history, lexical))
    if text == corrected:
        vector = embedder.embed([text])[0]
        return Query(text, corrected, vector, vector, latest)
    vectors = embedder.embed([text, corrected])
    return Query(text, corrected, vectors[0], vectors[1], latest)
