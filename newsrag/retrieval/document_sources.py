"""The source (outlet) of each document the corpus index holds, and the documents of each
source, both kept as writes come (a write costs what it changes, not what the archive holds).
A version number changes only when a source appears or its last document goes, so the outlets'
names are regrouped only then. Not thread-safe: the index's lock guards it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class DocumentSources:
    def __init__(self, sources: Mapping[str, str] | None = None) -> None:
        self._sources: dict[str, str] = {}
        self._documents: dict[str, set[str]] = {}  # source -> its documents
        self._version = 0
        self.set(sources or {})

    def set(self, sources: Mapping[str, str | None], *, replace_all: bool = False) -> None:
        """Each document's source from now on (None or "": it has none); ``replace_all``: these
        are all the documents."""
        before = set(self._documents) if replace_all else None
        if replace_all:
            self._sources, self._documents = {}, {}
        renamed = False
        for document_id, source in sources.items():
            renamed |= self._move(document_id, source.strip() if source else "")
        if before is not None:
            renamed = before != self._documents.keys()
        if renamed:
            self._version += 1

    def _move(self, document_id: str, source: str) -> bool:
        """Give the document its source; whether a source appeared or lost its last document."""
        before = self._sources.get(document_id)
        if before == (source or None):
            return False
        renamed = False
        if before is not None:
            held = self._documents[before]
            held.discard(document_id)
            if not held:
                del self._documents[before]
                renamed = True
        if source:
            self._sources[document_id] = source
            renamed |= source not in self._documents
            self._documents.setdefault(source, set()).add(document_id)
        else:
            self._sources.pop(document_id, None)
        return renamed

    def copy(self) -> dict[str, str]:
        return dict(self._sources)

    def names_since(self, known: int | None) -> tuple[int, tuple[str, ...]] | None:
        """The version and the sources' names, or None when the version is still ``known``."""
        return None if known == self._version else (self._version, tuple(sorted(self._documents)))

    def documents(self, sources: Iterable[str]) -> frozenset[str]:
        """The ids of the documents of these sources (a copy)."""
        return frozenset().union(*(self._documents.get(source, ()) for source in sources))
