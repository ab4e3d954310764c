"""Where the derived int8 model is looked up and written (the build itself is integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

import newsrag.components.embeddings.int8 as int8_model


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not really a model")
    return path


def test_a_cached_file_is_used_without_building(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(int8_model, "_build", lambda *_: pytest.fail("built again"))
    cache = tmp_path / "cache"
    cache.mkdir()
    expected = cache / f"minilm-int8-compute-{int8_model._fingerprint(source)}.onnx"
    expected.write_bytes(b"derived")
    assert int8_model.int8_model_file(source, cache) == expected


def test_another_source_gets_another_file(source: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.onnx"
    other.write_bytes(b"another model")
    assert int8_model._fingerprint(source) != int8_model._fingerprint(other)


def test_an_unwritable_cache_falls_back_to_the_temporary_directory(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Path] = []

    def build(_: Path, target: Path) -> None:
        if target.parent == tmp_path / "readonly":
            raise PermissionError("read-only file system")
        target.write_bytes(b"derived")
        built.append(target)

    monkeypatch.setattr(int8_model, "_build", build)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path / "tmp"))
    found = int8_model.int8_model_file(source, tmp_path / "readonly")
    assert found == built[0]
    assert found.parent == tmp_path / "tmp" / "newsrag"


def test_the_default_cache_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert int8_model.default_cache_dir() == tmp_path / "newsrag"
