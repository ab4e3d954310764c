"""Graceful shutdown: SIGTERM lets an in-flight answer finish, then the server exits cleanly."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.helpers import Script, fake_llm_server, start_service, stop, wait_for

pytestmark = pytest.mark.integration


def test_sigterm_finishes_the_stream_in_flight(tmp_path: Path) -> None:
    script = Script(replies=["The harbour reopened on Monday [1]."], delay_s=2.0)
    with fake_llm_server(script) as llm_url:
        process, url = start_service(
            tmp_path / "data",
            NEWSRAG_EMBEDDINGS="fake",
            NEWSRAG_BOOTSTRAP="false",
            NEWSRAG_LLM_BASE_URL=llm_url,
            NEWSRAG_LLM_MODEL="fake",
            NEWSRAG_RETRIEVAL_REFUSAL_THRESHOLD="0.05",
        )
        try:
            wait_for(f"{url}/readyz", process=process)
            httpx.post(
                f"{url}/v1/documents",
                json={"document_id": "h", "text": "The harbour reopened on Monday."},
            ).raise_for_status()
            outcome: dict[str, httpx.Response] = {}

            def ask() -> None:
                outcome["response"] = httpx.post(
                    f"{url}/v1/chat",
                    json={"question": "When did the harbour reopen?", "mode": "generative"},
                    timeout=30,
                )

            worker = threading.Thread(target=ask)
            worker.start()
            while not script.requests:  # the answer is being generated
                worker.join(0.05)
            process.send_signal(signal.SIGTERM)
            worker.join(30)
            # uvicorn re-raises the captured SIGTERM once it has shut down gracefully
            assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        finally:
            if process.poll() is None:
                stop(process)
    response = outcome["response"]
    assert response.status_code == 200
    assert "event: done" in response.text and "reopened on Monday" in response.text
