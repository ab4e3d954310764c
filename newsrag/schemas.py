"""The HTTP contract (``shared/API.md``) as pydantic models; examples feed the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from newsrag.config import AnswerMode, ReaderKind
from newsrag.models import IngestStatus, MetadataValue
from newsrag.text.ids import (
    DOCUMENT_ID_PATTERN,
    DOCUMENT_ID_RULE,
    MAX_DOCUMENT_ID_CHARS,
    is_valid_document_id,
)
from newsrag.text.titles import MAX_TITLE_CHARS

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = 8000
# an html or newsml body, the page around the article included (ingest.formats.limits matches)
MAX_PAGE_CHARS = 20_000_000

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _valid_unicode(value: object) -> object:
    """Lone surrogates (JSON's "\\ud800") are not text: nothing could encode, hash or store them."""
    if isinstance(value, str) and not value.isascii() and _LONE_SURROGATE.search(value):
        raise ValueError("contains a lone surrogate (U+D800-U+DFFF), which is not valid Unicode")
    return value


# Every string a user sends is one of these (or constrains one), so each is valid Unicode.
UserStr = Annotated[str, BeforeValidator(_valid_unicode)]


def _reachable_document_id(value: str) -> str:
    if not is_valid_document_id(value):
        raise ValueError(DOCUMENT_ID_RULE)
    return value


DocumentId = Annotated[
    UserStr,
    StringConstraints(min_length=1, max_length=MAX_DOCUMENT_ID_CHARS, pattern=DOCUMENT_ID_PATTERN),
    AfterValidator(_reachable_document_id),
]


def _plain_metadata_value(value: object) -> object:
    """One message naming the key, instead of one per member of the union."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (not NaN or Infinity)")
    return _valid_unicode(value)


MetadataValueIn = Annotated[MetadataValue, BeforeValidator(_plain_metadata_value)]


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be empty or only white space")
    return value


class DocumentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Kremlin says there is no ‘reliable information’ …",
                    "title": "Kremlin says there is no ‘reliable information’",
                    "document_id": "pinknews-2017-chechnya",
                    "url": "https://www.pinknews.co.uk/…",
                    "source": "PinkNews",
                    "published_at": "2017-04-14",
                    "metadata": {"section": "world"},
                },
                {"html": "<html>…</html>", "url": "https://example.org/story"},
                {"ninjs": {"uri": "urn:newsml:example.com:20231001:abc", "headline": "…"}},
                {"newsml": "<newsItem xmlns='http://iptc.org/std/nar/2006-10-01/' …>"},
            ]
        },
    )

    # exactly one of text, html, ninjs and newsml (checked by the documents use case, which
    # names the field); the other fields, when sent, win over what a format says
    text: UserStr | None = Field(
        default=None, description="The article's exact text; stored and cited byte for byte."
    )
    html: Annotated[UserStr, StringConstraints(max_length=MAX_PAGE_CHARS)] | None = Field(
        default=None, description="A web page; its article text is extracted (trafilatura)."
    )
    ninjs: dict[str, Any] | None = Field(default=None, description="An IPTC ninjs 2.x/3.x item.")
    newsml: Annotated[UserStr, StringConstraints(max_length=MAX_PAGE_CHARS)] | None = Field(
        default=None, description="A NewsML-G2 newsItem (or a newsMessage: its first item)."
    )
    title: (
        Annotated[UserStr, StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS)] | None
    ) = Field(default=None, description="Defaults to the first line of the text.")
    document_id: DocumentId | None = Field(
        default=None, description="Your stable id; derived from the text when absent."
    )
    url: Annotated[UserStr, StringConstraints(max_length=2000)] | None = None
    source: Annotated[UserStr, StringConstraints(max_length=200)] | None = None
    published_at: dt.datetime | dt.date | None = Field(
        default=None, description="ISO 8601 date or datetime."
    )
    metadata: dict[Annotated[UserStr, StringConstraints(max_length=100)], MetadataValueIn] = Field(
        default_factory=dict, max_length=50
    )

    _text_not_blank = field_validator("text")(_not_blank)

    @field_validator("published_at", mode="before")
    @classmethod
    def _date_stays_a_date(cls, value: object) -> object:
        """'2017-04-11' is kept as a date (not read as midnight of a datetime)."""
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                return value
        return value


class IngestOut(BaseModel):
    document_id: str
    status: IngestStatus
    chunks: int
    title: str


class DocumentSummary(BaseModel):
    document_id: str
    title: str
    url: str | None = None
    source: str | None = None
    published_at: str | None = None
    chunks: int
    ingested_at: str
    withdrawn_at: str | None = Field(
        default=None,
        description="When its source withdrew (killed) the story: it is no longer retrieved or "
        "cited, its versions are kept. Null while it is live.",
    )


class DocumentDetail(DocumentSummary):
    text: str
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    next_cursor: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant"]
    content: Annotated[UserStr, StringConstraints(max_length=MAX_TURN_CHARS)]


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "Who signed the letter?", "top_k": 5},
                {
                    "question": "Which Republicans were among them?",
                    "history": [
                        {"role": "user", "content": "Who signed the letter to Rex Tillerson?"},
                        {"role": "assistant", "content": "50 Members of Congress … [1]"},
                    ],
                },
            ]
        },
    )

    question: Annotated[UserStr, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS)]
    document_ids: list[DocumentId] | None = Field(default=None, max_length=100)
    published_after: dt.datetime | dt.date | None = None
    published_before: dt.datetime | dt.date | None = None
    top_k: int | None = Field(default=None, ge=1, le=20, description="Passages to use, 1-20.")
    mode: AnswerMode | None = Field(default=None, description="Default: the server's mode.")
    reader: ReaderKind | None = Field(
        default=None,
        description="Who decides whether the passages answer and which sentences are the "
        "evidence: `llm` (a model reads them) or `heuristic` (the fast scorer). Default: the "
        "server's reader.",
    )
    history: list[Message] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)
    stream: bool = Field(default=False, description="Answer as Server-Sent Events.")
    as_of: dt.date | None = Field(
        default=None,
        description="Answer as of this date: later articles are ignored, and time words in the "
        "question ('this week', 'last month') count from it. Default: the newest article's date.",
    )

    _question_not_blank = field_validator("question")(_not_blank)


class CopyRef(BaseModel):
    """Another outlet's copy of the cited wire story."""

    document_id: str
    title: str
    source: str | None = None
    published_at: str | None = None
    url: str | None = None


class CorrectionNote(BaseModel):
    """The cited sentence was changed (or added) by a correction of the document."""

    version: int = Field(description="The document version whose text changed this sentence.")
    corrected_at: str = Field(description="When that version was ingested (UTC, ISO 8601).")
    previous: str | None = Field(
        default=None, description="How the sentence read before; null when it was added."
    )


class Citation(BaseModel):
    id: int
    document_id: str
    title: str
    url: str | None = None
    source: str | None = None
    published_at: str | None = None
    chunk_id: str
    quote: str = Field(description="Exactly document_text[start:end].")
    start: int
    end: int
    score: float
    also_in: list[CopyRef] = Field(
        default_factory=list,
        description="Other documents carrying the same wire story (near-identical text).",
    )
    correction: CorrectionNote | None = Field(
        default=None, description="Set when a later version of the document changed this sentence."
    )


class TimeFrameOut(BaseModel):
    """The publication dates the question's time words selected (inclusive)."""

    phrase: str | None = Field(default=None, description="The words read as a time frame.")
    published_after: str | None = None
    published_before: str | None = None
    latest: bool = Field(default=False, description="The question asks for the latest.")


class Verification(BaseModel):
    supported: int
    dropped: list[str] = Field(default_factory=list)


class ShortAnswerSpan(BaseModel):
    """A name, number or date: an exact span inside one cited sentence."""

    text: str = Field(description="Exactly document_text[start:end], inside a cited quote.")
    document_id: str
    start: int
    end: int
    citation: int = Field(description="The id of the citation whose quote holds the span.")


class ShortAnswerVerdict(BaseModel):
    """The answer to a yes/no question, resting on the cited sentences."""

    text: Literal["yes", "no"]
    citations: list[int]


class ReadingOut(BaseModel):
    """How the reader decided: ``score`` ≥ ``threshold`` means the passages answer."""

    reader: ReaderKind
    score: float = Field(description="Calibrated confidence (0-1) that the passages answer.")
    threshold: float
    model: bool = Field(description="Whether a model read the passages (false: the fast path).")


class AskResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "answer": "But a spokesman for Putin Dmitry Peskov told journalists on Friday: "
                    "“We do not have any reliable information about any problems in this "
                    "area.” [1]",
                    "refused": False,
                    "mode": "extractive",
                    "citations": [
                        {
                            "id": 1,
                            "document_id": "chechnya-purge-kremlin",
                            "title": "Kremlin says there is no ‘reliable information’ …",
                            "url": None,
                            "source": "PinkNews",
                            "published_at": None,
                            "chunk_id": "chechnya-purge-kremlin#3f9a…-c00000",
                            "quote": "But a spokesman for Putin Dmitry Peskov told journalists …",
                            "start": 1003,
                            "end": 1141,
                            "score": 0.83,
                        }
                    ],
                    "timings_ms": {"retrieve": 4.1, "generate": 0.9, "total": 6.3},
                }
            ]
        }
    )

    answer: str
    refused: bool
    mode: AnswerMode
    citations: list[Citation]
    timings_ms: dict[str, float]
    note: str | None = Field(default=None, description="Why the mode differs from the request.")
    verification: Verification | None = None
    time_frame: TimeFrameOut | None = Field(
        default=None, description="Set when time words in the question narrowed the articles."
    )
    short_answer: ShortAnswerSpan | ShortAnswerVerdict | None = Field(
        default=None,
        description="The answer in a few words (a name, number, date: an exact span of a cited "
        "sentence; or yes/no), shown before the cited sentences; null when there is none.",
    )
    reading: ReadingOut | None = Field(default=None, description="The reader's decision.")


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "Ros-Lehtinen", "top_k": 3}]}
    )

    query: Annotated[UserStr, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS)]
    top_k: int | None = Field(default=None, ge=1, le=20)
    document_ids: list[DocumentId] | None = Field(default=None, max_length=100)
    published_after: dt.datetime | dt.date | None = None
    published_before: dt.datetime | dt.date | None = None
    as_of: dt.date | None = Field(
        default=None,
        description="Search as of this date: later articles are ignored, and time words in the "
        "query count from it, as for /v1/ask. Default: the newest article's date.",
    )

    _query_not_blank = field_validator("query")(_not_blank)


