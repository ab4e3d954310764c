"""Check every generated sentence against the passage it cites; keep only what is supported.

A sentence survives when (1) it cites at least one passage that was actually given to the model
(or, with ``recite``, any given passage holds its support), (2) one sentence of that passage
supports it (embedding similarity plus the share of its words,
IDF-weighted, found there) at or above the threshold, and (3) every number and every name in it
appears in that supporting sentence or its passage. The citation then points at the supporting
sentence's exact span, so ``quote == text[start:end]`` holds as in extractive mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from newsrag.components.embeddings import Embedder
from newsrag.components.store.chroma import SentenceRow
from newsrag.retrieval.hybrid import Passage
from newsrag.retrieval.index import CorpusIndex
from newsrag.text.sentences import lexical_tokens, looks_like_instruction, split_sentences
from newsrag.text.words import names_and_numbers, numbers

_MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING = re.compile(r"^(\s*\[\d+(?:\s*,\s*\d+)*\])+")


@dataclass(frozen=True, slots=True)
class Claim:
    text: str  # the generated sentence without its markers
    markers: list[int]
    leading: list[int] = field(default_factory=list)  # markers before any word


@dataclass(frozen=True, slots=True)
class Verdict:
    claim: Claim
    supported: bool
    reason: str
    support: float = 0.0
    evidence: SentenceRow | None = None
    passage: Passage | None = None


@dataclass
class VerificationResult:
    kept: list[Verdict] = field(default_factory=list)
    dropped: list[Verdict] = field(default_factory=list)


def parse_claims(answer: str) -> list[Claim]:
    """Sentences of a generated answer with the passage numbers each one cites."""
    claims = []
    for span in split_sentences(answer):
        sentence = answer[span.start : span.end]
        markers = [
            int(n) for group in _MARKERS.findall(sentence) for n in re.findall(r"\d+", group)
        ]
        opening = _LEADING.match(sentence)
        leading = [int(n) for n in re.findall(r"\d+", opening.group())] if opening else []
        text = _without_attribution(_MARKERS.sub("", sentence).strip())
        claims.append(Claim(text, list(dict.fromkeys(markers)), leading))
    return _merge_trailing_markers(claims)


_ATTRIBUTION = re.compile(r"^(?:according to|as reported by)\s+[^,:]{1,80}[,:]\s+(?=\S)", re.I)


def _without_attribution(text: str) -> str:
    """The claim without a lead-in such as "According to PinkNews (April 2017), ": the answer
    states the source and date of what it cites itself (see answering.generative), so the model's
    own attribution, right or wrong, is neither verified nor shown."""
    rest = _ATTRIBUTION.sub("", text, count=1)
    if rest == text or len(rest.split()) < 3:
        return text
    return rest[0].upper() + rest[1:]


def _merge_trailing_markers(claims: list[Claim]) -> list[Claim]:
    """'… Congress. [1] Next…' splits after the full stop, so the marker opens the next
    sentence (or stands alone): give it back to the sentence it follows."""
    merged: list[Claim] = []
    for claim in claims:
        if merged and claim.leading:
            previous = merged.pop()
            merged.append(Claim(previous.text, previous.markers + claim.leading))
            claim = Claim(claim.text, [m for m in claim.markers if m not in claim.leading])
        if lexical_tokens(claim.text, keep_stopwords=True):
            merged.append(claim)
    return merged


def _contains_all(required: set[str], *texts: str) -> bool:
    available: set[str] = set()
    for text in texts:
        available.update(numbers(text))
        available.update(lexical_tokens(text, keep_stopwords=True))
    return required <= available


def names_and_numbers_in(text: str, *sources: str) -> bool:
    """Whether every name and number of ``text`` appears in one of ``sources``."""
    return _contains_all(names_and_numbers(text), *sources)


class Verifier:
    def __init__(
        self,
        embedder: Embedder,
        lexical: CorpusIndex,
        threshold: float,
        recite: bool,
        relevance_floor: float = 0.0,
    ) -> None:
        self._relevance_floor = relevance_floor
        self._embedder = embedder
        self._lexical = lexical
        self._threshold = threshold
        self._recite = recite

    def support(self, claim: str, claim_vector: np.ndarray, row: SentenceRow) -> float:
        tokens = set(lexical_tokens(claim))
        weights = {token: self._lexical.idf(token) for token in tokens}
        total = sum(weights.values()) or 1.0
        present = tokens & set(lexical_tokens(row.text))
        recall = sum(weights[token] for token in present) / total
        return 0.5 * float(row.vector @ claim_vector) + 0.5 * recall

    def verify(
        self,
        claims: Sequence[Claim],
        passages: Sequence[Passage],
        sentences_of: dict[str, list[SentenceRow]],
        relevance: Mapping[tuple[str, int], float] | None = None,
    ) -> VerificationResult:
        """``sentences_of`` maps a passage's chunk id to its sentences (with vectors);
        ``relevance`` (the extractive evidence score of each sentence, by document id and
        index) drops claims that rest on a sentence irrelevant to the question."""
        result = VerificationResult()
        if not claims:
            return result
        vectors = self._embedder.embed([claim.text for claim in claims])
        for claim, vector in zip(claims, vectors, strict=True):
            result_verdict = self._verify_one(claim, vector, passages, sentences_of)
            if result_verdict.supported and relevance is not None:
                row = result_verdict.evidence
                assert row is not None
                if relevance.get((row.document_id, row.index), 0.0) < self._relevance_floor:
                    result_verdict = Verdict(
                        claim,
                        False,
                        "true but not relevant to the question",
                        result_verdict.support,
                    )
            (result.kept if result_verdict.supported else result.dropped).append(result_verdict)
        return result

    def _verify_one(
        self,
        claim: Claim,
        vector: np.ndarray,
        passages: Sequence[Passage],
        sentences_of: dict[str, list[SentenceRow]],
    ) -> Verdict:
        cited = [passages[n - 1] for n in claim.markers if 1 <= n <= len(passages)]
        if cited:
            verdict = self._check(claim, vector, cited, sentences_of, "the cited passage")
            if verdict.supported or not self._recite:
                return verdict
        elif not self._recite:
            reason = (
                "cites a passage that was not retrieved" if claim.markers else "cites no passage"
            )
            return Verdict(claim, False, reason)
        # Small models often forget markers or cite the wrong number: look for the supporting
        # sentence among every passage the model was given. The citation is then to that span.
        others = [p for p in passages if p not in cited]
        verdict = self._check(claim, vector, others, sentences_of, "any retrieved passage")
        if verdict.supported:
            return Verdict(
                claim,
                True,
                "supported (re-cited)",
                verdict.support,
                verdict.evidence,
                verdict.passage,
            )
        if not claim.markers:
            return Verdict(claim, False, f"cites no passage; {verdict.reason}", verdict.support)
        return verdict

    def _check(
        self,
        claim: Claim,
        vector: np.ndarray,
        candidates: Sequence[Passage],
        sentences_of: dict[str, list[SentenceRow]],
        where: str,
    ) -> Verdict:
        best: tuple[float, SentenceRow, Passage] | None = None
        for passage in candidates:
            for row in sentences_of.get(passage.chunk.chunk_id, []):
                if looks_like_instruction(row.text):
                    continue
                score = self.support(claim.text, vector, row)
                if best is None or score > best[0]:
                    best = (score, row, passage)
        if best is None:
            return Verdict(claim, False, f"no sentence in {where}")
        score, row, passage = best
        if score < self._threshold:
            return Verdict(claim, False, f"not supported by {where} ({score:.2f})", score)
        required = names_and_numbers(claim.text)
        if not _contains_all(required, row.text, passage.chunk.text):
            missing = sorted(required - names_and_numbers(row.text + " " + passage.chunk.text))
            detail = ", ".join(missing[:5]) or "names or numbers"
            return Verdict(claim, False, f"names or numbers not in {where}: {detail}", score)
        return Verdict(claim, True, "supported", score, row, passage)
