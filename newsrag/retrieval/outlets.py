"""The outlets a question names, matched against the ``source`` values the archive holds.

Readers name an outlet loosely: "the Verge", "The Verge" and "Verge" are one outlet, so are
"TechCrunch" and "Tech Crunch", "CBS Sports" and "CBSSports.com", and "The Independent" names
both "The Independent - Life and Style" and "The Independent - Sports". Each stored source gets
a few aliases (the name, without a leading "The", the part before a " - " or " | " subtitle,
without a web domain), compared squashed: lower case, letters and digits only. An alias that
is one English word ("Fortune", "Wired", "Guardian") must be capitalised where it is asked, so
"a fortune" or "a legal guardian" name no outlet.

The sources are those of the documents the corpus index holds (``CorpusIndex.source_names``),
kept in step with the store's writes, so an outlet is known from the request after the ingest that
brought it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from newsrag.retrieval.index import CorpusIndex
from newsrag.text.sentences import STOPWORDS, is_english_word
from newsrag.text.words import WORD

_SUBTITLE = re.compile(r"\s+(?:[-–—|:])\s+")
_DOMAIN = re.compile(r"\.(?:com|co\.uk|org|net|news|co|io)$", re.I)
_THE = re.compile(r"^the\s+", re.I)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_MAX_WORDS = 12  # the longest outlet name asked in full, in words


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


DocumentsOf = Callable[[Iterable[str]], frozenset[str]]


class Outlets:
    """The aliases of a set of stored sources, and the mentions of them in a text."""

    def __init__(self, names: Iterable[str], documents_of: DocumentsOf) -> None:
        """``names``: the stored sources; ``documents_of``: the ids of the documents of some of
        them (asked when a question names them, so a source's documents are never copied
        ahead)."""
        table: dict[str, set[str]] = {}
        cased: dict[str, bool] = {}
        for source in sorted({name.strip() for name in names if name.strip()}):
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
        self.documents: DocumentsOf = documents_of

    @classmethod
    def of(cls, documents: Mapping[str, Iterable[str]]) -> Outlets:
        """Fixed outlets: ``documents`` gives the ids of the documents of each source."""
        held: dict[str, frozenset[str]] = {}
        for source, ids in documents.items():
            held[source.strip()] = held.get(source.strip(), frozenset()) | frozenset(ids)

        def documents_of(sources: Iterable[str]) -> frozenset[str]:
            return frozenset().union(*(held.get(source, ()) for source in sources))

        return cls(held, documents_of)

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
    """The outlets of the documents the corpus index holds.

    The index keeps each document's source as it keeps its rows (from this process's writes
    as they come, from the records it reads when catching up with other processes, and on disk
    between runs), so the outlets a question may name match the documents it can retrieve, and
    no question reads a record for them. The names are regrouped only when a source appears or
    its last document goes; a source's documents are looked up when a question names it."""

    def __init__(self, index: CorpusIndex) -> None:
        self._index = index
        self._version: int | None = None
        self._outlets = Outlets((), index.documents_of)
        self._lock = threading.Lock()

    def outlets(self) -> Outlets:
        with self._lock:
            found = self._index.source_names(self._version)
            if found is not None:
                self._version, names = found
                self._outlets = Outlets(names, self._index.documents_of)
            return self._outlets
