"""How much of a page or XML document the format readers take."""

from __future__ import annotations

from newsrag.errors import InvalidInput

# Characters (or bytes): far above any article with its page around it, and a bound on the
# parse's time and memory (schemas.MAX_PAGE_CHARS matches).
MAX_SOURCE_CHARS = 20_000_000


def check_size(data: str | bytes, field: str) -> None:
    """:class:`InvalidInput` naming ``field`` when ``data`` is over :data:`MAX_SOURCE_CHARS`
    or is not valid Unicode."""
    if len(data) > MAX_SOURCE_CHARS:
        raise InvalidInput(
            f"{field}: {len(data):,} characters is over the limit of {MAX_SOURCE_CHARS:,}",
            field=field,
        )
    if isinstance(data, str) and not data.isascii():
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{field}: contains a lone surrogate (U+D800-U+DFFF), which is not valid Unicode",
                field=field,
            ) from None
