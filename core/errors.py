"""The one exception hierarchy of newsrag; the API renders each as RFC 9457 problem details."""

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


class ServiceUnavailable(NewsragError):
    status, title, slug = 503, "Service unavailable", "unavailable"


class StoreUnavailable(ServiceUnavailable):
    title, slug = "Vector store unavailable", "store-unavailable"


class LLMUnavailable(ServiceUnavailable):
    title, slug = "LLM endpoint unavailable", "llm-unavailable"


class ConfigurationError(NewsragError):
    """Start-up cannot continue (bad setting, model that fails to load, mismatched store)."""

    status, title, slug = 500, "Configuration error", "configuration"


class EmbedderMismatch(ConfigurationError):
    title, slug = "Embedder mismatch", "embedder-mismatch"
