"""The access log: one line per request, whatever the path holds."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    "path",
    [
        "/healthz%0a2026-01-01 INFO newsrag.access GET /admin 200",
        "/healthz%0d%0aforged",
        "/v1/documents/a%1b[31mred%7f%c2%85",
    ],
)
def test_control_characters_in_paths_cannot_forge_log_lines(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.INFO, logger="newsrag.access"):
        client.get(path)
    records = [r for r in caplog.records if r.name == "newsrag.access"]
    assert records
    record = records[-1]
    for text in (record.getMessage(), str(getattr(record, "path", ""))):
        assert text.isprintable(), text
    assert (
        "\\x0a" in record.getMessage()
        or "\\x0d" in record.getMessage()
        or "\\x1b" in record.getMessage()
    )
