"""Composed verdicts: order from the cited articles' dates, claims from each facet's evidence,
judgments by the model only (unit tests on built evidence, then the real app with a scripted
model that records whether it was asked)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from newsrag.answering.extractive import FacetCitations
from newsrag.answering.verdict import Groups, compose, kind_of, order_asked
from newsrag.api.app import create_app
from newsrag.config import LLMSettings
from newsrag.retrieval.facets import Facet
from newsrag.retrieval.outlets import Outlets
from newsrag.retrieval.question import Question, read_question
from newsrag.schemas import Citation
from tests.answering.test_facets import ARTICLES
from tests.helpers import Script, fake_llm_server, make_settings, post_articles

OUTLETS = Outlets.of({"The Verge": ["v1"], "TechCrunch": ["t1"], "Reuters": ["r1"]})


def read(text: str) -> Question:
    return read_question(text, OUTLETS)


def citation(number: int, document_id: str, published_at: str | None) -> Citation:
    quote = f"Sentence {number}."
    return Citation(
        id=number,
        document_id=document_id,
        title="t",
        published_at=published_at,
        chunk_id=f"{document_id}:0",
        quote=quote,
        start=0,
        end=len(quote),
        score=0.5,
    )


VERGE = citation(1, "v1", "2023-10-02")
TECHCRUNCH = citation(2, "t1", "2023-11-20T09:00:00+00:00")
GROUPS = (FacetCitations(Facet("cut jobs"), (1,)), FacetCitations(Facet("raised money"), (2,)))


def test_an_asked_order_is_read_between_the_outlets_it_relates() -> None:
    assert order_asked(read("Did The Verge report the cuts before TechCrunch reported it?"))
    assert order_asked(read("Did The Verge report the cuts after TechCrunch did?")) is False
    claim = "Does The Verge say Acme won, while TechCrunch says Acme lost prior to the merger?"
    assert order_asked(read(claim)) is None  # an order inside one article's claim
    scene = "After The Verge reported the cuts, did TechCrunch remain consistent on the cause?"
    assert kind_of(read(scene)) == "judgment" and order_asked(read(scene)) is None
    named = "Does The Verge say Acme won, and the subsequent TechCrunch report that it lost?"
    assert order_asked(read(named)) is None  # "subsequent" only names which report
    assert kind_of(read("Does The Verge say Acme won, while TechCrunch says it lost?")) == "claims"


def test_the_order_word_nearest_the_last_outlet_is_the_one_asked() -> None:
    claim_then_order = read(
        "Did The Verge report that shares rose after earnings, before TechCrunch reported "
        "the layoffs?"
    )
    assert order_asked(claim_then_order) is True
    three = read("Did both The Verge and Reuters report X before TechCrunch reported Y?")
    groups = (GROUPS[0], FacetCitations(Facet("reuters"), (3,)), GROUPS[1])
    older = citation(3, "r1", "2023-09-01")
    after = read("Did both The Verge and Reuters report X after TechCrunch reported Y?")
    verdict = compose(after, groups, [VERGE, TECHCRUNCH, older])
    # the first outlet's article against the last outlet's (Reuters' is older than The Verge's)
    assert verdict is not None and verdict.answer.text == "no"
    assert verdict.answer.citations == [1, 2]
    first_missing = (FacetCitations(Facet("cut jobs"), ()), *groups[1:])
    assert compose(three, first_missing, [VERGE, TECHCRUNCH, older]) is None
    assert not read("When, according to The Verge, did Acme cut jobs?").yes_no


def test_the_order_is_decided_by_the_cited_articles_dates() -> None:
    before = read("Did The Verge report the cuts before TechCrunch reported the round?")
    after = read("Did The Verge report the cuts after TechCrunch reported the round?")
    yes = compose(before, GROUPS, [VERGE, TECHCRUNCH])
    no = compose(after, GROUPS, [VERGE, TECHCRUNCH])
    assert yes is not None and yes.answer.text == "yes" and not yes.model
    assert no is not None and no.answer.text == "no" and no.kind == "order"
    assert no.answer.citations == [1, 2]
    same_day = citation(2, "t1", "2023-10-02")
    assert compose(before, GROUPS, [VERGE, same_day]) is None  # the dates cannot tell
    undated = citation(2, "t1", None)
    assert compose(before, GROUPS, [VERGE, undated]) is None


def test_claims_need_every_facet_supported_and_judgments_need_a_model() -> None:
    claims = read("Does The Verge say Acme cut jobs, while TechCrunch says Acme raised money?")
    verdict = compose(claims, GROUPS, [VERGE, TECHCRUNCH])
    assert verdict is not None and verdict.answer.text == "yes"
    assert verdict.answer.citations == [1, 2]
    half = (GROUPS[0], FacetCitations(Facet("raised money"), ()))
    assert compose(claims, half, [VERGE]) is None  # not said is no denial
    judged = read("Was there a change between The Verge report and the TechCrunch report?")
    assert compose(judged, GROUPS, [VERGE, TECHCRUNCH]) is None
    not_yes_no = read("What did The Verge and TechCrunch report about Acme?")
    assert compose(not_yes_no, GROUPS, [VERGE, TECHCRUNCH]) is None


def test_the_model_judges_only_a_judgment_and_only_when_the_order_is_right() -> None:
    asked: list[Groups] = []

    def judge(question: str, groups: Groups) -> str:
        asked.append(groups)
        return "no"

    judged = read("Was there a change between The Verge report and the TechCrunch report?")
    verdict = compose(judged, GROUPS, [VERGE, TECHCRUNCH], judge)
    assert verdict is not None and verdict.answer.text == "no" and verdict.model
    assert asked == [[("cut jobs", ["Sentence 1."]), ("raised money", ["Sentence 2."])]]
    wrong_order = read("Did The Verge report the cuts after TechCrunch reported the round?")
    verdict = compose(wrong_order, GROUPS, [VERGE, TECHCRUNCH], judge)
    assert verdict is not None and verdict.answer.text == "no" and not verdict.model
    assert len(asked) == 1  # the dates decided; the model was not asked
    claims = read("Does The Verge say Acme cut jobs, while TechCrunch says Acme raised money?")
    verdict = compose(claims, GROUPS, [VERGE, TECHCRUNCH], judge)
    assert verdict is not None and verdict.answer.text == "yes" and not verdict.model
    assert len(asked) == 1  # claims rest on each facet's evidence, not on the model


# --- the real app ---------------------------------------------------------------------------------


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def client(tmp_path: Path, script: Script) -> Iterator[TestClient]:
    with fake_llm_server(script) as url:
        llm = LLMSettings(base_url=url, api_key=SecretStr("k"), model="fake", max_retries=0)
        with TestClient(create_app(make_settings(tmp_path / "data", llm=llm))) as test_client:
            post_articles(test_client, ARTICLES)
            yield test_client


def ask(client: TestClient, question: str, reader: str) -> dict[str, Any]:
    response = client.post("/v1/ask", json={"question": question, "reader": reader})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


ORDERED = (
    "Did The Verge report that Acme Robotics cut drone jobs before TechCrunch reported that "
    "Acme Robotics raised money from Northwind Capital?"
)
REVERSED = (
    "Did TechCrunch report that Acme Robotics raised money from Northwind Capital before The "
    "Verge reported that Acme Robotics cut drone jobs?"
)


def test_the_fast_reader_composes_the_order_verdict_from_the_articles(client: TestClient) -> None:
    yes, no = ask(client, ORDERED, "heuristic"), ask(client, REVERSED, "heuristic")
    assert yes["short_answer"]["text"] == "yes" and no["short_answer"]["text"] == "no"
    for body in (yes, no):
        assert {c["document_id"] for c in body["citations"]} >= {"verge-cuts", "tc-round"}
        ids = {c["id"] for c in body["citations"]}
        assert set(body["short_answer"]["citations"]) <= ids
        assert body["reading"]["model"] is False


def test_the_llm_reader_asks_the_model_only_for_a_judgment(
    client: TestClient, script: Script
) -> None:
    script.replies = [json.dumps({"verdict": "no"})]
    body = ask(client, REVERSED, "llm")
    assert body["short_answer"]["text"] == "no" and script.requests == []  # the dates decided
    assert body["reading"]["model"] is False
    judged = (
        "Was there a change between The Verge report that Acme Robotics cut drone jobs and the "
        "TechCrunch report that Acme Robotics raised money from Northwind Capital?"
    )
    body = ask(client, judged, "llm")
    assert len(script.requests) == 1 and body["reading"]["model"] is True
    assert body["reading"]["reader"] == "llm"
    assert body["short_answer"]["text"] == "no"  # the model's verdict
    prompt = json.dumps(script.requests[0]["messages"])
    assert "Acme Robotics cut 200 jobs" in prompt and "Acme Robotics raised 50 million" in prompt
    assert not body["refused"]


def test_chat_completions_carry_the_verdict_and_the_reading(client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": REVERSED}], "reader": "heuristic"}
    completion = client.post("/v1/chat/completions", json=body).json()
    assert completion["short_answer"]["text"] == "no"
    assert completion["reading"]["reader"] == "heuristic" and completion["refused"] is False
    streamed = client.post("/v1/chat/completions", json=body | {"stream": True}).text
    chunks = [line[6:] for line in streamed.splitlines() if line.startswith("data: ")]
    assert chunks[-1] == "[DONE]"
    last = json.loads(chunks[-2])
    assert last["short_answer"] == completion["short_answer"]
    assert last["reading"]["reader"] == "heuristic" and last["citations"]
