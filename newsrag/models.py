"""The records that flow through ingest and into the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What a metadata value may be: Chroma stores flat values only.
MetadataValue = str | int | float | bool
# What an ingest did with a document: a new id, a new text or metadata, nothing to do, or (a
# source cancelled the story) took it out of answers.
IngestStatus = Literal["created", "updated", "unchanged", "withdrawn"]


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as given by a caller or a loader; ``text`` is kept byte for byte."""

    text: str
    title: str
    document_id: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: str | None = None  # normalised ISO 8601 (see newsrag.text.dates)
    metadata: dict[str, MetadataValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sentence:
    index: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A token-bounded window of the document; ``text == document_text[start:end]``."""

    chunk_id: str
    position: int
    start: int
    end: int
    text: str
    first_sentence: int
    last_sentence: int


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document_id: str
    title: str
    text_hash: str
    chunks: int
    ingested_at: str
    url: str | None = None
    source: str | None = None
    published_at: str | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    text: str | None = None
    version: int = 1  # 1 for the first text ingested under this id, +1 for each changed text
    wire_group: str = (
        ""  # the id shared by near-identical copies (see newsrag.text.near_duplicates)
    )
    has_copies: bool = False  # another document joined this one's wire group
    # The commit protocol (see store.commit): the write whose chunk rows and sentence pack this
    # record names, the write it replaced (whose rows are garbage once this one is committed),
    # and the write of the previous text (the history chain).
    write: str = ""
    replaces: str = ""
    previous_write: str = ""
    sentences: int = 0
    # when the source withdrew (killed) the story: its record and versions stay, its chunk rows
    # and sentences are gone, so nothing of it is retrieved or cited (None: it is live)
    withdrawn_at: str | None = None

    @property
    def group(self) -> str:
        return self.wire_group or self.document_id


@dataclass(frozen=True, slots=True)
class Correction:
    """How a sentence of the current version came to be: changed or added by a later text."""

    version: int
    corrected_at: str
    previous: str | None  # how it read before; None when the sentence was added


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One text a document has had; the current one has ``superseded_at`` None."""

    document_id: str
    version: int
    text_hash: str
    title: str
    ingested_at: str
    chars: int
    published_at: str | None = None
    superseded_at: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    document_id: str
    status: IngestStatus
    chunks: int
    title: str
