"""Property-based fuzzing of the live API from its own OpenAPI schema (schemathesis).

No input may produce a 5xx, and every error is problem+json. The server runs as a real process
with the hashing embedder (the model is not what is under test here).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.helpers import start_service, stop, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data: Path = tmp_path_factory.mktemp("fuzz") / "data"
    process: subprocess.Popen[bytes]
    process, url = start_service(data, NEWSRAG_EMBEDDINGS="fake", NEWSRAG_BOOTSTRAP="true")
    try:
        wait_for(f"{url}/readyz", process=process)
        yield url
    finally:
        stop(process)


def test_no_server_errors_and_problem_details(live_url: str) -> None:
    api = schemathesis.openapi.from_url(f"{live_url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=live_url, timeout=30)
            calls.append(response.status_code)
            try:
                case.validate_response(response, checks=[not_a_server_error])
                if response.status_code >= 400:
                    kind = "".join(response.headers.get("content-type", [""])[:1])
                    assert kind.startswith("application/problem+json"), kind
                    assert {"type", "title", "status", "detail"} <= response.json().keys()
            except (AssertionError, schemathesis.errors.SchemathesisError) as exc:
                failures.append(f"{case.method} {case.path}: {response.status_code} {exc}")
                raise

        # a failure is recorded with its operation; keep fuzzing the others
        with contextlib.suppress(AssertionError, schemathesis.errors.SchemathesisError):
            fuzz()
    assert not failures, "\n".join(failures[:10])
    assert len(calls) > 10 * len(operations)  # it really generated many requests
    assert any(code < 400 for code in calls) and any(code >= 400 for code in calls)


# Inputs the schema's generators never produce: JSON escapes of lone surrogates, NaN and
# Infinity (Python's JSON reader accepts them), zero dates, ids the routes cannot reach.
HOSTILE: list[tuple[str, str]] = [
    ("/v1/documents", '{"text": "Bridge \\ud800 opens"}'),
    ("/v1/documents", '{"text": "Bridge opens", "metadata": {"k\\udc00": "v"}}'),
    ("/v1/documents", '{"text": "Bridge opens", "metadata": {"score": NaN}}'),
    ("/v1/documents", '{"text": "Bridge opens", "metadata": {"score": -Infinity}}'),
    ("/v1/documents", '{"text": "Bridge opens", "document_id": "x/versions/1"}'),
    ("/v1/documents", '{"text": "Zero-dated bridge story.", "published_at": "9999-12-31"}'),
    ("/v1/documents", '{"text": "Zero-dated ferry story.", "published_at": "0001-06-01"}'),
    ("/v1/ask", '{"question": "What happened in 2017?"}'),
    ("/v1/ask", '{"question": "What happened last week?", "as_of": "0001-01-01"}'),
    ("/v1/ask", '{"question": "Who \\ud800 voted?"}'),
    ("/v1/chat", '{"question": "What happened last year?", "as_of": "0001-01-01"}'),
    ("/v1/search", '{"query": "bridge \\udfff"}'),
    (
        "/v1/chat/completions",
        '{"messages": [{"role": "user", "content": "' + "x" * 8001 + '"}, '
        '{"role": "user", "content": "Who voted?"}]}',
    ),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "Who \\ud800?"}]}'),
    (
        "/v1/chat/completions",
        '{"model": "m\\ud800", "messages": [{"role": "user", "content": "Hi"}]}',
    ),
]


@pytest.mark.parametrize(("path", "body"), HOSTILE)
def test_hostile_json_is_never_a_server_error(live_url: str, path: str, body: str) -> None:
    response = httpx.post(
        live_url + path, content=body, headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {"type", "title", "status", "detail", "errors"} <= response.json().keys()
