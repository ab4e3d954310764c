"""Wire copies: the same story syndicated by several outlets, found by MinHash over the text.

A document's signature is a MinHash (datasketch) of its word 5-shingles; two documents are copies
when the estimated Jaccard similarity of their shingles reaches the configured threshold (calibrated
with ``python -m newsrag.eval.calibrate_wire``). Candidates are found in the store itself by
locality-sensitive hashing: the signature is cut into bands, each band's hash is a metadata field of
the document record, and a document sharing any band with the new one is a candidate. Every replica
therefore sees the same groups without an index of its own."""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

import numpy as np

from newsrag.text.sentences import WORD_RUN, Span, split_sentences

NUM_PERM = 128
# 64 bands of 2 rows: a pair at Jaccard 0.25 shares a band with probability 0.98, one at 0.01
# (unrelated stories) with probability 0.006, so few records are fetched to compare.
BANDS = 64
ROWS = NUM_PERM // BANDS
SHINGLE_WORDS = 5
# Briefs shorter than this share too much boilerplate to call copies ("The council met on ...");
# they are never grouped.
MIN_WORDS = 60
SEED = 20170414

Signature = np.ndarray
# Sentences of two texts are the same sentence, edited, when this share of their words align.
PAIR_RATIO = 0.5
# Copies of one story may disagree on a sentence (a tampered quote, an uncorrected figure); when
# more than this share of the aligned sentences differ in their facts, the texts are different
# stories that share boilerplate ("Polls were open from 7am...") around different results.
MAX_CONFLICT_SHARE = 0.1
_TOKEN = re.compile(r"\w+(?:[.,:'’]\w+)*", re.UNICODE)
_QUOTE_OR_BREAK = re.compile(r"[“”\"\n]")
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred hundreds thousand thousands million millions billion billions dozen dozens
    half""".split()
)
_NEGATIONS = frozenset("not no never none nobody nothing neither nor cannot without".split())


# Pairing sentences of a changed stretch is quadratic: a crafted pair of long near-copies must
# not cost minutes of one request's CPU.
MAX_PAIRINGS = 10_000


def _shingles(text: str) -> set[bytes]:
    words = WORD_RUN.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def signature(text: str) -> Signature | None:
    """The MinHash of the text's shingles; None for a text too short to compare."""
    from datasketch import MinHash

    if len(WORD_RUN.findall(text)) < MIN_WORDS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(list(_shingles(text)))
    return np.asarray(minhash.hashvalues, dtype=np.uint64)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(np.mean(a == b))


def band_keys(sig: Signature) -> list[str]:
    return [
        hashlib.blake2b(sig[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8).hexdigest()
        for band in range(BANDS)
    ]


def band_field(band: int) -> str:
    return f"lsh_{band:02d}"


def encode(sig: Signature) -> str:
    return base64.b64encode(sig.astype("<u8").tobytes()).decode("ascii")


def decode(value: str) -> Signature | None:
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, UnicodeError):
        return None
    if len(raw) != NUM_PERM * 8:
        return None
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


@dataclass(frozen=True, slots=True)
class _Word:
    key: str  # casefolded, for aligning
    fact: bool  # a name or a number: a copy may drop one (a dateline) but not change it
    negation: bool
    quoted: bool  # inside quotation marks: a copy may not change a quotation at all


_Sentences = tuple[tuple[Span, tuple[_Word, ...]], ...]  # each sentence and its words


@dataclass(frozen=True, slots=True)
class Pair:
    """Sentence ``a`` of the first text and sentence ``b`` of the second are one sentence,
    printed alike or edited; ``agrees`` unless the edit changed a name, a number, a negation or
    quoted words."""

    a: int
    b: int
    a_span: Span
    b_span: Span
    agrees: bool


@dataclass(frozen=True, slots=True)
class Comparison:
    pairs: tuple[Pair, ...]

    @property
    def conflicts(self) -> tuple[tuple[Span, Span], ...]:
        return tuple((pair.a_span, pair.b_span) for pair in self.pairs if not pair.agrees)

    @property
    def same_story(self) -> bool:
        """Copies of one story: their aligned sentences agree on names, numbers and quotations,
        but for a few (which answers flag). Headlines, datelines, footers and dropped paragraphs
        align with nothing and do not count either way."""
        if not self.pairs:
            return False
        return len(self.conflicts) <= MAX_CONFLICT_SHARE * len(self.pairs)

    def counterpart(self, a: int) -> Pair | None:
        return next((pair for pair in self.pairs if pair.a == a), None)


