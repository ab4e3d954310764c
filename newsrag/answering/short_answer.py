"""Short answers: a name, number or date as an exact span of a cited sentence, or yes/no.

A reader proposes the words; they are kept only when they occur in a cited quote (case and
curly quotes aside), and the span returned is the quote's own text there, so ``text ==
document_text[start:end]`` holds exactly as it does for every citation. A proposal found in no
cited sentence is dropped: no short answer is better than an unverified one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from newsrag.answering.answer_types import typed_span
from newsrag.retrieval.question import opens_with_clause
from newsrag.schemas import Citation, ShortAnswerSpan, ShortAnswerVerdict

ShortAnswer = ShortAnswerSpan | ShortAnswerVerdict
_YES_NO_QUESTION = re.compile(
    r"^\s*(?:(?:is|are|was|were|do|does|did|has|have|had|can|could|would|should|shall|might|"
    r"must)(?:n['’]t)?\b|(?:will|may)(?:n['’]t)?\s+(?![A-Z]))",
)
_TRIM = "\"'“”‘’.,;:!? "
_QUOTE_CHARS = {"'": "['’]", "’": "['’]", '"': '["“”]', "“": '["“”]', "”": '["“”]'}
_DASHES = {"-": "[-–—]", "–": "[-–—]", "—": "[-–—]"}
MAX_WORDS = 12


def is_yes_no_question(question: str) -> bool:
    """Whether ``question`` opens with an auxiliary verb ("Did…", "Isn't…"), or has one after an
    opening clause ("After X reported …, did Y …?"); "Will Smith…" and "May Day…" name someone
    or something and are not."""
    stripped = question.lstrip()
    return bool(_YES_NO_QUESTION.match(stripped[:1].lower() + stripped[1:])) or opens_with_clause(
        stripped
    )


def _pattern(words: str) -> re.Pattern[str]:
    pieces = []
    for token in words.split():
        pieces.append("".join(_QUOTE_CHARS.get(c) or _DASHES.get(c) or re.escape(c) for c in token))
    return re.compile(r"(?<!\w)" + r"\s+".join(pieces) + r"(?!\w)", re.I)


def find_span(words: str, sentence: str) -> tuple[int, int] | None:
    """Where ``words`` occur in ``sentence`` (case, curly quotes, dashes and spacing aside)."""
    words = words.strip(_TRIM)
    if not words:
        return None
    match = _pattern(words).search(sentence)
    return (match.start(), match.end()) if match else None


def locate(proposal: str, question: str, citations: Sequence[Citation]) -> ShortAnswer | None:
    """The verified short answer for ``proposal``, or None when it is not one."""
    proposal = proposal.strip().strip(_TRIM)
    if not proposal or not citations:
        return None
    verdict = proposal.casefold()
    if verdict in {"yes", "no"}:
        if not is_yes_no_question(question):
            return None
        return ShortAnswerVerdict(
            text="yes" if verdict == "yes" else "no", citations=[c.id for c in citations]
        )
    if len(proposal.split()) > MAX_WORDS:
        return None
    for citation in citations:
        span = find_span(proposal, citation.quote)
        if span is None:
            continue
        start, end = span
        if end - start >= 0.8 * len(citation.quote.strip()):
            continue  # the whole sentence is no short answer; another quote may hold it
        return ShortAnswerSpan(
            text=citation.quote[start:end],
            document_id=citation.document_id,
            start=citation.start + start,
            end=citation.start + end,
            citation=citation.id,
        )
    return None


def typed(question: str, citations: Sequence[Citation]) -> ShortAnswer | None:
    """The fast path's short answer: the number, amount or date the question asks for, found
    in the first cited sentence (names and statements need a reader)."""
    if not citations:
        return None
    first = citations[0]
    span = typed_span(question, first.quote)
    if span is None:
        return None
    start, end = span
    return ShortAnswerSpan(
        text=first.quote[start:end],
        document_id=first.document_id,
        start=first.start + start,
        end=first.start + end,
        citation=first.id,
    )
