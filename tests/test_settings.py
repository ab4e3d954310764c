from __future__ import annotations

import pytest

from newsrag.config import SettingsError, load_settings


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
    for name in ("NEWSRAG_LLM_API_KEY", "NEWSRAG_ANSWER_MODE", "NEWSRAG_CHROMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = load_settings()
    assert settings.answer_mode == "extractive"
    assert settings.chroma.host is None
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == "sk-test"


def test_overlap_must_be_smaller_than_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSRAG_CHUNK_SIZE", "64")
    monkeypatch.setenv("NEWSRAG_CHUNK_OVERLAP", "64")
    with pytest.raises(SettingsError, match="NEWSRAG_CHUNK_OVERLAP"):
        load_settings()
