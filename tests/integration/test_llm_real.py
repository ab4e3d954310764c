"""Generative mode end to end against a real llama.cpp server running SmolLM2-135M-Instruct."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from core.settings import LLMSettings, Settings
from ingest.bundled import BUNDLED_ID
from service.app import create_app
from service.local_llm import LOCAL_MODEL_ALIAS, running_local_llm
from tests.unit.test_api import parse_sse

pytestmark = [
    pytest.mark.integration,
    pytest.mark.llm,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None, reason="needs `make install-llm`"
    ),
]


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with running_local_llm() as url:
        yield url


@pytest.fixture
def client(local_settings: Settings, llm_url: str) -> Iterator[TestClient]:
    settings = local_settings.model_copy(
        update={
            "bootstrap": True,
            "answer_mode": "generative",
            "llm": LLMSettings(base_url=llm_url, model=LOCAL_MODEL_ALIAS, max_tokens=120),
        }
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def exact(client: TestClient, body: dict[str, object]) -> None:
    text = client.get(f"/v1/documents/{BUNDLED_ID}").json()["text"]
    for citation in body["citations"]:  # type: ignore[attr-defined]
        assert text[citation["start"] : citation["end"]] == citation["quote"]


@pytest.mark.parametrize(
    "question",
    ["Who signed the letter to Rex Tillerson?", "What did the Kremlin say about the reports?"],
)
def test_answers_are_verified_or_fall_back(client: TestClient, question: str) -> None:
    body = client.post("/v1/ask", json={"question": question}).json()
    assert body["refused"] is False
    assert "Putin signed" not in body["answer"] and "Vladimir Putin" not in body["answer"]
    assert body["verification"] is not None
    if body["mode"] == "extractive":  # nothing the small model wrote survived verification
        assert body["note"]
    exact(client, body)


def test_readyz_checks_the_llm(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200


def test_streaming_against_the_real_model(client: TestClient) -> None:
    events = parse_sse(
        client.post("/v1/chat", json={"question": "What did Boris Johnson tweet?"}).text
    )
    assert events[-1][0] == "done"
    done = events[-1][1]
    assert "".join(p["text"] for n, p in events if n == "token") == done["answer"]
    exact(client, done)
