"""Spelling correction against the words of one index snapshot.

The vocabulary's word lists only grow (see ``newsrag.retrieval.segments.Vocabulary``), so the
words a snapshot holds are those with a count above zero in it. Of equally close candidates the
commoner wins, then the one first in alphabetical order, whatever order the rows were indexed in.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from newsrag.text.sentences import is_english_word, lexical_tokens, normalize_for_match
from newsrag.text.words import LETTERS

if TYPE_CHECKING:
    from newsrag.retrieval.snapshot import IndexSnapshot

CUTOFF = 80


def _cased(correction: str, asked: str) -> str:
    """``correction`` (lower case, as the index keeps words) in the casing pattern of the word
    asked: ``PESKOF`` → ``PESKOV``, ``Peskof`` → ``Peskov``, ``peskof`` → ``peskov``."""
    if len(asked) > 1 and asked.isupper():
        return correction.upper()
    if asked[:1].isupper():
        return correction[:1].upper() + correction[1:]
    return correction


def correct_spelling(snapshot: IndexSnapshot, text: str) -> str:
    """Replace words that are neither in the index nor English by the closest word the index
    has, in the casing the word was asked in (``Peskof`` → ``Peskov``, ``PESKOF`` →
    ``PESKOV``, ``criticise`` → ``criticised``), so that misspelt names still match and the
    names-and-numbers gate still sees a name. English words stay as asked: "roughly" is not a
    misspelling of "thoroughly", and a capitalised word the dictionary knows is someone
    ("Jonson") is not turned into someone else ("Johnson"). A capitalised word whose stem the
    index holds is only ever written as that stem's word. Unknown words with no close match
    stay too."""
    if snapshot.long_terms_present == 0:
        return text

    def replace(match: re.Match[str]) -> str:
        word = match.group()
        tokens = lexical_tokens(word)
        if len(tokens) != 1 or len(tokens[0]) < 4 or tokens[0].isdigit():
            return word
        if snapshot.word_count(normalize_for_match(word)) > 0 or is_english_word(word):
            return word
        written = commonest_word(snapshot, tokens[0])
        if word[0].isupper() and written is not None:  # a name the index holds
            return _cased(written, word)
        # closest word as written ("resolushun" → "resolution"), else closest stem
        # ("tweeet" → "tweet", written "tweeted")
        found = _closest_word(snapshot, normalize_for_match(word))
        if found is not None:
            return _cased(found, word)
        stem = _closest_stem(snapshot, tokens[0])
        if stem is None:
            return word
        return _cased(commonest_word(snapshot, stem) or stem, word)

    return LETTERS.sub(replace, text)


def commonest_word(snapshot: IndexSnapshot, stem: str) -> str | None:
    """The commonest current word (3 characters or more) written for ``stem``."""
    vocabulary, counts = snapshot.vocabulary, snapshot.word_counts
    best: tuple[int, str] | None = None
    for word_id in vocabulary.stem_words.get(stem, ()):
        if word_id < len(counts) and counts[word_id] > 0:
            key = (-int(counts[word_id]), vocabulary.words[word_id])
            if best is None or key < best:
                best = key
    return best[1] if best else None


def _closest_word(snapshot: IndexSnapshot, word: str) -> str | None:
    vocabulary = snapshot.vocabulary
    return _closest(
        word,
        vocabulary.long_words[: snapshot.long_words],
        vocabulary.long_word_ids,
        snapshot.word_counts,
    )


def _closest_stem(snapshot: IndexSnapshot, stem: str) -> str | None:
    vocabulary = snapshot.vocabulary
    return _closest(
        stem,
        vocabulary.long_terms[: snapshot.long_terms],
        vocabulary.long_term_ids,
        snapshot.document_frequency,
    )


def _closest(query: str, choices: list[str], ids: list[int], counts: np.ndarray) -> str | None:
    """The choice closest to ``query`` (ratio ≥ CUTOFF) among those counted in this snapshot;
    of equally close ones the commonest, then the first alphabetically."""
    from rapidfuzz import fuzz, process

    best: tuple[float, int, str] | None = None
    found = process.extract(
        query, choices, scorer=fuzz.ratio, score_cutoff=CUTOFF, processor=None, limit=None
    )
    for choice, score, position in found:
        count = int(counts[ids[position]])
        if count > 0:
            key = (-float(score), -count, str(choice))
            if best is None or key < best:
                best = key
    return best[2] if best else None
