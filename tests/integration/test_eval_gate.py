"""The eval gate fails when the answer to "Who signed the letter?" stops naming the Members of
Congress: run the article set through a deliberately broken answerer and check the verdict."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from newsrag.answering.extractive import ExtractiveAnswerer
from newsrag.components.store.chroma import SentenceRow
from newsrag.config import Settings
from newsrag.eval.dataset import load_article_set
from newsrag.eval.gates import check_floors, load_gates
from newsrag.eval.runner import run_set, summarise
from newsrag.retrieval.hybrid import Passage

pytestmark = pytest.mark.integration


def test_gate_catches_an_answerer_that_forgets_congress(
    local_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = ExtractiveAnswerer.candidate_sentences

    def broken(
        self: ExtractiveAnswerer, passages: Sequence[Passage], *, keep_shared: bool = False
    ) -> list[tuple[SentenceRow, Passage]]:
        rows = honest(self, passages, keep_shared=keep_shared)
        return [(row, p) for row, p in rows if "Congress" not in row.text]

    monkeypatch.setattr(ExtractiveAnswerer, "candidate_sentences", broken)
    results = run_set(load_article_set(), local_settings)
    by_id = {result.id: result for result in results}
    assert not by_id["who-signed-letter"].passed
    assert "Congress" not in by_id["who-signed-letter"].answer
    failures = check_floors({"article": summarise(results)}, load_gates().floors)
    assert any(failure.startswith("article.fact_accuracy") for failure in failures), failures
