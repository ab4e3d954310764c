"""Settings, HTTP checks and sample stories for the unit tests' app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from newsrag.components.embeddings import Matrix
from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.config import (
    ChromaSettings,
    LLMSettings,
    Settings,
    SourceSettings,
)

if TYPE_CHECKING:
    pass


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
