"""/v1/chat/completions validates like the rest of the API: 422 problem+json naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsrag.schemas import MAX_TURN_CHARS
from tests.helpers import LONE, assert_names_field, post_raw


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"messages": [user("x" * (MAX_TURN_CHARS + 1)), user("Who voted?")]},
            "messages.0.content",
        ),
        (
            {"messages": [{"role": "system", "content": "Be brief."}, user(f"Who {LONE}?")]},
            "messages.1.content",
        ),
        (
            {"messages": [user("Who voted?"), assistant(f"The {LONE} council."), user("When?")]},
            "messages.1.content",
        ),
        (
            {"messages": [user([{"type": "text", "text": f"Who {LONE} voted?"}])]},
            "messages.0.content",
        ),
        ({"model": f"newsrag{LONE}", "messages": [user("Who voted?")]}, "model"),
    ],
)
def test_invalid_messages_are_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str, stream: bool
) -> None:
    assert_names_field(post_raw(client, "/v1/chat/completions", body | {"stream": stream}), field)


def test_long_last_message_is_still_cut_to_a_question(client: TestClient) -> None:
    body = {"messages": [user("Who voted? " + "x" * (MAX_TURN_CHARS + 10))]}
    assert client.post("/v1/chat/completions", json=body).status_code == 200


def test_last_message_must_be_a_user_message(client: TestClient) -> None:
    body = {"messages": [user("Who voted?"), assistant("The council.")]}
    assert_names_field(client.post("/v1/chat/completions", json=body), "messages")
