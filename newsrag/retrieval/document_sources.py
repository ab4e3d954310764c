"""The source (outlet) of each document the corpus index holds, with a version number that
changes whenever they do, so that the outlets are regrouped only then. Not thread-safe: the
index's lock guards it."""

from __future__ import annotations

from collections.abc import Mapping


class DocumentSources:
    def __init__(self, sources: Mapping[str, str] | None = None) -> None:
        self._sources: dict[str, str] = dict(sources or {})
        self._version = 0

    def set(self, sources: Mapping[str, str | None], *, replace_all: bool = False) -> None:
        """Each document's source from now on (None or "": it has none); ``replace_all``: these
        are all the documents."""
        before = self._sources
        changed = replace_all
        if replace_all:
            self._sources = {}
        for document_id, source in sources.items():
            changed = changed or before.get(document_id) != (source or None)
            if source:
                self._sources[document_id] = source
            else:
                self._sources.pop(document_id, None)
        if changed:
            self._version += 1

    def copy(self) -> dict[str, str]:
        return dict(self._sources)

    def changed_since(self, known: int | None) -> tuple[int, dict[str, str]] | None:
        """The version and a copy of the sources, or None when the version is still ``known``."""
        return None if known == self._version else (self._version, self.copy())