def compare(a: str, b: str) -> Comparison:
    """Align the sentences of two texts and say where they disagree (see ``Pair``)."""
    left, right = _sentence_words(a), _sentence_words(b)
    keys_a = [" ".join(w.key for w in words) for _, words in left]
    keys_b = [" ".join(w.key for w in words) for _, words in right]
    pairs: list[Pair] = []
    matcher = SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pairs.extend(
                Pair(i, j, left[i][0], right[j][0], True)
                for i, j in zip(range(a0, a1), range(b0, b1), strict=True)
            )
        elif op == "replace":
            for i, j in _edited(left, right, range(a0, a1), range(b0, b1)):
                pairs.append(Pair(i, j, left[i][0], right[j][0], _agree(left[i][1], right[j][1])))
    pairs.sort(key=lambda pair: pair.a)
    return Comparison(tuple(pairs))


def _edited(
    left: _Sentences,
    right: _Sentences,
    rows: range,
    columns: range,
) -> list[tuple[int, int]]:
    """Sentences of a changed stretch that are edits of one another, most alike first."""
    if len(rows) * len(columns) > MAX_PAIRINGS:  # a rewritten story, not an edited copy
        return []
    scored = []
    matcher: SequenceMatcher[str] = SequenceMatcher(autojunk=False)
    for j in columns:
        matcher.set_seq2([w.key for w in right[j][1]])  # the matcher indexes the second side
        for i in rows:
            matcher.set_seq1([w.key for w in left[i][1]])
            if matcher.real_quick_ratio() < PAIR_RATIO or matcher.quick_ratio() < PAIR_RATIO:
                continue
            ratio = matcher.ratio()
            if ratio >= PAIR_RATIO:
                scored.append((-ratio, i, j))
    used_i: set[int] = set()
    used_j: set[int] = set()
    found = []
    for _, i, j in sorted(scored):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            found.append((i, j))
    return found


def _agree(a: tuple[_Word, ...], b: tuple[_Word, ...]) -> bool:
    matcher = SequenceMatcher(None, [w.key for w in a], [w.key for w in b], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        changed = a[a0:a1] + b[b0:b1]
        if op == "equal":
            continue
        if any(w.quoted or w.negation for w in changed):
            return False
        if op == "replace" and any(w.fact for w in changed):
            return False
    return True


@lru_cache(maxsize=64)  # a cited story is compared with each of its copies in turn
def _sentence_words(text: str) -> _Sentences:
    quoted = _quoted_stretches(text)
    starts = [start for start, _ in quoted]
    out = []
    for span in split_sentences(text):
        words = []
        for position, match in enumerate(_TOKEN.finditer(text, span.start, span.end)):
            token = match.group()
            key = token.casefold().replace("’", "'")
            name = position > 0 and token[0].isupper()
            number = any(c.isdigit() for c in token) or key in _NUMBER_WORDS
            negation = key in _NEGATIONS or key.endswith("n't")
            stretch = bisect_right(starts, match.start()) - 1
            inside = stretch >= 0 and match.start() < quoted[stretch][1]
            words.append(_Word(key, name or number, negation, inside))
        out.append((span, tuple(words)))
    return tuple(out)


def _quoted_stretches(text: str) -> list[tuple[int, int]]:
    """Where quotations run: from an opening mark to its closing one, or to the end of the
    paragraph (a quotation over several paragraphs reopens each one and closes only the last)."""
    stretches = []
    opened: int | None = None
    for match in _QUOTE_OR_BREAK.finditer(text):
        mark = match.group()
        if opened is None and mark in '“"':
            opened = match.end()
        elif opened is not None and mark in '”"\n':
            stretches.append((opened, match.start()))
            opened = None
    if opened is not None:
        stretches.append((opened, len(text)))
    return stretches
