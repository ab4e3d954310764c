"""When the copies of a wire story print a cited sentence differently, cite it as most of them
print it and say that they differ.

A copy edited on the way (a tampered quotation, a changed figure) must not speak for the story:
the cited copy is the group's first in citation order (a preferred source, else the first one
ingested), and where the copies disagree on the sentence an answer cites, the version that most
copies print wins (a tie keeps the first copy's). The answer's note names the copies that print
it otherwise and how.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cachetools import LRUCache

from newsrag.components.store.chroma import ChromaStore, SentenceRow
from newsrag.models import StoredDocument
from newsrag.retrieval.hybrid import Passage
from newsrag.text import near_duplicates
from newsrag.text.ids import chunk_id
from newsrag.text.sentences import normalize_for_match

CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Settled:
    """The sentence to cite (perhaps from another copy) and the note saying how copies differ."""

    row: SentenceRow
    passage: Passage
    note: str


@dataclass
class _Version:
    text: str  # as its first holder prints it
    holders: list[StoredDocument] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # document id -> sentence index


class CopyAgreement:
    """Compares a cited sentence with the other copies of its story (texts and alignments are
    cached by text hash: a version's text never changes)."""

    def __init__(self, store: ChromaStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._texts: LRUCache[tuple[str, str], str] = LRUCache(maxsize=CACHE_SIZE)
        self._comparisons: LRUCache[tuple[str, str], near_duplicates.Comparison] = LRUCache(
            maxsize=CACHE_SIZE
        )

    def settle(self, number: int, row: SentenceRow, passage: Passage) -> Settled | None:
        """None when no copy prints the sentence otherwise."""
        group = passage.group
        if len(group) < 2:
            return None
        texts = self._texts_of(group)
        cited = passage.document
        cited_text = texts.get(cited.document_id)
        if cited_text is None:
            return None
        versions = [_Version(row.text, [cited], {cited.document_id: row.index})]
        for copy in group:
            text = texts.get(copy.document_id)
            if copy.document_id == cited.document_id or text is None:
                continue
            pair = self._compare(cited, cited_text, copy, text).counterpart(row.index)
            if pair is None:  # this copy does not print the sentence (a dropped paragraph)
                continue
            printed = text[pair.b_span.start : pair.b_span.end]
            version = versions[0] if pair.agrees else _version_of(versions, printed)
            version.holders.append(copy)
            version.index[copy.document_id] = pair.b
        if len(versions) == 1:
            return None
        order = {document.document_id: position for position, document in enumerate(group)}
        winner = max(
            versions,
            key=lambda v: (len(v.holders), -min(order.get(h.document_id, 0) for h in v.holders)),
        )
        moved = self._cite(winner, group, passage)
        if moved is None:  # the winner is the cited copy's own version, or is not readable
            winner = versions[0]
            moved = (row, passage)
        return Settled(*moved, _note(number, winner, versions, order))

    def _cite(
        self, version: _Version, group: tuple[StoredDocument, ...], passage: Passage
    ) -> tuple[SentenceRow, Passage] | None:
        """The version's sentence in its first holder, with the chunk that holds it."""
        holder = version.holders[0]
        if holder.document_id == passage.document.document_id:
            return None
        index = version.index[holder.document_id]
        rows = self._store.record_sentences(holder, [index])
        # chunk ids name the write that stored the record's rows (see newsrag.components.store.rows)
        ids = [chunk_id(holder.document_id, holder.write, p) for p in range(holder.chunks)]
        chunks = self._store.get_chunks(ids)
        holding = [
            chunks[i]
            for i in ids
            if i in chunks
            and chunks[i].first_sentence <= index
            and index <= chunks[i].last_sentence
        ]
        if not rows or not holding:
            return None
        moved = Passage(holding[0], holder, passage.score, None, None, group=group)
        return rows[0], moved

    def _texts_of(self, documents: tuple[StoredDocument, ...]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._lock:
            for document in documents:
                text = self._texts.get((document.document_id, document.text_hash))
                if text is not None:
                    found[document.document_id] = text
        missing = [d.document_id for d in documents if d.document_id not in found]
        fetched = self._store.get_documents(missing, with_text=True) if missing else {}
        wanted = {d.document_id: d.text_hash for d in documents}
        with self._lock:
            for document_id, document in fetched.items():
                # a copy replaced since retrieval read its record is left out, not misquoted
                if document.text is not None and document.text_hash == wanted[document_id]:
                    self._texts[(document_id, document.text_hash)] = document.text
                    found[document_id] = document.text
        return found

    def _compare(
        self, a: StoredDocument, a_text: str, b: StoredDocument, b_text: str
    ) -> near_duplicates.Comparison:
        key = (a.text_hash, b.text_hash)
        with self._lock:
            known = self._comparisons.get(key)
        if known is None:
            known = near_duplicates.compare(a_text, b_text)
            with self._lock:
                self._comparisons[key] = known
        return known


def _version_of(versions: list[_Version], printed: str) -> _Version:
    key = normalize_for_match(printed)
    for version in versions[1:]:
        if normalize_for_match(version.text) == key:
            return version
    versions.append(_Version(printed))
    return versions[-1]


def _name(document: StoredDocument) -> str:
    source, document_id = document.source, document.document_id
    return f"{source} ({document_id})" if source else document_id


def _note(number: int, quoted: _Version, versions: list[_Version], order: dict[str, int]) -> str:
    total = sum(len(v.holders) for v in versions)
    most = max(len(v.holders) for v in versions)
    tie = len(quoted.holders) == most and sum(len(v.holders) == most for v in versions) > 1
    how = " (no majority: as the preferred or first-ingested copy prints it)" if tie else ""
    parts = [
        f"Copies of this story differ on [{number}]: it is quoted as {len(quoted.holders)} of "
        f"the {total} copies print it{how}."
    ]
    for version in versions:
        if version is quoted:
            continue
        holders = sorted(version.holders, key=lambda h: order.get(h.document_id, 0))
        names = ", ".join(_name(h) for h in holders)
        parts.append(f"{names} print{'s' if len(holders) == 1 else ''}: “{version.text}”")
    return " ".join(parts)
