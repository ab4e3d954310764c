from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from newsrag.api.logs import JsonFormatter, RequestIdFilter, configure_logging


def test_json_lines_carry_the_request_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=True)
    try:
        response = client.get("/healthz", headers={"X-Request-ID": "req-123"})
        assert response.headers["x-request-id"] == "req-123"
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
        access = [line for line in lines if line["logger"] == "newsrag.access"]
        assert access and access[-1]["request_id"] == "req-123"
        assert access[-1]["path"] == "/healthz" and access[-1]["status"] == 200
    finally:
        logging.getLogger().handlers.clear()


def test_formatter_outputs_one_json_object() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    RequestIdFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello world" and entry["request_id"] == "-"
