"""Access control and limits: API keys with roles, a rate limit, a body size limit, CORS.

Everything here is pure ASGI middleware, so the errors are rendered as problem+json by
:func:`newsrag.api.problems.problem_for` directly (FastAPI's exception handlers do not see
exceptions raised outside the router). The stack, outermost first: body limit, CORS, access
(API key, then rate limit per key).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsrag.api.problems import problem_for
from newsrag.config import Settings
from newsrag.errors import (
    Forbidden,
    NewsragError,
    PayloadTooLarge,
    RateLimited,
    SettingsError,
    Unauthorized,
)

Role = Literal["ro", "rw", "admin"]
ROLES: frozenset[str] = frozenset({"ro", "rw", "admin"})
# Routes that make the server fetch URLs (an SSRF risk) need an admin key to be changed.
ADMIN_PREFIX = "/v1/sources"
VARIABLE = "NEWSRAG_API_KEYS"
PROTECTED_PREFIX = "/v1"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_POSTS = frozenset({"/v1/ask", "/v1/chat", "/v1/search", "/v1/chat/completions"})
CORS_METHODS = ("GET", "POST", "DELETE")
CORS_HEADERS = ("Authorization", "Content-Type")


@dataclass(frozen=True)
class ApiKey:
    """One configured key; ``label`` is a non-secret id (a hash prefix) for rate limiting."""

    secret: bytes
    role: Role
    label: str


def _parse_entry(entry: str, where: str) -> tuple[str, Role]:
    key, sep, role = entry.strip().rpartition(":")
    key, role = key.strip(), role.strip().lower()
    if not sep:
        raise SettingsError(
            f"invalid configuration: {VARIABLE}: {where} is not 'key:role' "
            "(or the key file does not exist)"
        )
    if not key:
        raise SettingsError(f"invalid configuration: {VARIABLE}: {where} has an empty key")
    if role not in ROLES:
        # the "role" may be part of a key that contains a colon: never echo it
        raise SettingsError(
            f"invalid configuration: {VARIABLE}: {where} does not end in ':ro', ':rw' or ':admin'"
        )
    return key, "admin" if role == "admin" else "rw" if role == "rw" else "ro"


def _as_file(value: str) -> Path | None:
    try:
        path = Path(value.strip()).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def parse_api_keys(value: str) -> tuple[ApiKey, ...]:
    """Parse ``"k1:rw,k2:ro"`` or the path of a file of ``key:role`` lines; empty = no keys.

    Raises :class:`SettingsError` (one line, never echoing a key) on a malformed entry.
    """
    if not value.strip():
        return ()
    entries: list[tuple[str, Role]] = []
    path = _as_file(value)
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"invalid configuration: {VARIABLE}: cannot read {path}: {type(exc).__name__}"
            ) from None
        for number, line in enumerate(lines, start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                entries.append(_parse_entry(line, f"{path} line {number}"))
    else:
        for number, entry in enumerate(value.split(","), start=1):
            if entry.strip():
                entries.append(_parse_entry(entry, f"entry {number}"))
    if not entries:
        raise SettingsError(f"invalid configuration: {VARIABLE}: no 'key:role' entry found")
    roles: dict[str, Role] = {}
    for key, role in entries:
        if roles.setdefault(key, role) != role:
            raise SettingsError(
                f"invalid configuration: {VARIABLE}: a key is listed with both roles"
            )
    return tuple(
        ApiKey(
            secret=key.encode("utf-8"),
            role=role,
            label="key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16],
        )
        for key, role in roles.items()
    )


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _address(scope: Scope) -> str:
    """The rate-limit identity of the client address."""
    client = scope.get("client")
    return "addr:" + (str(client[0]) if client else "unknown")


def is_protected(path: str) -> bool:
    """``/v1`` and everything under it needs a key (when keys are configured)."""
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def is_write(method: str, path: str) -> bool:
    """True for requests a read-only key may not make."""
    if method in READ_METHODS:
        return False
    return not (method == "POST" and (path.rstrip("/") or "/") in READ_POSTS)


def needs_admin(method: str, path: str) -> bool:
    """Registering and removing sources: the server then fetches URLs on its own."""
    under = path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")
    return under and method not in READ_METHODS


def _bearer(scope: Scope) -> bytes | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token.encode("latin-1")


def find_key(keys: tuple[ApiKey, ...], token: bytes) -> ApiKey | None:
    """The configured key equal to ``token``, comparing in constant time against every key."""
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(key.secret, token):
            found = key
    return found


class AccessMiddleware:
    """API key check (401/403) and then the rate limit (429) on ``/v1`` routes."""

    def __init__(self, app: ASGIApp, keys: tuple[ApiKey, ...], rate: RateLimitItem | None) -> None:
        self.app = app
        self.keys = keys
        self.rate = rate
        self.limiter = MovingWindowRateLimiter(MemoryStorage()) if rate is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_protected(_route_path(scope)):
            await self.app(scope, receive, send)
            return
        error = self._check(scope)
        if error is not None:
            await problem_for(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> NewsragError | None:
        if not self.keys:
            return self._limit(_address(scope))
        token = _bearer(scope)
        if token is None:
            return Unauthorized("this route needs 'Authorization: Bearer <API key>'")
        key = find_key(self.keys, token)
        if key is None:
            # a wrong key spends the address's allowance, so keys cannot be guessed at full speed
            return self._limit(_address(scope)) or Unauthorized("the API key is not valid")
        method, path = str(scope["method"]).upper(), _route_path(scope)
        if key.role != "admin" and needs_admin(method, path):
            return Forbidden("registering or removing sources needs an admin key")
        if key.role == "ro" and is_write(method, path):
            return Forbidden("this API key is read-only; the request needs a read-write key")
        return self._limit(key.label)

    def _limit(self, identity: str) -> RateLimited | None:
        """Count one request of ``identity``; the error once it is over the rate limit."""
        if self.limiter is None or self.rate is None or self.limiter.hit(self.rate, identity):
            return None
        stats = self.limiter.get_window_stats(self.rate, identity)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimited(
            f"rate limit of {self.rate} exceeded; retry in {retry_after} s",
            retry_after=retry_after,
        )


class _BodyTooLarge(PayloadTooLarge):
    """Raised from the wrapped ``receive`` once the body passes the limit."""


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes``: by ``Content-Length`` up front, else while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body is larger than {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                declared = bytes(value).strip()
                if declared.isdigit() and int(declared) > self.max_bytes:
                    await problem_for(self._error())(scope, receive, send)
                    return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge(self._error().detail)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge(self._error().detail)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app answers to the cut-off body is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await problem_for(self._error())(scope, receive, send)


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add the access, CORS and body limit middleware; call once, before the app starts.

    Raises :class:`SettingsError` for a malformed ``NEWSRAG_API_KEYS``.
    """
    if getattr(app.state, "security_installed", False):
        return
    keys = parse_api_keys(settings.api_keys.get_secret_value()) if settings.api_keys else ()
    rate = parse(settings.rate_limit) if settings.rate_limit else None
    # add_middleware puts each new middleware outermost: add innermost first.
    if keys or rate is not None:
        app.add_middleware(AccessMiddleware, keys=keys, rate=rate)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.security_installed = True
