"""The LLM reader against a scripted OpenAI-compatible server, and short answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from newsrag.answering.reader import answerable_probability
from newsrag.answering.short_answer import find_span, is_yes_no_question, locate
from newsrag.api.app import create_app
from newsrag.components.llm.client import Token
from newsrag.config import LLMSettings, ReadingSettings, RetrievalSettings
from newsrag.schemas import Citation, ShortAnswerSpan, ShortAnswerVerdict
from tests.helpers import Script, fake_llm_server, make_settings

ARTICLE = (
    "Letter to Tillerson\n\n"
    "In response to the crisis, 50 Members of Congress signed a letter urging Rex Tillerson "
    "to speak out. The letter was signed by 47 Democrats. "
    "The Kremlin spokesman Dmitry Peskov said there was no “reliable information”."
)


def reply(sentences: list[int], short: str = "", answerable: bool = True) -> str:
    return json.dumps({"answerable": answerable, "sentences": sentences, "short_answer": short})


def citation(quote: str, start: int = 100, number: int = 1) -> Citation:
    return Citation(
        id=number,
        document_id="d",
        title="t",
        chunk_id="c",
        quote=quote,
        start=start,
        end=start + len(quote),
        score=0.5,
    )


def test_a_short_answer_is_the_quote_s_own_text_at_its_exact_offsets() -> None:
    quote = "The Kremlin spokesman Dmitry Peskov said there was no “reliable information”."
    found = locate("dmitry  peskov", "Who spoke for the Kremlin?", [citation(quote)])
    assert isinstance(found, ShortAnswerSpan)
    assert found.text == "Dmitry Peskov" and found.citation == 1
    assert quote[found.start - 100 : found.end - 100] == found.text
    # quotation marks around the proposal are not part of the answer; the span is the words
    found = locate('"reliable information"', "What was missing?", [citation(quote)])
    assert found is not None and found.text == "reliable information"
    assert locate("no “reliable", "What was there?", [citation(quote)]) is not None
    assert locate('no "reliable', "What was there?", [citation(quote)]) is not None


def test_a_proposal_no_cited_sentence_holds_is_dropped() -> None:
    quote = "The letter was signed by 47 Democrats."
    assert locate("48 Democrats", "How many Democrats signed?", [citation(quote)]) is None
    assert locate("Democrat", "Who signed?", [citation(quote)]) is None  # not a whole word
    assert locate("", "Who signed?", [citation(quote)]) is None
    assert locate(quote, "Who signed?", [citation(quote)]) is None  # the whole sentence
    assert find_span("47", "in 1947 and 47") == (12, 14)


def test_yes_or_no_only_answers_a_yes_no_question() -> None:
    quotes = [citation("Tillerson raised the issue.", number=1)]
    verdict = locate("Yes.", "Did Tillerson raise the issue?", quotes)
    assert verdict == ShortAnswerVerdict(text="yes", citations=[1])
    assert locate("yes", "Who raised the issue?", quotes) is None
    assert is_yes_no_question("Were both companies fined?")
    assert not is_yes_no_question("Which companies were fined?")


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def client(tmp_path: Path, script: Script) -> Iterator[TestClient]:
    with fake_llm_server(script) as url:
        settings = make_settings(
            tmp_path / "data",
            llm=LLMSettings(
                base_url=url, api_key=SecretStr("k"), model="fake", timeout_s=2, max_retries=0
            ),
            retrieval=RetrievalSettings(refusal_threshold=0.05),
        )
        with TestClient(create_app(settings)) as client:
            client.post("/v1/documents", json={"text": ARTICLE, "document_id": "letter"})
            yield client


def ask(client: TestClient, question: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_llm_reader_is_the_default_with_a_model_and_its_short_answer_is_exact(
    client: TestClient, script: Script
) -> None:
    script.replies = [reply([3], "47 Democrats")]
    body = ask(client, "How many Democrats signed the letter?")
    assert body["reading"]["reader"] == "llm" and body["reading"]["model"] is True
    assert body["reading"]["score"] >= body["reading"]["threshold"]
    assert body["refused"] is False and body["mode"] == "extractive"
    assert "The letter was signed by 47 Democrats." in body["answer"]
    short = body["short_answer"]
    text = client.get("/v1/documents/letter").json()["text"]
    assert short["text"] == "47 Democrats" == text[short["start"] : short["end"]]
    cited = {c["id"]: c for c in body["citations"]}[short["citation"]]
    assert cited["start"] <= short["start"] < short["end"] <= cited["end"]
    request = script.requests[-1]
    assert request["response_format"]["type"] == "json_object"  # type: ignore[index]
    assert "short_answer" in json.dumps(request["messages"])


def test_the_model_saying_no_is_a_refusal_with_its_score(
    client: TestClient, script: Script
) -> None:
    script.replies = [reply([], answerable=False)]
    body = ask(client, "What did the letter signed by the Democrats say about sanctions?")
    assert script.requests, "the model was asked"
    assert body["refused"] is True and body["citations"] == [] and body["short_answer"] is None
    assert body["reading"]["score"] < body["reading"]["threshold"]


@pytest.mark.parametrize(
    ("question", "refused"),
    [
        ("How many Democrats signed the letter to Tillerson?", False),
        ("How many Democrats signed the letter to Angela Merkel?", True),  # named nowhere
        ("How many Democrats signed the 2015 letter to Tillerson?", True),  # a year named nowhere
    ],
)
def test_the_names_and_numbers_gate_refuses_what_the_model_accepted(
    client: TestClient, script: Script, question: str, refused: bool
) -> None:
    # the model says yes and chooses the sentence that answers; the question is relevant enough
    # for the cascade to ask it, and its confidence clears the threshold: only the gate refuses
    script.replies = [reply([3], "47 Democrats")]
    body = ask(client, question)
    assert len(script.requests) == 1, "the model was asked"
    assert body["reading"]["model"] is True and body["reading"]["reader"] == "llm"
    assert body["reading"]["score"] >= body["reading"]["threshold"]
    assert body["refused"] is refused
    if refused:
        assert body["citations"] == [] and body["short_answer"] is None
    else:
        assert body["answer"] == "The letter was signed by 47 Democrats. [1]"
        assert body["short_answer"]["text"] == "47 Democrats"


def test_the_heuristic_reader_is_one_field_away_and_never_calls_the_model(
    client: TestClient, script: Script
) -> None:
    before = len(script.requests)
    body = ask(client, "How many Democrats signed the letter?", reader="heuristic")
    assert len(script.requests) == before
    reading = body["reading"]
    assert (reading["reader"], reading["threshold"], reading["model"]) == ("heuristic", 0.05, False)
    # the fast scorer's score is that of the best sentence it cites, over the threshold
    assert [c["quote"] for c in body["citations"]] == ["The letter was signed by 47 Democrats."]
    assert reading["score"] == body["citations"][0]["score"] > 0.05
    assert body["short_answer"]["text"] == "47"  # the count the question asks for


def test_a_dead_model_falls_back_to_the_fast_scorer_and_says_so(
    client: TestClient, script: Script
) -> None:
    script.status = 500
    body = ask(client, "How many Democrats signed the letter?")
    assert body["reading"]["reader"] == "heuristic"
    assert body["note"] and "LLM reader is unavailable" in body["note"]
    metrics = client.get("/metrics").text
    assert "newsrag_llm_errors_total 1.0" in metrics
    ready = client.get("/readyz")  # answers still flow: the replica stays in the pool
    assert ready.status_code == 200 and ready.json()["llm"]["state"] == "down"
    assert "newsrag_llm_up 0.0" in client.get("/metrics").text


def test_a_model_past_the_read_deadline_leaves_the_answer_to_the_fast_reader(
    tmp_path: Path, script: Script
) -> None:
    script.delay_s = 1.5
    with fake_llm_server(script) as url:
        settings = make_settings(
            tmp_path / "data",
            llm=LLMSettings(base_url=url, api_key=SecretStr("k"), model="f", max_retries=0),
            retrieval=RetrievalSettings(refusal_threshold=0.05),
            reading=ReadingSettings(deadline_s=0.5),
        )
        with TestClient(create_app(settings)) as client:
            client.post("/v1/documents", json={"text": ARTICLE, "document_id": "letter"})
            body = ask(client, "How many Democrats signed the letter?")
    assert body["reading"]["model"] is False and body["reading"]["reader"] == "heuristic"
    assert "did not answer within 0.5 s" in body["note"]
    assert body["citations"]  # the fast reader's answer, not a hang and not an error


def test_an_invalid_reader_is_a_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "Who?", "reader": "oracle"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reader"


@pytest.mark.parametrize(
    "question",
    ["What is the recipe for banana bread?", "What did Angela Merkel say about the letter?"],
)
def test_nothing_relevant_is_refused_without_asking_the_model(
    client: TestClient, script: Script, question: str
) -> None:
    script.replies = [reply([3], "47 Democrats")]  # a model that would answer, if asked
    body = ask(client, question)
    assert script.requests == [], "the cascade skipped the model"
    assert body["refused"] is True and body["citations"] == []
    # not labelled as the model's reading (issue 23, item 4)
    assert body["reading"]["model"] is False and body["reading"]["reader"] != "llm"
    assert body["reading"]["score"] < body["reading"]["threshold"]


def test_a_reply_cut_short_is_no_reading_not_prose() -> None:
    from newsrag.answering.reader import parse_reply

    cut = parse_reply('{"answerable": true, "sentences": [1, 3], "short_answer": "Pes')
    assert cut.answerable is False and cut.sentences == [] and not cut.prose


def test_a_whole_sentence_match_looks_on_in_the_other_quotes() -> None:
    quotes = [
        citation("Boris Johnson.", number=1),
        citation("The PM, Boris Johnson, said no.", 200, 2),
    ]
    found = locate("Boris Johnson", "Who said no?", quotes)
    assert isinstance(found, ShortAnswerSpan) and found.citation == 2 and found.start == 208


def test_the_verdict_is_graded_by_the_probability_of_true_at_the_answerable_value() -> None:
    tokens = [
        Token('{"'),
        Token("answer"),
        Token('able":'),
        Token(" "),
        Token("true", {"true": 0.6, "false": 0.3, "tr": 0.05}),
        Token(","),
    ]
    assert answerable_probability(tokens) == pytest.approx(0.65 / 0.95)
    assert answerable_probability([Token('{"answerable": '), Token("false", {})]) is None
    assert answerable_probability([]) is None


def test_a_question_beyond_the_reads_allowed_at_once_gets_the_fast_reader_at_once(
    tmp_path: Path, script: Script
) -> None:
    script.replies = [reply([2], "47")]
    with fake_llm_server(script) as url:
        settings = make_settings(
            tmp_path / "data",
            llm=LLMSettings(base_url=url, api_key=SecretStr("k"), model="f", max_retries=0),
            retrieval=RetrievalSettings(refusal_threshold=0.05),
            reading=ReadingSettings(concurrency=1),
        )
        with TestClient(create_app(settings)) as client:
            client.post("/v1/documents", json={"text": ARTICLE, "document_id": "letter"})
            reader = client.app.state.container.services.ask.reader  # type: ignore[attr-defined]
            with reader._admitted():  # another question holds the one read allowed
                busy = ask(client, "How many Democrats signed the letter?")
            free = ask(client, "How many Democrats signed the letter?")
    assert busy["reading"]["model"] is False and "model is busy" in busy["note"]
    assert busy["citations"]  # answered, by the fast reader
    assert free["reading"]["model"] is True
