"""A small client for any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama).

Uses the openai SDK directly: its timeouts and retries with exponential backoff are what we need,
and every failure becomes :class:`LLMUnavailable` so callers decide between fallback and 503.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsrag.config import LLMSettings
from newsrag.errors import LLMUnavailable, ReadDeadlineExceeded

if TYPE_CHECKING:
    from openai import OpenAI

Messages = list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Token:
    """One generated token and the probabilities of the tokens the model weighed at that place
    (its top alternatives, the chosen one included)."""

    text: str
    top: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JSONReply:
    """A JSON reply and, when asked for and the server gives them, its tokens' probabilities."""

    text: str
    tokens: list[Token] = field(default_factory=list)


class LLMClient:
    def __init__(self, settings: LLMSettings) -> None:
        from openai import OpenAI

        self.settings = settings
        key = settings.key.get_secret_value() if settings.key else "not-needed"
        self._client: OpenAI = OpenAI(
            base_url=settings.base_url,
            api_key=key,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )
        self.model = settings.model

    def _request(
        self,
        messages: Messages,
        max_tokens: int | None,
        stream: bool,
        response_format: dict[str, Any] | None = None,
        deadline_s: float | None = None,
        top_logprobs: int = 0,
    ) -> Any:
        from openai import APITimeoutError, OpenAIError

        options: dict[str, Any] = {"response_format": response_format} if response_format else {}
        if top_logprobs:
            options.update(logprobs=True, top_logprobs=top_logprobs)
        client = self._client
        if deadline_s is not None:  # an answer past the deadline is worth less than none: no
            # retries, and the deadline bounds each phase of the request (llama-server sends
            # nothing before its reply is complete, and cancels a request whose client left)
            client = client.with_options(
                timeout=min(deadline_s, self.settings.timeout_s), max_retries=0
            )
        try:
            return client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=self.settings.temperature,
                max_tokens=max_tokens or self.settings.max_tokens,
                stream=stream,
                **options,
            )
        except APITimeoutError as exc:
            if deadline_s is not None and deadline_s <= self.settings.timeout_s:
                raise ReadDeadlineExceeded(
                    f"the model did not answer within {deadline_s:g} s"
                ) from exc
            raise LLMUnavailable(f"the LLM endpoint timed out: {exc}") from exc
        except OpenAIError as exc:
            raise LLMUnavailable(f"the LLM endpoint failed: {type(exc).__name__}: {exc}") from exc

    def chat(self, messages: Messages, max_tokens: int | None = None) -> str:
        response = self._request(messages, max_tokens, stream=False)
        if not response.choices:
            raise LLMUnavailable("the LLM endpoint returned no choices")
        return str(response.choices[0].message.content or "")

    def chat_json(
        self,
        messages: Messages,
        schema: dict[str, Any],
        *,
        deadline_s: float | None = None,
        top_logprobs: int = 0,
    ) -> JSONReply:
        """A reply constrained to JSON: to ``schema`` where the server takes one (llama.cpp's
        ``json_object`` with a schema), else the plain JSON mode of OpenAI-compatible APIs.
        ``deadline_s``: :class:`ReadDeadlineExceeded` past it. ``top_logprobs``: each token's
        most likely alternatives, where the server returns them (llama-server, OpenAI)."""
        response_format: dict[str, Any] = {"type": "json_object"}
        if self.settings.json_schema:
            response_format["schema"] = schema
        response = self._request(
            messages,
            None,
            stream=False,
            response_format=response_format,
            deadline_s=deadline_s,
            top_logprobs=top_logprobs,
        )
        if not response.choices:
            raise LLMUnavailable("the LLM endpoint returned no choices")
        choice = response.choices[0]
        return JSONReply(str(choice.message.content or ""), _tokens(choice))

    def stream(self, messages: Messages, max_tokens: int | None = None) -> Iterator[str]:
        from openai import OpenAIError

        chunks = self._request(messages, max_tokens, stream=True)
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield str(chunk.choices[0].delta.content)
        except OpenAIError as exc:
            raise LLMUnavailable(f"the LLM stream broke: {exc}") from exc

    def ping(self, timeout_s: float = 5.0) -> None:
        """Raise :class:`LLMUnavailable` unless the endpoint lists its models."""
        from openai import OpenAIError

        try:
            self._client.with_options(max_retries=0, timeout=timeout_s).models.list()
        except OpenAIError as exc:
            raise LLMUnavailable(f"the LLM endpoint does not answer: {exc}") from exc


def _tokens(choice: Any) -> list[Token]:
    content = getattr(getattr(choice, "logprobs", None), "content", None) or []
    return [
        Token(
            str(item.token),
            {str(alt.token): math.exp(alt.logprob) for alt in (item.top_logprobs or [])},
        )
        for item in content
    ]


def make_llm(settings: LLMSettings) -> LLMClient | None:
    """The configured client, or None when no endpoint or key is set."""
    return LLMClient(settings) if settings.configured else None
