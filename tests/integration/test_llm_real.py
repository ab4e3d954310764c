"""Generative mode end to end against the real llama.cpp server and the bundled Qwen model.

These tests fail (never skip) when llama.cpp or the model is missing: `make install` provides
both, and a build that crashes on its first request (a native build on a virtual machine that
advertises AMX) must fail here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from newsrag.answering.reader import READ_SCHEMA, answerable_probability
from newsrag.api.app import create_app
from newsrag.api.container import Container
from newsrag.components.llm.client import LLMClient
from newsrag.components.llm.server import LocalLLMServer, running_local_llm, with_endpoint
from newsrag.config import Settings
from newsrag.eval.dataset import load_article_set
from newsrag.eval.gates import check_floors
from newsrag.eval.runner import run_set, summarise
from newsrag.ingest.bundled import BUNDLED_ID
from newsrag.prompts import render, text
from tests.helpers import parse_sse, start_service, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.llm]


@pytest.fixture(scope="module")
def local_llm(
    local_settings_factory: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalLLMServer]:
    settings = local_settings_factory(tmp_path_factory.mktemp("llm"))  # type: ignore[operator]
    with running_local_llm(settings) as server:
        yield server


@pytest.fixture
def generative_settings(local_settings: Settings, local_llm: LocalLLMServer) -> Settings:
    # no deadlines: these tests judge the model's answers, on a machine other tests may load
    return local_settings.model_copy(
        update={
            "bootstrap": True,
            "answer_mode": "generative",
            "llm": with_endpoint(local_settings.llm, local_llm).model_copy(
                update={"max_retries": 0, "write_deadline_s": 0.0}
            ),
            "reading": local_settings.reading.model_copy(update={"deadline_s": 0.0}),
        }
    )


@pytest.fixture
def client(generative_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(generative_settings)) as test_client:
        yield test_client


def exact(client: TestClient, body: dict[str, object]) -> None:
    text = client.get(f"/v1/documents/{BUNDLED_ID}").json()["text"]
    assert body["citations"]
    for citation in body["citations"]:  # type: ignore[attr-defined]
        assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_the_real_model_answers_and_every_sentence_is_verified(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "Who signed the letter to Rex Tillerson?"})
    answer = body.json()
    assert answer["mode"] == "generative", answer.get("note")  # not a fallback
    assert answer["refused"] is False
    assert "Congress" in answer["answer"]
    assert "Putin signed" not in answer["answer"]
    assert answer["verification"]["supported"] >= 1
    exact(client, answer)


def test_the_real_model_refuses_what_the_article_does_not_say(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "What is the population of Chechnya?"}).json()
    assert body["refused"] is True
    assert body["citations"] == []


def test_streaming_against_the_real_model(client: TestClient) -> None:
    events = parse_sse(
        client.post(
            "/v1/chat", json={"question": "What did the Kremlin say about the reports?"}
        ).text
    )
    assert events[-1][0] == "done"
    done = events[-1][1]
    assert done["mode"] == "generative", done.get("note")
    assert "".join(p["text"] for n, p in events if n == "token") == done["answer"]
    exact(client, done)


def test_readyz_and_metrics_report_the_supervised_model(
    generative_settings: Settings, local_llm: LocalLLMServer
) -> None:
    container = Container(generative_settings, local_llm=local_llm)
    with TestClient(create_app(container.settings, container)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["llm"]["state"] == "ready"
        assert "newsrag_llm_up 1.0" in client.get("/metrics").text
        assert client.get("/v1/info").json()["llm_model"] == local_llm.choice.alias


def test_the_eval_gate_fails_when_the_server_dies_mid_run(
    generative_settings: Settings, local_llm: LocalLLMServer
) -> None:
    cases = load_article_set().sample(4)
    restarts = local_llm.restarts

    def kill_after_first(done: int) -> None:
        if done == 1:
            assert local_llm.pid is not None
            os.kill(local_llm.pid, signal.SIGKILL)

    results = run_set(cases, generative_settings, "generative", after_case=kill_after_first)
    summary = {**summarise(results), "llm_restarts": local_llm.restarts - restarts}
    failures = check_floors(
        {"article-generative": summary},
        {"article-generative": {"llm_failures_max": 0, "llm_restarts_max": 0}},
    )
    assert summary["llm_restarts"] >= 1
    assert any(f.startswith("article-generative.llm_restarts") for f in failures), failures


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:  # a killed orphan is reaped by init; until then it is a zombie, not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_the_model_server_dies_within_seconds_when_newsrag_is_killed_mid_request(
    tmp_path: Path,
) -> None:
    process, url = start_service(
        tmp_path / "data",
        NEWSRAG_EMBEDDINGS="local",
        NEWSRAG_LLM_LOCAL="true",
        NEWSRAG_ANSWER_MODE="generative",
        NEWSRAG_READ_DEADLINE_S="120",
        NEWSRAG_LLM_WRITE_DEADLINE_S="120",
    )
    try:
        wait_for(f"{url}/readyz", timeout=240, process=process)
        servers = [c for c in _children(process.pid) if "llama-server" in _cmdline(c)]
        assert len(servers) == 1, [_cmdline(c) for c in _children(process.pid)]

        def ask() -> None:
            with contextlib.suppress(httpx.HTTPError):  # newsrag dies under this request
                httpx.post(f"{url}/v1/ask", json={"question": "Who signed the letter?"}, timeout=60)

        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        slots = f"http://127.0.0.1:{_port_of(servers[0])}/slots"
        deadline = time.monotonic() + 30
        while not any(slot.get("is_processing") for slot in httpx.get(slots, timeout=5).json()):
            assert time.monotonic() < deadline, "the model never started reading"
            time.sleep(0.05)
        process.kill()  # newsrag dies while the model reads
        process.wait()
        deadline = time.monotonic() + 5
        while _alive(servers[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(servers[0]), "the llama-server child outlived newsrag by 5 s"
    finally:
        if process.poll() is None:
            stop(process)


def _port_of(pid: int) -> int:
    words = _cmdline(pid).split()
    return int(words[words.index("--port") + 1])


def test_the_real_server_grades_the_verdict_by_its_token_probabilities(
    local_llm: LocalLLMServer, local_settings: Settings
) -> None:
    client = LLMClient(with_endpoint(local_settings.llm, local_llm))
    messages = [
        {"role": "system", "content": text("reader")},
        {
            "role": "user",
            "content": render(
                "answer",
                sentences="[1] Fifty Members of Congress signed the letter to Rex Tillerson.",
                question="Who signed the letter to Rex Tillerson?",
            ),
        },
    ]
    reply = client.chat_json(messages, READ_SCHEMA, top_logprobs=5)
    probability = answerable_probability(reply.tokens)
    assert probability is not None and probability > 0.5, reply


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""
