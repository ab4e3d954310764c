"""Embedding backends, chosen by ``NEWSRAG_EMBEDDINGS`` and imported lazily.

``local`` runs all-MiniLM-L6-v2 as ONNX (:mod:`.onnx`; by default with int8 matrix products,
see :mod:`.int8`): no network, no PyTorch import, 0.25 s to load. ``openai`` calls any
OpenAI-compatible ``/v1/embeddings`` (:mod:`.openai_api`). ``fake`` hashes words into a vector
and exists for unit tests (:mod:`.hashing`). Only the chosen backend's module is imported, so
the ONNX and OpenAI dependencies load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from newsrag.config import Settings

Matrix = npt.NDArray[np.float32]

__all__ = ["Embedder", "Matrix", "make_embedder", "normalise"]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def embed(self, texts: list[str]) -> Matrix: ...


def normalise(vectors: Matrix) -> Matrix:
    """Each row scaled to unit length (an all-zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Matrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``settings.embeddings``."""
    if settings.embeddings == "local":
        from newsrag.components.embeddings.onnx import OnnxMiniLMEmbedder

        return OnnxMiniLMEmbedder(
            settings.embedding.batch_size,
            settings.embedding.threads,
            settings.embedding.query_threads,
            int8_compute=settings.embedding.int8_compute,
            model_cache_dir=settings.embedding.model_cache_dir,
        )
    if settings.embeddings == "openai":
        from newsrag.components.embeddings.openai_api import OpenAIEmbedder

        key = settings.llm.key.get_secret_value() if settings.llm.key else None
        return OpenAIEmbedder(
            settings.embedding.model,
            settings.embedding.base_url or settings.llm.base_url,
            key,
            settings.embedding.batch_size,
        )
    from newsrag.components.embeddings.hashing import HashingEmbedder

    return HashingEmbedder()
