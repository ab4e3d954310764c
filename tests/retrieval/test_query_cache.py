from __future__ import annotations

import numpy as np

from newsrag.components.embeddings import Matrix
from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.metrics import Metrics
from newsrag.retrieval.query_cache import CachedQueryEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> Matrix:
        self.calls.append(list(texts))
        return super().embed(texts)


def test_a_repeated_question_is_not_embedded_again() -> None:
    inner, metrics = CountingEmbedder(), Metrics()
    cached = CachedQueryEmbedder(inner, size=2, metrics=metrics)
    first = cached.embed(["Who signed the letter?"])
    again = cached.embed(["Who signed the letter?", "What did Peskov say?"])
    assert inner.calls == [["Who signed the letter?"], ["What did Peskov say?"]]
    assert np.array_equal(first[0], again[0])
    assert np.allclose(again, inner.embed(["Who signed the letter?", "What did Peskov say?"]))
    assert (
        metrics.registry.get_sample_value("newsrag_query_embedding_cache_total", {"result": "hit"})
        == 1.0
    )
    cached.embed(["A third question?"])  # evicts the least recently used
    cached.embed(["Who signed the letter?"])
    assert inner.calls[-1] == ["Who signed the letter?"]


def test_size_zero_turns_the_cache_off() -> None:
    inner = CountingEmbedder()
    cached = CachedQueryEmbedder(inner, size=0)
    cached.embed(["Same?"])
    cached.embed(["Same?"])
    assert inner.calls == [["Same?"], ["Same?"]]
    assert cached.embed([]).shape == (0, inner.dimension)
