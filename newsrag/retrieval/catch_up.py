"""What the corpus index reads to catch up with the store, and the changes it applies.

A catch-up compares, for each document, the write the index holds with the write its record
names. It reads only the records of the documents the store's change log names since the
index last looked (``store.change_log``), or every record when the log cannot say.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from newsrag.components.store import change_log
from newsrag.components.store import records as stored
from newsrag.components.store.chroma import ChromaStore
from newsrag.models import StoredDocument
from newsrag.retrieval.segments import TokenizedRow


@dataclass(frozen=True, slots=True)
class TokenizedChange:
    """A store change with its rows tokenized (outside the index's lock)."""

    committed: dict[str, tuple[str, list[TokenizedRow]]]  # document → (write, rows)
    deleted: tuple[str, ...]
    generation_before: str | None
    generation: str
    sources: dict[str, str | None] = field(default_factory=dict)  # committed document → source

    def writes(self) -> dict[str, str | None]:
        """Each document's write after the change (None: deleted)."""
        return {**{d: w for d, (w, _) in self.committed.items()}, **dict.fromkeys(self.deleted)}


def disagree(
    records: Mapping[str, StoredDocument],
    writes: Mapping[str, str | None],
    read: Collection[str] | None = None,
) -> bool:
    """Whether a record names another write than ``writes`` says (or exists, or not), among
    the documents whose records were ``read`` (None: every record was)."""
    return any(
        (records[d].write if d in records else None) != write
        for d, write in writes.items()
        if read is None or d in read
    )


def logged_records(
    store: ChromaStore, indexed: Mapping[str, str], looked_at: float
) -> tuple[dict[str, StoredDocument], set[str]]:
    """The records of the documents logged since ``looked_at`` (less the margin) under a write
    other than the one ``indexed``, and the ids read (a deleted document has no record)."""
    logged = store.changed_since(looked_at - change_log.MARGIN_S)
    read = {d for d, writes in logged.items() if writes != {indexed.get(d, change_log.DELETED)}}
    ordered = sorted(read)
    records: dict[str, StoredDocument] = {}
    page = stored.RECORDS_PER_READ  # see there
    for start in range(0, len(ordered), page):
        records.update(store.get_documents(ordered[start : start + page]))
    return records, read
