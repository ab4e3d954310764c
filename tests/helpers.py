"""Helpers shared by the tests: settings, HTTP checks, a scripted LLM server, processes, writers.

Sections: settings and HTTP helpers (the unit tests' app); sample stories; a scripted
OpenAI-compatible server (a real HTTP server in a thread); feeds and pages served from 127.0.0.1
(ETag/304, redirects, slow and endless pages); real processes (free ports, clean environments,
start/stop); concurrent writers and the check that a document they wrote is whole.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from xml.sax.saxutils import escape

import httpx
import uvicorn
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from newsrag.components.embeddings import Matrix
from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import (
    ChromaSettings,
    ChunkSettings,
    LLMSettings,
    RetrievalSettings,
    Settings,
    SourceSettings,
)
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article, IngestResult
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.hybrid import HybridRetriever
from newsrag.text.chunking import sentences_of

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier

# --- settings and HTTP helpers --------------------------------------------------------------------


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
        # the poller stays off; feeds and pages are served from this machine
        "sources": SourceSettings(poll=False, allow_hosts="127.0.0.1"),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


ARTICLE = (
    "Council approves new bridge\n\n"
    "The city council voted 7 to 2 on Tuesday to approve the Riverside bridge. "
    "Mayor Ana Ruiz said construction will start in March. "
    "Opponents said the bridge will cost 40 million dollars."
)


def post_doc(client: TestClient, **fields: Any) -> Any:
    body = {"text": ARTICLE, "title": "Bridge", "document_id": "bridge", **fields}
    return client.post("/v1/documents", json=body)


def post_articles(client: TestClient, articles: dict[str, tuple[str, str, str]]) -> None:
    """Ingest ``articles`` (id → source, publication date, text whose first line is the title)."""
    for document_id, (source, published, text) in articles.items():
        body = {
            "text": text,
            "document_id": document_id,
            "source": source,
            "published_at": published,
            "title": text.split("\n")[0],
        }
        assert client.post("/v1/documents", json=body).status_code == 201


def assert_problem(response: Any, status: int, mentions: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if mentions:
        assert mentions in body["detail"]
    return body


def parse_sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = block.strip().splitlines()
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), None)
        data = "\n".join(line[5:].strip() for line in lines if line.startswith("data:"))
        if name:
            events.append((name, json.loads(data)))
    return events


LONE = "\ud800"


def post_raw(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    """Send ``body`` as JSON with lone surrogates escaped, as a client in any language may."""
    return client.post(
        path, content=json.dumps(body).encode("ascii"), headers={"content-type": "application/json"}
    )


def assert_names_field(response: Any, field: str) -> None:
    body = assert_problem(response, 422)
    fields = [error["field"] for error in body["errors"]]
    assert any(name.startswith(field) for name in fields), fields
    assert field in body["detail"]


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting its calls; raises on a text containing ``poison``."""

    def __init__(self, poison: str = "") -> None:
        super().__init__()
        self.calls: list[int] = []
        self._poison = poison

    def embed(self, texts: list[str]) -> Matrix:
        self.calls.append(len(texts))
        if self._poison and any(self._poison in text for text in texts):
            raise ValueError("the embedder failed")
        return super().embed(texts)


# --- sample stories -------------------------------------------------------------------------------

STORY = (
    "Ferry runs aground off Port Brannick\n\n"
    "A passenger ferry carrying 143 passengers and nine crew ran aground on a sandbank in the "
    "Tarrow Estuary on Monday night, the coastal safety authority said. Eleven people were "
    "taken to Brannick General Hospital with minor injuries. The ferry's captain, Aled Fenwick, "
    "has worked on the route for more than 20 years. All passengers were brought ashore by "
    "lifeboats within four hours. Sailings between Port Brannick and Inchmore are suspended "
    "until Friday while divers inspect the hull. The operator said it would cooperate fully "
    "with the investigation into the grounding."
)


def wire_copy(headline: str, dateline: str, footer: str) -> str:
    body = STORY.split("\n\n", 1)[1].replace("on Monday night", "Monday night")
    return f"{headline}\n\n{dateline}\n\n{body}\n\n{footer}"


# --- a scripted OpenAI-compatible server ----------------------------------------------------------


