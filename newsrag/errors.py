"""The one exception hierarchy of newsrag, and the RFC 9457 problem details each renders as
(the API's responses and a stream's ``error`` event are built by the same two functions)."""

from __future__ import annotations

from typing import Any


class NewsragError(Exception):
    """Base of every error the product raises on purpose."""

    status: int = 500
    title: str = "Internal error"
    slug: str = "internal"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return f"https://newsrag.dev/problems/{self.slug}"


class InvalidInput(NewsragError):
    status, title, slug = 422, "Invalid input", "invalid-input"


class FetchFailed(InvalidInput):
    """A feed or page could not be fetched (refused address, too large, too slow, a redirect
    loop, an HTTP error); ``detail`` is the reason in one line."""

    title, slug = "Fetch failed", "fetch-failed"


class NotFound(NewsragError):
    status, title, slug = 404, "Not found", "not-found"


class Unauthorized(NewsragError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(NewsragError):
    status, title, slug = 403, "Forbidden", "forbidden"


class PayloadTooLarge(NewsragError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class RateLimited(NewsragError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class LeaseLost(NewsragError):
    """A replica syncing a source found that another replica holds its lease now."""

    status, title, slug = 409, "Lease lost", "lease-lost"


class ServiceUnavailable(NewsragError):
    status, title, slug = 503, "Service unavailable", "unavailable"


class StoreUnavailable(ServiceUnavailable):
    title, slug = "Vector store unavailable", "store-unavailable"


class LLMUnavailable(ServiceUnavailable):
    title, slug = "LLM endpoint unavailable", "llm-unavailable"


class ModelBusy(LLMUnavailable):
    """Every model read the reader allows at once is taken (``NEWSRAG_READING_CONCURRENCY``): a
    question that would queue past its deadline is answered by the fast reader at once."""

    title, slug = "The model is busy", "model-busy"


class ReadDeadlineExceeded(LLMUnavailable):
    """The model did not answer within the read deadline (``NEWSRAG_READ_DEADLINE_S``)."""

    title, slug = "The model did not answer in time", "read-deadline"


class ConfigurationError(NewsragError):
    """Start-up cannot continue (bad setting, model that fails to load, mismatched store)."""

    status, title, slug = 500, "Configuration error", "configuration"


class SettingsError(ConfigurationError):
    """A setting has an invalid value; the detail is one line naming its variable."""

    title, slug = "Invalid setting", "invalid-setting"


class EmbedderMismatch(ConfigurationError):
    title, slug = "Embedder mismatch", "embedder-mismatch"


INTERNAL_TITLE = "Internal error"
INTERNAL_DETAIL = "an unexpected error occurred; it was logged"


def problem_body(
    status: int, title: str, detail: str, type_uri: str = "about:blank", **extra: Any
) -> dict[str, Any]:
    """The problem details object itself: what a response carries, or a stream's error event."""
    body: dict[str, Any] = {"type": type_uri, "title": title, "status": status, "detail": detail}
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def problem_body_for(exc: BaseException) -> dict[str, Any]:
    """Problem details for any exception: a :class:`NewsragError` as itself, anything else as a
    generic internal error (the caller logs it; no detail of it reaches the client)."""
    if isinstance(exc, NewsragError):
        extra = {k: v for k, v in exc.extra.items() if k not in {"retry_after"}}
        return problem_body(exc.status, exc.title, exc.detail, exc.type_uri, **extra)
    return problem_body(500, INTERNAL_TITLE, INTERNAL_DETAIL)
