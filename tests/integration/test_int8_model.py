"""The derived int8-compute model against the float path it replaces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsrag.components.embeddings.files import onnx_model_source
from newsrag.components.embeddings.int8 import int8_model_file
from newsrag.components.embeddings.onnx import OnnxMiniLMEmbedder

pytestmark = pytest.mark.integration

SENTENCES = [
    "The Kremlin says there is no reliable information on an anti-gay purge in Chechnya.",
    "Members of Congress signed a letter to Secretary of State Rex Tillerson.",
    "Amnesty International called for an investigation.",
    "Who signed the letter?",
]


def test_int8_vectors_agree_with_the_float_path(local_embedder: OnnxMiniLMEmbedder) -> None:
    float_path = OnnxMiniLMEmbedder(int8_compute=False)
    assert local_embedder.name != float_path.name  # the store stamp tells the two apart
    fast, exact = local_embedder.embed(SENTENCES), float_path.embed(SENTENCES)
    cosine = (fast * exact).sum(axis=1)
    assert cosine.min() >= 0.98
    # the question is still nearest its answer
    assert int(np.argmax(fast[:3] @ fast[3])) == 1


def test_a_fresh_cache_builds_the_same_file(tmp_path: Path) -> None:
    cached = int8_model_file(onnx_model_source())
    built = int8_model_file(onnx_model_source(), tmp_path)
    assert built.parent == tmp_path
    assert built.read_bytes() == cached.read_bytes()
    assert not list(tmp_path.glob("*.part"))