@dataclass
class Script:
    """What the fake LLM answers: ``replies`` in turn (the last one repeats)."""

    replies: list[str] = field(default_factory=lambda: ["NOT_IN_DOCUMENTS"])
    status: int = 200
    delay_s: float = 0.0
    requests: list[dict[str, object]] = field(default_factory=list)

    def next_reply(self) -> str:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def build_app(script: Script) -> Starlette:
    async def completions(request: Request) -> Response:
        body = await request.json()
        script.requests.append(body)
        if script.delay_s:
            time.sleep(script.delay_s)
        if script.status != 200:
            return JSONResponse({"error": {"message": "scripted failure"}}, script.status)
        reply = script.next_reply()
        if body.get("stream"):

            async def chunks() -> AsyncIterator[str]:
                for start in range(0, len(reply), 7):
                    delta = {"content": reply[start : start + 7]}
                    chunk = {
                        "id": "x",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "fake",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(chunks(), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    async def models(_: Request) -> Response:
        if script.status != 200:
            return JSONResponse({"error": {"message": "down"}}, script.status)
        return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/models", models),
        ]
    )


@contextmanager
def fake_llm_server(script: Script) -> Iterator[str]:
    """Serve ``script`` on a free local port; yields the base URL (…/v1)."""
    config = uvicorn.Config(build_app(script), host="127.0.0.1", port=0, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the fake LLM server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


# --- feeds and pages served from 127.0.0.1 -------------------------------------------------------


@dataclass
class Served:
    """What one path answers. ``etag`` defaults to a hash of ``body`` (a conditional GET that
    matches gets 304); ``redirect`` answers 302 to it; ``endless`` streams a byte every 50 ms
    forever; ``size`` streams that many bytes of filler (a page too large); ``encoding`` is
    sent as ``Content-Encoding`` (``body`` already encoded); ``failures`` answers 500 that many
    times first."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    redirect: str | None = None
    endless: bool = False
    size: int = 0
    encoding: str | None = None
    failures: int = 0


@dataclass
class PageServer:
    """A real HTTP server on 127.0.0.1 in a thread; ``requests`` logs (path, If-None-Match,
    status) of every request it answered."""

    base: str = ""
    routes: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def statuses(self, path: str) -> list[int]:
        return [status for seen, _, status in self.requests if seen == path]


def _handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            served = server.routes.get(path)
            condition = self.headers.get("If-None-Match")
            if served is None:
                self._answer(path, condition, 404, b"not found", "text/plain")
                return
            if served.redirect is not None:
                server.requests.append((path, condition, 302))
                self.send_response(302)
                self.send_header("Location", served.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if served.failures > 0:
                served.failures -= 1
                self._answer(path, condition, 500, b"try again", "text/plain")
                return
            etag = served.etag or '"' + hashlib.sha256(served.body).hexdigest()[:16] + '"'
            if condition == etag:
                server.requests.append((path, condition, 304))
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            if served.endless or served.size:
                server.requests.append((path, condition, 200))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()  # no length: the body ends when the connection does
                self._stream(served)
                return
            self._answer(
                path,
                condition,
                served.status,
                served.body,
                served.content_type,
                etag,
                served.encoding,
            )

        def _stream(self, served: Served) -> None:
            try:
                if served.endless:
                    self.wfile.write(b"<html><body><p>")
                    while True:
                        self.wfile.write(b"a")
                        self.wfile.flush()
                        time.sleep(0.05)
                block = b"<p>" + b"x" * 65_530 + b"</p>"
                for _ in range(served.size // len(block) + 1):
                    self.wfile.write(block)
            except OSError:  # the client hung up, as it should
                pass
            self.close_connection = True

        def _answer(
            self,
            path: str,
            condition: str | None,
            status: int,
            body: bytes,
            content_type: str,
            etag: str | None = None,
            encoding: str | None = None,
        ) -> None:
            server.requests.append((path, condition, status))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", email.utils.formatdate(0, usegmt=True))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def page_server(
    routes: dict[str, Served] | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[PageServer]:
    """Serve ``routes`` (path → :class:`Served`, changeable while it runs) on a free port;
    over HTTPS with ``tls`` (certificate and key files)."""
    state = PageServer(routes=dict(routes or {}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    state.base = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    """A certificate for ``host`` (and its key), made by the openssl command."""
    cert, key = folder / f"{host}.pem", folder / f"{host}.key"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={host}"]
    subprocess.run(
        [*command, "-addext", f"subjectAltName=DNS:{host}"],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    title: str
    body: str  # plain paragraphs separated by blank lines; None content → summary only
    author: str = "Ana Ruiz"
    published: str = "Tue, 03 Oct 2023 10:00:00 GMT"
    link: str = ""
    full: bool = True


def rss_feed(entries: Sequence[FeedEntry], title: str = "Harbour Gazette") -> bytes:
    """An RSS 2.0 feed; full entries carry their body as ``content:encoded`` HTML."""
    items = []
    for entry in entries:
        html = "".join(f"<p>{escape(p)}</p>" for p in entry.body.split("\n\n"))
        content = f"<content:encoded><![CDATA[{html}]]></content:encoded>" if entry.full else ""
        link = entry.link or f"https://example.org/news/{entry.guid}"
        items.append(
            f"<item><title>{escape(entry.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(entry.guid)}</guid>'
            f"<author>{escape(entry.author)}</author><pubDate>{entry.published}</pubDate>"
            f"<description>{escape(entry.body[:80])}</description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>https://example.org/</link>"
        f"<description>news</description>{''.join(items)}</channel></rss>"
    ).encode()


def feed_story(number: int, extra: str = "") -> str:
    """A story of a few paragraphs, unique to ``number``."""
    return (
        f"The harbour board met for session {number} on Tuesday and approved "
        f"{number + 3} new berths for the eastern quay. "
        f"Chair Mara Quint said the works would cost {number * 11 + 7} thousand pounds."
        f"\n\nDredging crews will start in spring, and pilots expect {number % 9 + 2} extra "
        f"sailings a week once the berths open.{extra}"
    )


# --- real processes -------------------------------------------------------------------------------

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSRAG_", "OPENAI_"))}
    # a served process starts the local model only when a test asks for it
    env.update({"HF_HUB_OFFLINE": "1", "NO_PROXY": "*", "NEWSRAG_LLM_LOCAL": "false"})
    env.update(extra)
    return env


def wait_for(
    url: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")


def start_service(data_dir: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "newsrag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=clean_env(NEWSRAG_DATA_DIR=str(data_dir), **env),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- concurrent writers ---------------------------------------------------------------------------

T = TypeVar("T")
WORDS = ["ferry", "tariff", "pier", "crane", "dredging", "berth", "tug", "quay", "pilot", "tide"]
# every chunk of one document comes back from one search with these
EVERYTHING = RetrievalSettings(candidates=200)


def story(tag: str, sentences: int = 40) -> str:
    """About 100 bytes a sentence (4 kB by default); ``tag`` makes the text unique."""
    lines = [
        f"Update {tag} line {i}: the harbour board said the {WORDS[i % len(WORDS)]} works "
        f"cost {i * 7 + len(tag)} thousand pounds this quarter."
        for i in range(sentences)
    ]
    return f"Harbour report {tag}\n\n" + " ".join(lines)


def connect(chroma: ChromaSettings, path: Path = Path("unused")) -> tuple[ChromaStore, Ingestor]:
    """A replica: its own store and ingestor (default chunking) on ``chroma``."""
    embedder = HashingEmbedder()
    store = ChromaStore.connect(chroma, path, embedder.name, embedder.dimension)
    return store, Ingestor(store, embedder, ChunkSettings(), 1_000_000)


def race(calls: Sequence[Callable[[], T]]) -> list[T | BaseException]:
    """Run the calls at once, each in its own thread; each one's result or exception."""
    start = threading.Barrier(len(calls))
    outcomes: list[T | BaseException] = [RuntimeError("did not finish")] * len(calls)

    def run(position: int) -> None:
        start.wait()
        try:
            outcomes[position] = calls[position]()
        except BaseException as exc:  # reported to the calling thread
            outcomes[position] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def assert_whole(store: ChromaStore, document_id: str, texts: Collection[str]) -> str:
    """The record's text is one of ``texts``; its chunks and its sentences are all there, cut
    from that text, and found by search; its versions are numbered 1..n. Returns the text."""
    document = store.get_document(document_id)
    text = document.text or ""
    assert text in texts, f"{document_id}: the stored text is none of the texts written"

    retriever = HybridRetriever(store, EVERYTHING)
    retriever.index.refresh()
    query = text[:200]
    vector = HashingEmbedder().embed([query])[0]
    passages = retriever.retrieve(query, vector, 200, Filters(document_ids=(document_id,)))
    assert len(passages) == document.chunks, (
        f"{document_id}: the record says {document.chunks} chunks, search finds {len(passages)}"
    )
    assert len({p.chunk.chunk_id for p in passages}) == len(passages)
    covered: set[int] = set()
    for passage in passages:
        chunk = passage.chunk
        assert text[chunk.start : chunk.end] == chunk.text, f"{document_id}: a foreign chunk"
        covered.update(range(chunk.first_sentence, chunk.last_sentence + 1))
    sentences = sentences_of(text)
    assert covered == set(range(len(sentences))), f"{document_id}: sentences without a chunk"

    rows = store.get_sentences(document_id, document.text_hash, range(len(sentences)))
    assert [row.index for row in rows] == list(range(len(sentences))), (
        f"{document_id}: the sentence pack of the stored text is missing or incomplete"
    )
    assert all(text[row.start : row.end] == row.text for row in rows)

    versions = store.versions(document_id, with_text=True)
    numbers = [version.version for version in versions]
    assert numbers == list(range(1, len(versions) + 1)), (
        f"{document_id}: version numbers {numbers} are not 1..n"
    )
    assert versions[-1].text == text and versions[-1].superseded_at is None
    assert all(version.superseded_at for version in versions[:-1])
    return text


def assert_no_strays(store: ChromaStore, document_id: str) -> None:
    """Every chunk row and sentence pack of the document is one the reader uses."""
    document = store.get_document(document_id, with_text=False)
    for collection in (store._collections.chunks, store._collections.sentences):
        got = collection.get(where={"document_id": document_id}, include=["metadatas"])
        writes = {str((meta or {}).get("write")) for meta in got.get("metadatas") or []}
        assert writes <= {document.write}, f"{document_id}: rows of other writes {writes}"


def write_rounds(
    chroma: ChromaSettings,
    document_id: str,
    tags: list[list[str]],
    start: Barrier,
    done: Barrier,
) -> None:
    """One replica process: each round, once ``start`` opens, write a story per tag of that
    round from a thread each, then wait at ``done``. Runs under multiprocessing."""
    _, ingestor = connect(chroma)
    failed: list[str] = []
    for round_tags in tags:
        start.wait()
        outcomes = race(
            [
                partial(ingestor.ingest, Article(story(tag), "Report", document_id))
                for tag in round_tags
            ]
        )
        failed.extend(
            repr(outcome) for outcome in outcomes if not isinstance(outcome, IngestResult)
        )
        done.wait()
    if failed:
        raise AssertionError("; ".join(failed))  # the process exits with 1


def recording_row_reads(monkeypatch: Any) -> list[list[str]]:
    """The documents each ``ChromaStore.chunk_rows_of`` call reads, in order (a read of every
    chunk row fails the test): what a catch-up of the corpus index reads."""
    import pytest

    asked: list[list[str]] = []
    original = ChromaStore.chunk_rows_of

    def chunk_rows_of(store: ChromaStore, writes: dict[str, str], **kw: bool) -> object:
        asked.append(sorted(writes))
        return original(store, writes, **kw)

    monkeypatch.setattr(ChromaStore, "chunk_rows_of", chunk_rows_of)
    monkeypatch.setattr(ChromaStore, "iter_chunk_rows", lambda *_, **__: pytest.fail("read all"))
    return asked


def recording_record_reads(monkeypatch: Any) -> list[list[str]]:
    """The documents each ``ChromaStore.get_documents`` call reads, in order (a read of every
    record fails the test)."""
    import pytest

    asked: list[list[str]] = []
    original = ChromaStore.get_documents

    def get_documents(store: ChromaStore, document_ids: list[str], **kw: bool) -> object:
        asked.append(sorted(document_ids))
        return original(store, document_ids, **kw)

    monkeypatch.setattr(ChromaStore, "get_documents", get_documents)
    monkeypatch.setattr(ChromaStore, "list_documents", lambda *_: pytest.fail("read every record"))
    return asked
