"""The extractive answer's composition rules, on hand-built scored sentences."""

from __future__ import annotations

from typing import cast

import numpy as np

from newsrag.answering.extractive import ScoredSentence, quotation_after
from newsrag.components.store.chroma import SentenceRow
from newsrag.retrieval.hybrid import Passage

ATTRIBUTION = "UN experts on human rights called for action against the purge."
QUOTATION = "“We urge the authorities to put an end to the persecution.”"


def scored(index: int, text: str, score: float, document_id: str = "doc") -> ScoredSentence:
    row = SentenceRow(
        sentence_id=f"{document_id}:{index}",
        document_id=document_id,
        index=index,
        start=index * 100,
        end=index * 100 + len(text),
        text=text,
        vector=np.zeros(4, dtype=np.float32),
    )
    return ScoredSentence(row, cast(Passage, None), dense=0.0, lexical=0.0, score=score)


def test_the_quotation_after_an_attribution_joins_the_answer() -> None:
    lead = scored(22, ATTRIBUTION, 0.68)
    quote = scored(23, QUOTATION, 0.50)
    assert quotation_after(lead, [lead, scored(5, "Other.", 0.6), quote], 0.33) is quote


def test_no_quotation_when_it_is_not_evidence_on_its_own() -> None:
    lead = scored(22, ATTRIBUTION, 0.68)
    assert quotation_after(lead, [lead, scored(23, QUOTATION, 0.2)], 0.33) is None


def test_no_quotation_when_the_lead_quotes_already_or_the_next_is_not_a_quote() -> None:
    quoting = scored(22, "Farron said: “These reports are horrifying.", 0.68)
    assert quotation_after(quoting, [quoting, scored(23, QUOTATION, 0.5)], 0.33) is None
    lead = scored(22, ATTRIBUTION, 0.68)
    plain = scored(23, "The experts met in Geneva.", 0.5)
    assert quotation_after(lead, [lead, plain], 0.33) is None


def test_only_the_next_sentence_of_the_same_document_counts() -> None:
    lead = scored(22, ATTRIBUTION, 0.68)
    elsewhere = scored(23, QUOTATION, 0.5, document_id="other")
    later = scored(24, QUOTATION, 0.5)
    assert quotation_after(lead, [lead, elsewhere, later], 0.33) is None
