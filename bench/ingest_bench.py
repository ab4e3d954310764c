"""Ingest and embedding-floor runs: each in a fresh subprocess with a fresh temporary store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.corpus import PROJECT


@dataclass(frozen=True, slots=True)
class IngestRun:
    pipeline: str
    seconds: float  # wall time of the whole subprocess, interpreter start to exit
    chunks: int
    embedded_texts: int
    stages: dict[str, float] = field(default_factory=dict)
    in_process_s: float = 0.0


@dataclass(frozen=True, slots=True)
class FloorRun:
    texts: int
    chunks_in_corpus: int
    wordpiece_tokens: int
    onnx_load_s: float
    onnx_s: float
    onnx_float_load_s: float
    onnx_float_s: float
    st_load_s: float
    st_s: float
    torch_threads: int
    cosine_min: float
    cosine_mean: float


def worker_env() -> dict[str, str]:
    """The caller's environment minus NEWSRAG_*/OPENAI_* settings; offline; project importable."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NEWSRAG_", "OPENAI_", "PYTHON"))
    }
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=str(PROJECT),
        PYTHONUNBUFFERED="1",
    )
    return env


def run_worker(
    kind: str, corpus_file: Path, workdir: Path, *extra: str
) -> tuple[float, dict[str, Any]]:
    """Run ``python -m bench.workers KIND`` in a fresh process; its wall time and its figures."""
    store = Path(tempfile.mkdtemp(prefix=f"store-{kind}-", dir=workdir))
    out = workdir / f"{kind}.json"
    command = [
        sys.executable,
        "-m",
        "bench.workers",
        kind,
        "--corpus",
        str(corpus_file),
        "--store",
        str(store),
        "--out",
        str(out),
        *extra,
    ]
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=workdir, env=worker_env(), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"the {kind} worker failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return seconds, result


def run_ingest(kind: str, corpus_file: Path, workdir: Path) -> IngestRun:
    seconds, result = run_worker(kind, corpus_file, workdir)
    stages = {str(k): float(v) for k, v in result["stages"].items()}
    stages["interpreter start/exit"] = max(seconds - float(result["in_process_s"]), 0.0)
    return IngestRun(
        pipeline=kind,
        seconds=seconds,
        chunks=int(result["chunks"]),
        embedded_texts=int(result["embedded_texts"]),
        stages=stages,
        in_process_s=float(result["in_process_s"]),
    )


def run_floor(corpus_file: Path, workdir: Path, max_texts: int) -> FloorRun:
    _, result = run_worker("floor", corpus_file, workdir, "--max-texts", str(max_texts))
    return FloorRun(
        texts=int(result["texts"]),
        chunks_in_corpus=int(result["chunks_in_corpus"]),
        wordpiece_tokens=int(result["wordpiece_tokens"]),
        onnx_load_s=float(result["onnx"]["load_s"]),
        onnx_s=float(result["onnx"]["seconds"]),
        onnx_float_load_s=float(result["onnx_float"]["load_s"]),
        onnx_float_s=float(result["onnx_float"]["seconds"]),
        st_load_s=float(result["sentence_transformers"]["load_s"]),
        st_s=float(result["sentence_transformers"]["seconds"]),
        torch_threads=int(result["torch_threads"]),
        cosine_min=float(result["cosine_min"]),
        cosine_mean=float(result["cosine_mean"]),
    )
