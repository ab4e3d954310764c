"""API keys and roles, the rate limit, the body size limit and CORS, through the real app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.types import Message, Receive, Scope, Send

from newsrag.api.app import create_app
from newsrag.api.security import BodyLimitMiddleware, install_security, parse_api_keys
from newsrag.config import Settings
from newsrag.errors import SettingsError
from tests.helpers import make_settings

KEYS = SecretStr("rwkey:rw,rokey:ro")
RW = {"Authorization": "Bearer rwkey"}
RO = {"Authorization": "Bearer rokey"}
ARTICLE = {
    "text": "Council approves new bridge\n\nThe city council voted 7 to 2 on Tuesday.",
    "title": "Bridge",
    "document_id": "bridge",
}


def build_app(settings: Settings) -> FastAPI:
    """The app as served; installs the security layer unless create_app already does."""
    app = create_app(settings)
    if not getattr(app.state, "security_installed", False):
        install_security(app, settings)
    return app


def open_client(tmp_path: Path, **overrides: Any) -> TestClient:
    return TestClient(build_app(make_settings(tmp_path / "data", **overrides)))


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[TestClient]:
    with open_client(tmp_path, api_keys=KEYS) as client:
        yield client


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic rwkey"},
        {"Authorization": "Bearer rwke"},
    ],
)
def test_missing_or_wrong_key_is_401(keyed: TestClient, headers: dict[str, str]) -> None:
    response = keyed.get("/v1/documents", headers=headers)
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "rwkey" not in response.text and "wrong" not in response.text
    assert body["type"].endswith("/unauthorized")


def test_read_only_key_reads_but_cannot_write(keyed: TestClient) -> None:
    assert keyed.get("/v1/documents", headers=RO).status_code == 200
    assert keyed.get("/v1/info", headers=RO).status_code == 200
    search = keyed.post("/v1/search", json={"query": "bridge"}, headers=RO)
    assert search.status_code == 200, search.text
    assert_problem(keyed.post("/v1/documents", json=ARTICLE, headers=RO), 403)
    assert_problem(keyed.delete("/v1/documents/bridge", headers=RO), 403)


def test_read_write_key_ingests_and_deletes(keyed: TestClient) -> None:
    assert keyed.post("/v1/documents", json=ARTICLE, headers=RW).status_code == 201
    assert keyed.get("/v1/documents/bridge", headers=RO).status_code == 200
    assert keyed.delete("/v1/documents/bridge", headers=RW).status_code == 204


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/", "/openapi.json", "/docs"])
def test_open_routes_need_no_key(keyed: TestClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("# operators\nfilerw:rw\n\n  fileread : ro \n", encoding="utf-8")
    with open_client(tmp_path, api_keys=SecretStr(str(key_file))) as client:
        assert client.get("/v1/documents", headers={"Authorization": "Bearer fileread"}).is_success
        writing = client.post(
            "/v1/documents", json=ARTICLE, headers={"Authorization": "Bearer fileread"}
        )
        assert_problem(writing, 403)
        assert (
            client.post(
                "/v1/documents", json=ARTICLE, headers={"Authorization": "Bearer filerw"}
            ).status_code
            == 201
        )
        assert_problem(
            client.get("/v1/documents", headers={"Authorization": "Bearer # operators"}), 401
        )


@pytest.mark.parametrize(
    "value", ["rwkey:root", ":rw", "rwkey", "a:rw,b:xx", ",", "same:rw,same:ro"]
)
def test_malformed_keys_name_the_variable(tmp_path: Path, value: str) -> None:
    settings = make_settings(tmp_path / "data", api_keys=SecretStr(value))
    with pytest.raises(SettingsError) as caught:
        install_security(FastAPI(), settings)
    message = str(caught.value)
    assert "NEWSRAG_API_KEYS" in message and "\n" not in message
    assert "rwkey" not in message and "same" not in message


def test_malformed_key_file_names_the_line(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("good:rw\nsecret-without-role\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"NEWSRAG_API_KEYS: .*line 2") as caught:
        parse_api_keys(str(key_file))
    assert "secret-without-role" not in str(caught.value)


def test_parse_inline_keys() -> None:
    keys = parse_api_keys(" a:rw , b:RO , c:Admin")
    assert [(key.secret, key.role) for key in keys] == [(b"a", "rw"), (b"b", "ro"), (b"c", "admin")]
    assert all(key.label.startswith("key:") and len(key.label) == 20 for key in keys)
    assert parse_api_keys("  ") == ()


def test_rate_limit_per_key(tmp_path: Path) -> None:
    with open_client(tmp_path, api_keys=KEYS, rate_limit="3/minute") as client:
        for _ in range(3):
            assert client.get("/v1/documents", headers=RO).status_code == 200
        limited = client.get("/v1/documents", headers=RO)
        body = assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert "retry_after" not in body
        assert client.get("/v1/documents", headers=RW).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_rate_limit_by_client_without_keys(tmp_path: Path) -> None:
    with open_client(tmp_path, rate_limit="2/minute") as client:
        assert client.get("/v1/documents").status_code == 200
        assert client.get("/v1/documents").status_code == 200
        assert_problem(client.get("/v1/documents"), 429)
        assert client.get("/healthz").status_code == 200


def test_no_keys_means_open(tmp_path: Path) -> None:
    with open_client(tmp_path) as client:
        assert client.post("/v1/documents", json=ARTICLE).status_code == 201


def sized_body(size: int) -> bytes:
    """A valid ingest body of exactly ``size`` bytes."""
    empty = json.dumps({**ARTICLE, "text": ""}).encode()
    return json.dumps({**ARTICLE, "text": "x" * (size - len(empty))}).encode()


def test_content_length_over_limit_is_413(tmp_path: Path) -> None:
    with open_client(tmp_path, api_keys=KEYS, max_body_bytes=1024) as client:
        too_big = sized_body(1025)
        response = client.post(
            "/v1/documents",
            content=too_big,
            headers={**RW, "Content-Type": "application/json"},
        )
        assert_problem(response, 413)
        just_fits = sized_body(1024)
        assert len(just_fits) == 1024
        fits = client.post(
            "/v1/documents",
            content=just_fits,
            headers={**RW, "Content-Type": "application/json"},
        )
        assert fits.status_code in (201, 422), fits.text


def test_chunked_body_over_limit_is_413(tmp_path: Path) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        body = sized_body(total)
        yield body

    with open_client(tmp_path, max_body_bytes=1024) as client:
        over = client.post(
            "/v1/documents", content=chunks(2000), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in over.request.headers
        assert_problem(over, 413)
        under = client.post(
            "/v1/documents", content=chunks(1000), headers={"Content-Type": "application/json"}
        )
        assert under.status_code in (201, 422), under.text


def test_streamed_body_stops_being_read_past_the_limit() -> None:
    reads: list[int] = []
    answered: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    async def receive() -> Message:
        reads.append(len(reads))
        return {"type": "http.request", "body": b"x" * 600, "more_body": len(reads) < 10}

    async def send(message: Message) -> None:
        answered.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/documents", "headers": []}
    # in its own thread: Playwright's sync API may keep an event loop running in this one
    middleware = BodyLimitMiddleware(app, max_bytes=1024)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, middleware(scope, receive, send)).result()
    assert len(reads) == 2
    assert answered[0]["status"] == 413
    assert b"1024" in answered[1]["body"]


def test_cors_closed_by_default(tmp_path: Path) -> None:
    preflight = {
        "Origin": "https://news.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    with open_client(tmp_path) as client:
        response = client.options("/v1/search", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        plain = client.get("/v1/documents", headers={"Origin": "https://news.example"})
        assert "access-control-allow-origin" not in plain.headers


def test_cors_open_for_configured_origin(tmp_path: Path) -> None:
    preflight = {
        "Origin": "https://news.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    with open_client(tmp_path, api_keys=KEYS, cors_origins=["https://news.example"]) as client:
        response = client.options("/v1/search", headers=preflight)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://news.example"
        assert "POST" in response.headers["access-control-allow-methods"]
        assert "authorization" in response.headers["access-control-allow-headers"].lower()
        denied = client.get("/v1/documents", headers={"Origin": "https://news.example"})
        assert_problem(denied, 401)
        assert denied.headers["access-control-allow-origin"] == "https://news.example"
        other = client.options(
            "/v1/search", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


def test_install_is_idempotent(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", api_keys=KEYS)
    app = build_app(settings)
    middleware_count = len(app.user_middleware)
    install_security(app, settings)
    assert len(app.user_middleware) == middleware_count


def test_wrong_key_guesses_count_against_the_address(tmp_path: Path) -> None:
    with open_client(tmp_path, api_keys=KEYS, rate_limit="3/minute") as client:
        guess = {"Authorization": "Bearer guess"}
        for _ in range(3):
            assert_problem(client.get("/v1/documents", headers=guess), 401)
        limited = client.get("/v1/documents", headers=guess)
        assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/v1/documents", headers=RO).status_code == 200  # keys have their own


@pytest.mark.parametrize(
    ("value", "secrets"),
    [
        ("sk:Zq7xW9aa", ["Zq7"]),
        ("Kp3vN8:rwx", ["Kp3", "rwx"]),
        ("a:rw,Hj5:Mt6yR2", ["Hj5", "Mt6"]),
    ],
)
def test_start_up_errors_never_echo_any_part_of_a_key(value: str, secrets: list[str]) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_api_keys(value)
    message = str(caught.value)
    assert "NEWSRAG_API_KEYS" in message
    assert not [secret for secret in secrets if secret.lower() in message.lower()], message
