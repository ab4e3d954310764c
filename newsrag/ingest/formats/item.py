"""What every newsroom format is read into: an article and what its source says about it."""

from __future__ import annotations

from dataclasses import dataclass

from newsrag.models import Article

# the metadata key naming the source that stored a story (see ``ingest.sources.sync``)
ORIGIN = "origin"


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One story read from a page, a feed entry, a ninjs object or a NewsML-G2 ``newsItem``.

    ``withdrawn``: the source cancelled (killed) the story; it must leave answers but keep its
    versions. ``correction``: the source flags this text as a correction of the previous one.
    """

    article: Article
    withdrawn: bool = False
    correction: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item that could not be read, and why, in one line a newsroom editor understands."""

    ref: str  # the entry's guid, the file's path, the page's url: whatever names it
    reason: str
    retry: bool = False  # it may pass another time (a linked page that could not be fetched)
