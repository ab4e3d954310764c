"""Publication dates: ISO 8601 dates or datetimes, compared as UTC epoch seconds."""

from __future__ import annotations

import datetime as dt

from newsrag.errors import InvalidInput


def parse_published(
    value: str | dt.date | dt.datetime | None, field: str = "published_at"
) -> str | None:
    """Normalise a date or datetime to ISO 8601; raise :class:`InvalidInput` naming ``field``."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise InvalidInput(
            f"{field}: {value!r} is not an ISO 8601 date (YYYY-MM-DD) or datetime", field=field
        ) from None


def to_timestamp(iso: str, *, end_of_day: bool = False) -> int:
    """Epoch seconds (UTC) of a normalised ISO value; a bare date is its first (or last) second."""
    if len(iso) == 10:
        day = dt.date.fromisoformat(iso)
        moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        return int(moment.replace(tzinfo=dt.UTC).timestamp())
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())
