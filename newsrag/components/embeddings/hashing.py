"""The ``fake`` backend: a deterministic bag-of-words embedder for unit tests."""

from __future__ import annotations

import hashlib

import numpy as np

from newsrag.components.embeddings import Matrix, normalise
from newsrag.text.sentences import lexical_tokens


class HashingEmbedder:
    """Hashes each word into one of 64 dimensions (no model, instant)."""

    name = "fake-hashing-64"
    dimension = 64

    def embed(self, texts: list[str]) -> Matrix:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in lexical_tokens(text) or ["<empty>"]:
                digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        return normalise(out + 1e-6)
