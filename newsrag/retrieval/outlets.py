"""The outlets a question names, matched against the ``source`` values the archive holds.

Readers name an outlet loosely: "the Verge", "The Verge" and "Verge" are one outlet, so are
"TechCrunch" and "Tech Crunch", "CBS Sports" and "CBSSports.com", and "The Independent" names
both "The Independent - Life and Style" and "The Independent - Sports". Each stored source gets
a few aliases (the name, without a leading "The", the part before a " - " or " | " subtitle,
without a web domain), compared squashed: lower case, letters and digits only. An alias that
is one English word ("Fortune", "Wired", "Guardian") must be capitalised where it is asked, so
"a fortune" or "a legal guardian" name no outlet.

The list of sources is read from the document records (metadata only) and kept in step with the
store's writes, so an outlet is known from the request after the ingest that brought it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from newsrag.components.store import change_log
from newsrag.components.store.changes import StoreChange
from newsrag.components.store.chroma import ChromaStore
from newsrag.models import StoredDocument
from newsrag.text.sentences import STOPWORDS, is_english_word
from newsrag.text.words import WORD

_SUBTITLE = re.compile(r"\s+(?:[-–—|:])\s+")
_DOMAIN = re.compile(r"\.(?:com|co\.uk|org|net|news|co|io)$", re.I)
_THE = re.compile(r"^the\s+", re.I)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_MAX_WORDS = 12  # the longest outlet name asked in full, in words
# generations of this process's writes remembered between questions
_MAX_CHAIN = 10_000


def squash(text: str) -> str:
    """Lower case, letters and digits only: "Tech Crunch" and "TechCrunch" squash alike."""
    return _NOT_ALNUM.sub("", text.casefold())


def aliases(source: str) -> set[str]:
    """The names ``source`` may be asked by, as written (see the module's docstring)."""
    head = _SUBTITLE.split(source.strip(), maxsplit=1)[0]
    found: set[str] = set()
    for name in {source.strip(), head, _DOMAIN.sub("", head)}:
        found.add(name)
        bare = _THE.sub("", name)
        if bare and bare != name:
            found.add(bare)
    return {name for name in found if len(squash(name)) >= 3 and name.casefold() not in STOPWORDS}


@dataclass(frozen=True, slots=True)
class OutletMention:
    """Where a question names an outlet, and which stored sources that name covers."""

    phrase: str  # as written, with a leading "the" when there is one
    start: int
    end: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Alias:
    sources: tuple[str, ...]
    cased: bool  # one English word: only a capitalised mention names the outlet


_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


class Outlets:
    """The aliases of a set of stored sources, and the mentions of them in a text."""

    def __init__(self, documents: Mapping[str, Iterable[str]]) -> None:
        """``documents``: the ids of the documents of each source."""
        self._documents = {
            source.strip(): tuple(sorted(ids))
            for source, ids in documents.items()
            if source.strip()
        }
        table: dict[str, set[str]] = {}
        cased: dict[str, bool] = {}
        for source in sorted(self._documents):
            for alias in aliases(source):
                key = squash(alias)
                table.setdefault(key, set()).add(source)
                content = WORD.findall(_THE.sub("", alias))
                one_word = len(content) == 1 and is_english_word(content[0])
                cased[key] = cased.get(key, True) and one_word
        self.sources = tuple(sorted({s for found in table.values() for s in found}))
        self._table = {
            key: _Alias(tuple(sorted(found)), cased[key]) for key, found in table.items()
        }

    def documents(self, sources: Iterable[str]) -> tuple[str, ...]:
        """The ids of the documents of these sources."""
        return tuple(sorted({i for source in sources for i in self._documents.get(source, ())}))

    def find(self, text: str) -> list[OutletMention]:
        """The outlets ``text`` names, in order; the longest name wins where two overlap
        ("The Independent - Sports" over "The Independent")."""
        words = [
            (match.start(), match.start() + len(_POSSESSIVE.sub("", match.group())))
            for match in WORD.finditer(text)
        ]
        written = [text[start:end] for start, end in words]
        squashed = [squash(word) for word in written]
        mentions: list[OutletMention] = []
        position = 0
        while position < len(words):
            found = self._longest(written, squashed, position)
            if found is None:
                position += 1
                continue
            last, alias = found
            start = words[position][0]
            if position > 0 and squashed[position - 1] == "the":
                start = words[position - 1][0]
            end = words[last][1]
            mentions.append(OutletMention(text[start:end], start, end, alias.sources))
            position = last + 1
        return mentions

    def _longest(
        self, written: list[str], squashed: list[str], position: int
    ) -> tuple[int, _Alias] | None:
        key = ""
        best: tuple[int, _Alias] | None = None
        content = position + 1 if squashed[position] == "the" else position
        for last in range(position, min(len(written), position + _MAX_WORDS)):
            key += squashed[last]
            alias = self._table.get(key)
            if alias is None or (alias.cased and not _capitalised(written, content, last)):
                continue
            best = (last, alias)
        return best


def _capitalised(written: list[str], content: int, last: int) -> bool:
    return content <= last and written[content][:1].isupper()


class OutletCatalogue:
    """The sources the store holds, per store generation (the query planner refreshes the corpus
    index first and passes the generation it read).

    This process's writes are followed as they come (the store tells its listeners which
    documents changed and which generation token replaced which): only those documents' records
    are read again, on the next question, so a question after a write does not pay for the whole
    archive. A generation this process's writes do not lead to (another process wrote) is
    caught up from the store's change log: the records of the documents logged since the last
    look are read again. Every record is read only when nothing was read before (the corpus
    index's full reads seed the catalogue, so normally never on a question's path) or the last
    look is older than the log keeps. The store is read outside the lock a write's listener
    takes, so a question's reading never holds up the writers."""

    def __init__(self, store: ChromaStore) -> None:
        self._store = store
        self._generation: str | None = None  # what ``_source_of`` reflects, with ``_pending``
        self._source_of: dict[str, str] = {}  # document → its source
        self._pending: set[str] = set()  # documents this process changed, not yet read again
        self._next: dict[str, str] = {}  # generation → the one this process's write made of it
        self._looked_at: float | None = None  # when ``_source_of`` was last made current
        self._outlets = Outlets({})
        self._lock = threading.Lock()  # the state above; never held while reading the store
        self._refreshing = threading.Lock()  # one reader of the store at a time
        store.subscribe(self._on_change)

    def outlets(self, generation: str | None) -> Outlets:
        if generation is not None and generation == self._generation and not self._pending:
            return self._outlets
        with self._refreshing:
            with self._lock:
                current = self._generation
                unrelated = (
                    generation is None
                    or current is None
                    or not (self._leads(current, generation) or self._leads(generation, current))
                )
                if not unrelated and not self._pending:
                    if current is not None and generation is not None:
                        self._generation = self._newer(current, generation)
                    return self._outlets  # nothing changed that is not read yet
                changed, self._pending = self._pending, set()
                looked_at = change_log.now()
                full = unrelated and (
                    current is None or not change_log.usable(self._looked_at, looked_at)
                )
                if unrelated:
                    self._next.clear()
            try:
                if full:
                    read = {d.document_id: d.source for d in self._store.list_documents()}
                else:
                    if unrelated:
                        assert self._looked_at is not None
                        since = self._looked_at - change_log.MARGIN_S
                        changed |= set(self._store.changed_since(since))
                    records = self._store.get_documents(sorted(changed)) if changed else {}
            except BaseException:
                with self._lock:
                    self._pending |= changed
                raise
            with self._lock:
                if full:
                    self._source_of = {d: source for d, source in read.items() if source}
                else:
                    for document_id in changed:
                        record = records.get(document_id)
                        if record is not None and record.source:
                            self._source_of[document_id] = record.source
                        else:
                            self._source_of.pop(document_id, None)
                if unrelated:
                    self._generation = generation
                    self._looked_at = looked_at
                elif current is not None and generation is not None:
                    self._generation = self._newer(current, generation)
                self._outlets = self._grouped()
                return self._outlets

    def seed(
        self, records: Mapping[str, StoredDocument], generation: str, looked_at: float
    ) -> None:
        """Every record, read (by the corpus index) after ``generation`` was and the clock said
        ``looked_at``: the state a full read would give, without reading them again. This
        process's writes not yet read stay pending (they may have landed after ``records`` were
        read). Skipped while a question reads the store (the index's thread must not wait on
        it) and when the catalogue already holds ``generation`` or a state this process's
        writes made of it."""
        if not self._refreshing.acquire(blocking=False):
            return
        try:
            with self._lock:
                if self._generation is not None and self._leads(generation, self._generation):
                    return
                self._source_of = {d: r.source for d, r in records.items() if r.source}
                self._generation = generation
                self._looked_at = looked_at
                self._outlets = self._grouped()
        finally:
            self._refreshing.release()

    def _grouped(self) -> Outlets:
        by_source: dict[str, list[str]] = {}
        for document_id, source in self._source_of.items():
            by_source.setdefault(source, []).append(document_id)
        return Outlets(by_source)

    def _newer(self, current: str, generation: str) -> str:
        """Of two generations one of which leads to the other, the later."""
        return generation if self._leads(current, generation) else current

    def _leads(self, start: str, end: str) -> bool:
        """Whether this process's writes lead from generation ``start`` to ``end``."""
        seen = {start}
        while start != end:
            found = self._next.get(start)
            if found is None or found in seen:
                return False
            seen.add(start)
            start = found
        return True

    def _on_change(self, change: StoreChange) -> None:
        """A write of this process: its documents are read again on the next question. Its
        generation follows the one it replaced only when that is known (``generation_before``
        read just before stamping, and the outcome known); otherwise no chain leads to the new
        token and the next question reads every record."""
        with self._lock:
            self._pending.update(change.document_ids)
            if change.known and change.generation_before and change.generation:
                if len(self._next) >= _MAX_CHAIN:
                    self._next.clear()  # a question reads every record once, and the chain restarts
                self._next[change.generation_before] = change.generation
