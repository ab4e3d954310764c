"""Question vectors, remembered: the same question asked again skips the embedding model.

Embedding a question is half of an extractive answer's time (about 4–7 ms of int8 MiniLM on this
machine). Newsrooms ask the same questions again (a story everyone follows, the UI's Retry), so
each process keeps the vectors of its last ``size`` distinct questions. A vector depends only on
the text and the model, so an entry never goes stale.
"""

from __future__ import annotations

import threading

import numpy as np
from cachetools import LRUCache

from newsrag.components.embeddings import Embedder, Matrix
from newsrag.metrics import Metrics


class CachedQueryEmbedder:
    """An :class:`Embedder` for questions that remembers recent vectors."""

    def __init__(self, embedder: Embedder, size: int, metrics: Metrics | None = None) -> None:
        self.name = embedder.name
        self.dimension = embedder.dimension
        self._embedder = embedder
        self._cache: LRUCache[str, Matrix] = LRUCache(maxsize=max(size, 1))
        self._enabled = size > 0
        self._lock = threading.Lock()
        self._metrics = metrics

    def embed(self, texts: list[str]) -> Matrix:
        if not self._enabled:
            return self._embedder.embed(texts)
        with self._lock:
            known = {text: self._cache[text] for text in texts if text in self._cache}
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if self._metrics is not None:
            self._metrics.query_cache.labels("hit").inc(len(texts) - len(missing))
            self._metrics.query_cache.labels("miss").inc(len(missing))
        if missing:
            vectors = self._embedder.embed(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                    known[text] = vector
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[text] for text in texts]).astype(np.float32, copy=False)