class SearchResult(BaseModel):
    document_id: str
    title: str
    chunk_id: str
    text: str
    start: int
    end: int
    score: float
    published_at: str | None = None
    also_in: list[CopyRef] = Field(
        default_factory=list, description="Other copies of the same wire story."
    )


class VersionSummary(BaseModel):
    version: int = Field(description="1 for the first text, +1 for each changed text.")
    text_hash: str
    title: str
    published_at: str | None = None
    ingested_at: str
    superseded_at: str | None = Field(default=None, description="null for the current version.")
    current: bool
    chars: int


class VersionDetail(VersionSummary):
    text: str


class VersionList(BaseModel):
    document_id: str
    versions: list[VersionSummary] = Field(description="Oldest first; the last one is current.")


class SearchResponse(BaseModel):
    results: list[SearchResult]


class SourceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://example.org/feed.xml", "every_minutes": 10}]
        },
    )

    url: Annotated[UserStr, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="An RSS or Atom feed (or one article page), http or https."
    )
    every_minutes: int = Field(default=60, ge=1, le=10_080, description="How often it is polled.")


class SyncRejection(BaseModel):
    ref: str = Field(description="The entry's guid, the page's url: what names the item.")
    reason: str


class SyncResult(BaseModel):
    status: Literal["synced", "not_modified", "failed"]
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="Stories by outcome: created, updated, unchanged, withdrawn, rejected.",
    )
    rejected: list[SyncRejection] = Field(
        default_factory=list, description="The first rejected items and why."
    )
    error: str | None = Field(default=None, description="Why the source itself failed.")
    note: str | None = None
    seconds: float = 0.0


class SourceOut(BaseModel):
    source_id: str
    url: str
    every_minutes: int
    created_at: str
    last_synced_at: str | None = None
    next_sync_at: str | None = None
    last_result: SyncResult | None = None


class SourceList(BaseModel):
    sources: list[SourceOut]


class Info(BaseModel):
    answer_mode: AnswerMode
    reader: ReaderKind = Field(description="The reader that decides when a request names none.")
    generative_available: bool
    llm_model: str | None
    auth_required: bool
    version: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
