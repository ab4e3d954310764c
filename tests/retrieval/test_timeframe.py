"""Time words at the edges of the calendar: nothing overflows, absurd dates do not anchor "now"."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from newsrag.retrieval.timeframe import resolve

ARCHIVE = (dt.date(2017, 3, 2), dt.date(2017, 9, 5))
QUESTIONS = [
    "What happened in May 2017?",
    "What was said before May 2017?",
    "What was said after April 2017?",
    "What happened in May?",
    "What happened this week?",
    "What happened last week?",
    "What happened last month?",
    "What happened last year?",
    "What happened this year?",
    "What happened today?",
    "What happened yesterday?",
    "What happened in the past 999 months?",
]


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize(
    "archive",
    [
        (dt.date(1, 6, 1), dt.date(2017, 9, 5)),  # a CMS "zero date" among real ones
        (dt.date(2017, 3, 2), dt.date(9999, 12, 31)),
        (dt.date.min, dt.date.max),
        (dt.date.min, dt.date.min),
    ],
)
def test_zero_dates_in_the_archive_never_overflow(
    question: str, archive: tuple[dt.date, dt.date]
) -> None:
    frame = resolve(question, None, archive)
    for day in (frame.after, frame.before):
        assert day is None or dt.date.min <= day <= dt.date.max


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("as_of", [dt.date.min, dt.date(1, 1, 3), dt.date.max])
def test_extreme_as_of_is_clamped(question: str, as_of: dt.date) -> None:
    frame = resolve(question, as_of, ARCHIVE)
    if frame.after and frame.before:
        assert frame.after <= frame.before


def test_far_future_document_does_not_hijack_last_week() -> None:
    before_call = _utc_today()
    frame = resolve("What happened last week?", None, (dt.date(2017, 3, 2), dt.date(9999, 12, 31)))
    expected = set()
    for today in {before_call, _utc_today()}:
        monday = today - dt.timedelta(days=today.weekday())
        expected.add((monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)))
    assert (frame.after, frame.before) in expected


def test_archive_up_to_tomorrow_still_anchors_relative_words() -> None:
    tomorrow = _utc_today() + dt.timedelta(days=1)
    frame = resolve("What happened today?", None, (dt.date(2017, 3, 2), tomorrow))
    assert (frame.after, frame.before) == (tomorrow, tomorrow)


def test_explicit_as_of_wins_over_the_archive() -> None:
    frame = resolve("What happened yesterday?", dt.date(2017, 5, 2), ARCHIVE)
    assert (frame.after, frame.before) == (dt.date(2017, 5, 1), dt.date(2017, 5, 1))


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31"])
def test_extreme_as_of_over_http_is_answered(client: TestClient, as_of: str) -> None:
    body = {"text": "The council voted on Tuesday.", "published_at": "2017-04-14"}
    assert client.post("/v1/documents", json=body).status_code == 201
    question = {"question": "How did the council vote last week?", "as_of": as_of}
    response = client.post("/v1/ask", json=question)
    assert response.status_code == 200, response.text
    assert response.json()["refused"] is True
