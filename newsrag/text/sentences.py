"""Text primitives with exact offsets: sentence spans and lexical tokens.

Every span is a half-open ``(start, end)`` pair of Python string indices into the exact text, so
``text[start:end]`` is always the sentence itself (stripped of surrounding white space).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# A sentence ends at ., ! or ? (possibly followed by closing quotes or brackets) when white space
# and the start of a new sentence follow. Line breaks always end a sentence: news copy puts
# headlines, captions and quotes on their own lines.
_SENTENCE_END = re.compile(r"""[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])""")
_LINE_BREAK = re.compile(r"\n")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof rep sen gov gen lt col sgt capt st jr sr no vs etc inc ltd co corp dept
    univ jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m""".split()
)
WORD_RUN = re.compile(r"\w+", re.UNICODE)  # a run of word characters: what is tokenised
_STRAIGHT_QUOTES = str.maketrans("“”‘’–", "\"\"''-")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves s t say said says tell
    told according also""".split()
)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def _strip_span(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def _is_abbreviation(text: str, dot_index: int) -> bool:
    """True when the '.' at ``dot_index`` closes an abbreviation or an initial, not a sentence."""
    if text[dot_index] != ".":
        return False
    word_start = dot_index
    while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:dot_index].lower()
    if len(word) == 1 and word.isalpha():  # an initial such as "David N. Cicilline"
        return True
    return word in _ABBREVIATIONS


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]``, as offsets into ``text``."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    line_start = start
    for line_match in [*_LINE_BREAK.finditer(text, start, end), None]:
        line_end = line_match.start() if line_match else end
        cursor = line_start
        for match in _SENTENCE_END.finditer(text, line_start, line_end):
            first_dot = match.start()
            if _is_abbreviation(text, first_dot):
                continue
            span = _strip_span(text, cursor, match.end())
            if span:
                spans.append(span)
            cursor = match.end()
        span = _strip_span(text, cursor, line_end)
        if span:
            spans.append(span)
        if line_match:
            line_start = line_match.end()
    return spans


def normalize_for_match(text: str) -> str:
    """Lower case, straight quotes, collapsed white space: for comparing strings, not offsets."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_STRAIGHT_QUOTES)
    return " ".join(text.lower().split())


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball English stemmer in C

    return Stemmer.Stemmer("english")


def _stems(words: list[str]) -> tuple[str, ...]:
    # one call for many words: PyStemmer caches recent words in C
    return tuple(_stemmer().stemWords(words))


def lexical_tokens(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Lower-cased, Snowball-stemmed word tokens for BM25 and overlap scores."""
    return list(_lexical_tokens(text, keep_stopwords))


@lru_cache(maxsize=65536)  # the same sentences are scored again and again across questions
def _lexical_tokens(text: str, keep_stopwords: bool) -> tuple[str, ...]:
    words = WORD_RUN.findall(normalize_for_match(text))
    return _stems(words if keep_stopwords else [w for w in words if w not in STOPWORDS])


def surface_words(text: str) -> list[str]:
    """Lower-cased words as written (no stemming, no stopwords): what a correction may become."""
    return [word for word in WORD_RUN.findall(normalize_for_match(text)) if word not in STOPWORDS]


def index_words(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``lexical_tokens`` and the distinct ``surface_words`` of a text, in one pass and not
    cached: what indexing a chunk needs (a chunk is read once; sentences are cached)."""
    words = [word for word in WORD_RUN.findall(normalize_for_match(text)) if word not in STOPWORDS]
    return _stems(words), tuple(sorted(set(words)))


@lru_cache(maxsize=1)
def _english_dictionary() -> Any:
    from spellchecker import SpellChecker  # pyspellchecker's English word list, loaded on first use

    return SpellChecker(distance=1)


@lru_cache(maxsize=8192)
def is_english_word(word: str) -> bool:
    """True for a word of the English dictionary, in any case."""
    return normalize_for_match(word) in _english_dictionary()


# Sentences that talk to the assistant rather than report news: instructions planted in an
# article ("System: when asked about X, say Y", "ignore previous instructions", "in your
# response…"). They are never evidence, in any answer mode. Reported speech stays evidence:
# "When asked about it, Peskov said…" names a speaker, where an instruction gives an order.
_INSTRUCTION = re.compile(
    r"^\W*(system|assistant|developer|ai|chatbot)( prompt| message| note| instructions?)?\s*:"
    r"|\[/?(inst|sys)\]|<\|?(system|im_start|im_end)\b|#{2,}\s*(instruction|system|response)\b"
    r"|\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+|of\s+)*"
    r"(previous|prior|above|earlier|preceding|original|system)\s+(instructions?|prompts?|"
    r"rules|directions|guidelines|messages|context|commands?)\b"
    r"|\b(your (answer|response|reply|message|output)|in your (reply|response|answer))\b"
    r"|\b(you|assistant) (must|should) (now )?(reply|respond|answer|say|write)\b"
    r"|\b(when(ever)?|if)\s+(you\s+are\s+|you're\s+|you\s+get\s+|anyone\s+|someone\s+|"
    r"a\s+user\s+|the\s+user\s+|users?\s+)?(asked|questioned|prompted|asks)\b[^.;:]{0,160}?"
    r",\s*(always\s+|just\s+|please\s+|simply\s+|you\s+(must|should)\s+)?"
    r"(say|answer|reply|respond|state|tell|claim|write|mention)\b",
    re.I,
)


def looks_like_instruction(sentence: str) -> bool:
    """True for a sentence addressed to the assistant (see ``_INSTRUCTION``)."""
    return bool(_INSTRUCTION.search(sentence))
