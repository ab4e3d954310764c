"""What a request narrows retrieval to: documents and a publication-date window."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Filters:
    document_ids: tuple[str, ...] | None = None
    after_ts: int | None = None
    before_ts: int | None = None
