"""Generative mode against a scripted OpenAI-compatible server: verification pins behaviour."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from newsrag.answering.reader import WRITE_SCHEMA, Reply, parse_reply
from newsrag.answering.verification import parse_claims
from newsrag.api.app import create_app
from newsrag.config import LLMSettings, RetrievalSettings
from tests.helpers import Script, fake_llm_server, make_settings, parse_sse

ARTICLE = (
    "Letter to Tillerson\n\n"
    "In response to the crisis, 50 Members of Congress signed a letter urging Rex Tillerson "
    "to speak out. The letter was signed by 47 Democrats. "
    "The Kremlin spokesman Dmitry Peskov said there was no reliable information."
)
QUESTION = {"question": "Who signed the letter?", "mode": "generative"}


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def llm_url(script: Script) -> Iterator[str]:
    with fake_llm_server(script) as url:
        yield url


def app_client(tmp_path: Path, llm_url: str, **llm: Any) -> TestClient:
    settings = make_settings(
        tmp_path / "data",
        llm=LLMSettings(
            base_url=llm_url,
            api_key=SecretStr("k"),
            model="fake",
            timeout_s=2,
            max_retries=0,
            evidence_floor=0.05,
            **llm,
        ),
        retrieval=RetrievalSettings(refusal_threshold=0.05),
    )
    client = TestClient(create_app(settings))
    client.__enter__()
    client.post("/v1/documents", json={"text": ARTICLE, "document_id": "letter"})
    return client


@pytest.fixture
def client(tmp_path: Path, llm_url: str) -> Iterator[TestClient]:
    client = app_client(tmp_path, llm_url)
    yield client
    client.__exit__(None, None, None)


def assert_exact(client: TestClient, body: dict[str, Any]) -> None:
    text = client.get("/v1/documents/letter").json()["text"]
    for citation in body["citations"]:
        assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_parse_claims_moves_markers_back() -> None:
    claims = parse_claims("Fifty signed [1]. Peskov denied it. [2] Alone [1, 3]")
    assert [(c.text, c.markers) for c in claims] == [
        ("Fifty signed.", [1]),
        ("Peskov denied it.", [2]),
        ("Alone", [1, 3]),
    ]


def test_supported_sentence_is_kept_and_cited_exactly(client: TestClient, script: Script) -> None:
    script.replies = [
        "50 Members of Congress signed a letter urging Rex Tillerson to speak out [1]."
    ]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["mode"] == "generative" and body["refused"] is False
    assert body["answer"].endswith("[1]")
    assert body["verification"] == {"supported": 1, "dropped": []}
    assert "50 Members of Congress" in body["citations"][0]["quote"]
    assert_exact(client, body)
    prompt = script.requests[-1]["messages"][1]["content"]  # type: ignore[index]
    assert "Sentences:" in prompt and "[1]" in prompt and "Question: Who signed" in prompt


def test_hallucinated_sentence_is_dropped(client: TestClient, script: Script) -> None:
    script.replies = [
        "50 Members of Congress signed a letter urging Rex Tillerson to speak out [1]. "
        "The letter was signed by the Russian President Vladimir Putin [1]."
    ]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert "Putin" not in body["answer"]
    assert body["verification"]["supported"] == 1
    assert any("Putin" in dropped for dropped in body["verification"]["dropped"])


def test_strict_mode_drops_invalid_markers_and_uncited_sentences(
    tmp_path: Path, llm_url: str, script: Script
) -> None:
    client = app_client(tmp_path, llm_url, recite=False)
    script.replies = ["The letter was signed by 47 Democrats [9]. Peskov said nothing reliable."]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["mode"] == "extractive" and body["note"].startswith("No sentence")
    reasons = " ".join(body["verification"]["dropped"])
    assert "not retrieved" in reasons and "cites no passage" in reasons
    assert_exact(client, body)
    client.__exit__(None, None, None)


def test_mis_cited_sentence_is_re_cited_to_its_support(client: TestClient, script: Script) -> None:
    script.replies = ["The letter was signed by 47 Democrats [9]. The bridge opens in May."]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["mode"] == "generative"
    assert body["answer"] == "The letter was signed by 47 Democrats. [1]"
    assert "47 Democrats" in body["citations"][0]["quote"]
    assert any("bridge" in dropped for dropped in body["verification"]["dropped"])
    assert_exact(client, body)


def test_unsupported_can_refuse(tmp_path: Path, llm_url: str, script: Script) -> None:
    script.replies = ["Vladimir Putin signed it [1]."]
    client = app_client(tmp_path, llm_url, on_unsupported="refuse")
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["refused"] is True and body["citations"] == []
    client.__exit__(None, None, None)


def test_not_in_documents_is_a_refusal(client: TestClient, script: Script) -> None:
    script.replies = ["NOT_IN_DOCUMENTS"]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["refused"] is True and body["mode"] == "generative"


def test_llm_error_falls_back_to_extractive(client: TestClient, script: Script) -> None:
    script.status = 500
    response = client.post("/v1/ask", json=QUESTION)
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "extractive" and "unavailable" in body["note"]
    # the service's mode is extractive (generative per request): answers still flow
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["llm"]["state"] == "down"
    metrics = client.get("/metrics").text
    assert "newsrag_llm_errors_total 1.0" in metrics and "newsrag_llm_up 0.0" in metrics


def test_llm_timeout_falls_back(client: TestClient, script: Script) -> None:
    script.delay_s = 3.0
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["mode"] == "extractive" and "unavailable" in body["note"]


def test_llm_error_can_be_a_503(tmp_path: Path, llm_url: str, script: Script) -> None:
    client = app_client(tmp_path, llm_url, on_error="error")
    script.status = 500
    response = client.post("/v1/ask", json=QUESTION)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/readyz").status_code == 503  # answers stop: readiness says so
    client.__exit__(None, None, None)


def test_an_answer_not_written_by_the_deadline_is_the_extractive_one(
    tmp_path: Path, llm_url: str, script: Script
) -> None:
    client = app_client(tmp_path, llm_url, write_deadline_s=0.5)
    script.delay_s = 1.5
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["mode"] == "extractive"
    assert "did not answer within 0.5 s" in body["note"]
    assert body["reading"]["model"] is False
    client.__exit__(None, None, None)


def test_streaming_sends_only_verified_sentences(client: TestClient, script: Script) -> None:
    script.replies = [
        "50 Members of Congress signed a letter urging Rex Tillerson to speak out. [1] "
        "It was signed by Vladimir Putin [1]. The letter was signed by 47 Democrats [1]."
    ]
    events = parse_sse(client.post("/v1/chat", json=QUESTION).text)
    tokens = "".join(payload["text"] for name, payload in events if name == "token")
    done = events[-1][1]
    assert events[-1][0] == "done" and tokens == done["answer"]
    assert "Putin" not in tokens and "47 Democrats" in tokens
    assert done["verification"]["supported"] == 2
    assert [p for n, p in events if n == "citation"] == done["citations"]


def test_follow_up_is_condensed_by_the_llm(client: TestClient, script: Script) -> None:
    script.replies = [
        "How many Democrats signed the letter to Rex Tillerson?",
        "The letter was signed by 47 Democrats [1].",
    ]
    body = client.post(
        "/v1/ask",
        json={
            **QUESTION,
            "question": "How many of them were Democrats?",
            "history": [{"role": "user", "content": "Who signed the letter?"}],
        },
    ).json()
    assert "47 Democrats" in body["answer"]
    assert "Standalone question" in script.requests[0]["messages"][0]["content"]  # type: ignore[index]


def test_openai_sdk_and_langchain_work_unchanged(client: TestClient, script: Script) -> None:
    from langchain_openai import ChatOpenAI
    from openai import OpenAI

    script.replies = ["The letter was signed by 47 Democrats [1]."]
    sdk = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client)
    assert [m.id for m in sdk.models.list().data] == ["newsrag"]
    completion = sdk.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": "How many Democrats signed?"}]
    )
    assert completion.choices[0].message.content
    assert completion.model_extra and completion.model_extra["citations"]
    chunks = list(
        sdk.chat.completions.create(
            model="newsrag",
            messages=[{"role": "user", "content": "How many Democrats signed?"}],
            stream=True,
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == completion.choices[0].message.content
    assert chunks[-1].model_extra and chunks[-1].model_extra["citations"]
    chat = ChatOpenAI(
        base_url="http://testserver/v1",
        api_key=SecretStr("unused"),
        model="newsrag",
        http_client=client,
    )
    assert (
        chat.invoke("How many Democrats signed?").content == completion.choices[0].message.content
    )


def test_answer_says_source_and_date_of_what_it_cites(client: TestClient, script: Script) -> None:
    client.post(
        "/v1/documents",
        json={
            "text": ARTICLE,
            "document_id": "letter",
            "source": "PinkNews",
            "published_at": "2017-04-14",
        },
    )
    # the model's own attribution (here a wrong one) is replaced by the cited document's
    script.replies = [
        "According to The Times, the letter was signed by 47 Democrats [1]. "
        "The Kremlin spokesman Dmitry Peskov said there was no reliable information [1]."
    ]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["mode"] == "generative", body
    assert body["answer"].startswith(
        "According to PinkNews (April 2017), the letter was signed by 47 Democrats. ["
    )
    assert body["answer"].count("According to") == 1 and "Times" not in body["answer"]
    assert body["citations"][0]["published_at"] == "2017-04-14"
    assert_exact(client, body)


def reading(answer: str, sentences: list[int], answerable: bool = True) -> str:
    return json.dumps({"answerable": answerable, "sentences": sentences, "answer": answer})


def test_a_json_reading_is_verified_and_cited(client: TestClient, script: Script) -> None:
    script.replies = [reading("The letter was signed by 47 Democrats.", [3])]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["mode"] == "generative" and body["refused"] is False
    assert body["answer"] == "The letter was signed by 47 Democrats. [1]"
    assert body["citations"][0]["quote"] == "The letter was signed by 47 Democrats."
    assert_exact(client, body)
    request = script.requests[-1]
    assert request["response_format"] == {"type": "json_object"}  # no schema unless asked
    listing = request["messages"][1]["content"]  # type: ignore[index]
    assert "Article: " in listing and "[3] The letter was signed by 47 Democrats." in listing


def test_the_schema_is_sent_where_the_server_takes_one(
    tmp_path: Path, llm_url: str, script: Script
) -> None:
    client = app_client(tmp_path, llm_url, json_schema=True)
    script.replies = [reading("The letter was signed by 47 Democrats.", [3])]
    client.post("/v1/ask", json=QUESTION)
    sent = script.requests[-1]["response_format"]
    assert sent == {"type": "json_object", "schema": WRITE_SCHEMA}
    client.__exit__(None, None, None)


@pytest.mark.parametrize(
    "reply",
    [
        reading("", [], answerable=False),
        reading("The letter was signed by 47 Democrats.", [], answerable=True),  # rests on nothing
        "NOT_IN_DOCUMENTS",
    ],
)
def test_a_reading_that_finds_no_answer_is_a_refusal(
    client: TestClient, script: Script, reply: str
) -> None:
    script.replies = [reply]
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["refused"] is True and body["mode"] == "generative" and body["citations"] == []


@pytest.mark.parametrize(
    ("question", "refused"),
    [
        ("How many Democrats signed the letter to Tillerson?", False),
        ("How many Democrats signed the letter to Angela Merkel?", True),  # named nowhere
        ("How many Democrats signed the 2015 letter to Tillerson?", True),  # a year named nowhere
    ],
)
def test_the_names_and_numbers_gate_refuses_what_the_model_wrote(
    client: TestClient, script: Script, question: str, refused: bool
) -> None:
    # the model answers from the right sentence, and its answer would verify: only the gate
    # (a name or number of the question that no retrieved passage names) refuses it
    script.replies = [reading("The letter was signed by 47 Democrats.", [3])]
    body = client.post("/v1/ask", json={"question": question, "mode": "generative"}).json()
    assert len(script.requests) == 1, "the model was asked"
    assert body["reading"]["model"] is True and body["reading"]["reader"] == "llm"
    assert body["mode"] == "generative" and body["refused"] is refused
    if refused:
        assert body["citations"] == [] and "47" not in body["answer"]
    else:
        assert body["answer"] == "The letter was signed by 47 Democrats. [1]"
        assert_exact(client, body)


def test_nothing_relevant_is_refused_without_asking_the_model(
    client: TestClient, script: Script
) -> None:
    script.replies = [reading("The letter was signed by 47 Democrats.", [3])]  # if it were asked
    question = {"question": "What is the recipe for banana bread?", "mode": "generative"}
    body = client.post("/v1/ask", json=question).json()
    assert script.requests == [], "the cascade skipped the model"
    assert body["refused"] is True and body["mode"] == "generative" and body["citations"] == []
    assert body["reading"]["model"] is False and body["reading"]["reader"] == "heuristic"


def test_parse_reply() -> None:
    assert parse_reply(reading("Yes.", [2, "x", 3])) == Reply(True, [2, 3], "", "Yes.")  # type: ignore[list-item]
    assert parse_reply(reading("Yes.", [True, 2])) == Reply(True, [2], "", "Yes.")
    assert parse_reply(reading("Yes.", [1], answerable=False)).answerable is False
    assert parse_reply('{"answerable": true, "sentences": [1]}') == Reply(True, [1])
    assert parse_reply("Fifty signed [1].") == Reply(True, [], "", "Fifty signed [1].", prose=True)
    assert parse_reply("NOT_IN_DOCUMENTS").answerable is False
    assert parse_reply("  ").answerable is False


def test_a_failed_condensing_counts_as_a_model_error_and_is_one_when_configured(
    tmp_path: Path, llm_url: str, script: Script
) -> None:
    script.status = 500
    follow_up = {
        **QUESTION,
        "question": "How many of them were Democrats?",
        "history": [{"role": "user", "content": "Who signed the letter?"}],
    }
    client = app_client(tmp_path / "lenient", llm_url)
    body = client.post("/v1/ask", json=follow_up).json()
    assert body["mode"] == "extractive" and "unavailable" in body["note"]
    assert "Standalone question" in script.requests[0]["messages"][0]["content"]  # type: ignore[index]
    # the condensing call and the writing call both failed, both are counted
    assert "newsrag_llm_errors_total 2.0" in client.get("/metrics").text
    client.__exit__(None, None, None)
    strict = app_client(tmp_path / "strict", llm_url, on_error="error")
    asked = len(script.requests)
    response = strict.post("/v1/ask", json=follow_up)
    assert response.status_code == 503
    assert len(script.requests) == asked + 1  # the condensing failed: nothing written after it
    assert "Standalone question" in script.requests[-1]["messages"][0]["content"]  # type: ignore[index]
    strict.__exit__(None, None, None)
