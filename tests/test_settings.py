from __future__ import annotations

import pytest
from pydantic import ValidationError

from newsrag.config import ChunkSettings, load_settings
from newsrag.errors import ConfigurationError, SettingsError


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEWSRAG_ANSWER_MODE", "poetic"),
        ("NEWSRAG_CHROMA_PORT", "not-a-port"),
        ("NEWSRAG_BOOTSTRAP", "maybe"),
        ("NEWSRAG_EMBEDDINGS", "word2vec"),
        ("NEWSRAG_RATE_LIMIT", "lots"),
        ("NEWSRAG_LLM_TIMEOUT_S", "-1"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert variable in message and "\n" not in message


def test_defaults_and_fallback_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "NEWSRAG_LLM_API_KEY",
        "NEWSRAG_LLM_BASE_URL",
        "NEWSRAG_ANSWER_MODE",
        "NEWSRAG_CHROMA_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = load_settings()
    assert settings.answer_mode == "extractive"
    assert settings.chroma.host is None
    # the key is used when newsrag's own settings choose an endpoint, but never chooses one
    assert settings.llm.key is not None and settings.llm.key.get_secret_value() == "sk-test"
    assert settings.llm.configured is False
    monkeypatch.setenv("NEWSRAG_LLM_BASE_URL", "https://api.openai.com/v1")
    assert load_settings().llm.configured is True


def test_variables_without_the_prefix_choose_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSRAG_LLM_API_KEY", "NEWSRAG_LLM_BASE_URL", "NEWSRAG_READ_DEADLINE_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("API_KEY", "meant-for-another-tool")
    monkeypatch.setenv("DEADLINE_S", "1")
    settings = load_settings()
    assert settings.llm.configured is False and settings.llm.api_key is None
    assert settings.reading.deadline_s == 10.0


def test_the_read_deadline_has_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSRAG_READ_DEADLINE_S", "4.5")
    assert load_settings().reading.deadline_s == 4.5


def test_overlap_must_be_smaller_than_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSRAG_CHUNK_SIZE", "64")
    monkeypatch.setenv("NEWSRAG_CHUNK_OVERLAP", "64")
    with pytest.raises(SettingsError, match="NEWSRAG_CHUNK_OVERLAP"):
        load_settings()


def test_a_settings_error_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSRAG_CHROMA_PORT", "0")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert isinstance(raised.value, SettingsError)
    assert raised.value.detail == str(raised.value)


def test_chunk_settings_refuse_an_overlap_as_large_as_the_chunk() -> None:
    with pytest.raises(ValidationError, match="must be smaller than NEWSRAG_CHUNK_SIZE"):
        ChunkSettings(size=64, overlap=64)
