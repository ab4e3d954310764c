"""Scale-out: two service replicas on one real `chroma run` server, and a Chroma restart."""

from __future__ import annotations

import multiprocessing
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from newsrag.config import ChromaSettings
from newsrag.models import Article, IngestResult
from tests.helpers import (
    PROJECT,
    assert_no_strays,
    assert_whole,
    connect,
    free_port,
    race,
    stop,
    story,
    write_rounds,
)

pytestmark = pytest.mark.integration
CHROMA = PROJECT / ".venv" / "bin" / "chroma"


class ChromaServer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("chroma run did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma")
    server.start()
    yield server
    server.stop()


def ask(url: str, question: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{url}/v1/ask", json={"question": question, **extra}, timeout=30)


STORY = {
    "document_id": "harbour-2026",
    "title": "Harbour reopens",
    "text": "Harbour reopens\n\nThe Lundy harbour reopened on Monday after a storm closed it "
    "for nine days. The harbour master, Ines Varga, said ferries will run hourly.",
}


def test_two_replicas_share_one_chroma_server(
    chroma: ChromaServer, service_factory: Callable[..., str], tmp_path: Path
) -> None:
    env = {
        "NEWSRAG_CHROMA_HOST": "127.0.0.1",
        "NEWSRAG_CHROMA_PORT": str(chroma.port),
        "NEWSRAG_BOOTSTRAP": "false",
    }
    replica_a = service_factory(tmp_path / "a", **env)
    replica_b = service_factory(tmp_path / "b", **env)
    assert httpx.post(f"{replica_a}/v1/documents", json=STORY, timeout=30).status_code == 201

    started = time.monotonic()
    body = ask(replica_b, "Who is the harbour master of Lundy?").json()
    assert "Ines Varga" in body["answer"]
    assert time.monotonic() - started < 2.0
    text = httpx.get(f"{replica_b}/v1/documents/harbour-2026").json()["text"]
    assert text == STORY["text"]

    assert httpx.delete(f"{replica_b}/v1/documents/harbour-2026").status_code == 204
    gone = httpx.post(
        f"{replica_a}/v1/search", json={"query": "Lundy harbour master Ines Varga"}
    ).json()
    assert gone["results"] == []
    assert ask(replica_a, "Who is the harbour master of Lundy?").json()["refused"] is True


def test_chroma_restart_gives_503_then_recovers(
    chroma: ChromaServer, service_factory: Callable[..., str], tmp_path: Path
) -> None:
    env = {"NEWSRAG_CHROMA_HOST": "127.0.0.1", "NEWSRAG_CHROMA_PORT": str(chroma.port)}
    replica = service_factory(tmp_path / "a", NEWSRAG_BOOTSTRAP="false", **env)
    assert httpx.post(f"{replica}/v1/documents", json=STORY, timeout=30).status_code == 201

    chroma.stop()
    during = ask(replica, "Who is the harbour master of Lundy?")
    assert during.status_code == 503
    assert during.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{replica}/readyz").status_code == 503

    chroma.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = ask(replica, "Who is the harbour master of Lundy?")
        if response.status_code == 200:
            break
        assert response.status_code == 503
        time.sleep(0.5)
    assert "Ines Varga" in response.json()["answer"]  # nothing ingested before was lost
    assert httpx.get(f"{replica}/readyz").status_code == 200


def test_writer_threads_on_two_replicas_leave_every_document_whole(chroma: ChromaServer) -> None:
    server = ChromaSettings(host="127.0.0.1", port=chroma.port)
    # two stores, two ingestors: replicas that share nothing but the Chroma server
    replicas = [connect(server)[1] for _ in range(2)]
    check, _ = connect(server)
    writers, rounds = 4, 8
    for round_ in range(rounds):
        texts = {doc: [story(f"{doc}r{round_}w{i}") for i in range(writers)] for doc in "ab"}
        calls = [
            partial(replicas[i % 2].ingest, Article(text, f"Report {doc}", f"report-{doc}"))
            for doc, written in texts.items()
            for i, text in enumerate(written)
        ]
        for outcome in race(calls):
            assert isinstance(outcome, IngestResult), f"round {round_}: {outcome!r}"
        for doc, written in texts.items():
            stored = assert_whole(check, f"report-{doc}", written)
            again = replicas[1].ingest(Article(stored, f"Report {doc}", f"report-{doc}"))
            assert again.status == "unchanged"
            assert_no_strays(check, f"report-{doc}")


def test_writer_processes_leave_the_document_whole(chroma: ChromaServer) -> None:
    """Replicas in separate processes: no lock, no in-flight registry in common."""
    server = ChromaSettings(host="127.0.0.1", port=chroma.port)
    processes, threads, rounds = 2, 2, 6
    tags = [
        [[f"p{p}r{r}t{t}" for t in range(threads)] for r in range(rounds)] for p in range(processes)
    ]
    spawn = multiprocessing.get_context("spawn")
    start, done = (
        spawn.Barrier(processes + 1, timeout=120),
        spawn.Barrier(processes + 1, timeout=120),
    )
    workers = [
        spawn.Process(target=write_rounds, args=(server, "report", tags[p], start, done))
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    check, ingestor = connect(server)
    try:
        for round_ in range(rounds):
            start.wait()
            done.wait()
            written = [story(tag) for p in range(processes) for tag in tags[p][round_]]
            stored = assert_whole(check, "report", written)
            assert ingestor.ingest(Article(stored, "Report", "report")).status == "unchanged"
            assert_no_strays(check, "report")
    finally:
        start.abort()  # a failed check must not leave the workers waiting for the next round
        done.abort()
        for worker in workers:
            worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * processes
