"""Shared fixtures: settings that point at a temporary store, apps built from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsrag.api.app import create_app
from newsrag.config import ChromaSettings, LLMSettings, Settings


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: a private embedded store, no env-dependent LLM or keys."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "embeddings": "fake",
        "bootstrap": False,
        "chroma": ChromaSettings(host=None),
        "llm": LLMSettings(base_url=None, api_key=None),
        "api_keys": None,
        "rate_limit": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def local_settings_factory() -> object:
    return make_settings
