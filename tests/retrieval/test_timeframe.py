"""Time words on dates: what "the past week" means on a Wednesday, and the calendar's edges."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from newsrag.retrieval.timeframe import resolve

ARCHIVE = (dt.date(2017, 3, 2), dt.date(2017, 9, 5))
WEDNESDAY = dt.date(2017, 9, 6)  # as_of: Wednesday 6 September 2017
D = dt.date


@pytest.mark.parametrize(
    ("question", "after", "before"),
    [
        # a span ending at as_of, both ends included
        ("What happened in the past week?", D(2017, 8, 31), WEDNESDAY),
        ("What happened over the last week?", D(2017, 8, 31), WEDNESDAY),
        ("What happened in the last 7 days?", D(2017, 8, 31), WEDNESDAY),
        ("What happened last 7 days?", D(2017, 8, 31), WEDNESDAY),
        ("What happened in the past seven days?", D(2017, 8, 31), WEDNESDAY),
        ("What happened in the past 2 weeks?", D(2017, 8, 24), WEDNESDAY),
        ("What happened over the past year?", D(2016, 9, 7), WEDNESDAY),  # 365 days
        # calendar months, not 30 days: 6 June is three months before 6 September
        ("What happened in the past 3 months?", D(2017, 6, 7), WEDNESDAY),
        ("What happened in the last month?", D(2017, 8, 7), WEDNESDAY),
        # a named calendar period
        ("What happened this week?", D(2017, 9, 4), WEDNESDAY),
        ("What happened last week?", D(2017, 8, 28), D(2017, 9, 3)),
        ("What happened last month?", D(2017, 8, 1), D(2017, 8, 31)),
        ("What happened this year?", D(2017, 1, 1), WEDNESDAY),
        ("What happened last year?", D(2016, 1, 1), D(2016, 12, 31)),
        # a day; without a year, the most recent one up to as_of
        ("What happened on May 20?", D(2017, 5, 20), D(2017, 5, 20)),
        ("What happened on 20 May?", D(2017, 5, 20), D(2017, 5, 20)),
        ("What happened on the 20th of May?", D(2017, 5, 20), D(2017, 5, 20)),
        ("What happened on May 20, 2017?", D(2017, 5, 20), D(2017, 5, 20)),
        ("What happened yesterday?", D(2017, 9, 5), D(2017, 9, 5)),
    ],
)
def test_time_words_on_wednesday_6_september_2017(
    question: str, after: dt.date, before: dt.date
) -> None:
    frame = resolve(question, WEDNESDAY, ARCHIVE)
    assert (frame.after, frame.before) == (after, before)
    assert frame.question == "What happened?"


def test_a_day_without_a_year_is_the_most_recent_one() -> None:
    # asked in February 2018, "on May 20" is 20 May 2017, not a day still to come
    frame = resolve("What did the council decide on May 20?", D(2018, 2, 1), ARCHIVE)
    assert (frame.after, frame.before) == (D(2017, 5, 20), D(2017, 5, 20))
    # asked on the day itself, it is that day
    frame = resolve("What did the council decide on 20 May?", D(2017, 5, 20), ARCHIVE)
    assert (frame.after, frame.before) == (D(2017, 5, 20), D(2017, 5, 20))


@pytest.mark.parametrize(
    ("question", "cleaned"),
    [
        ("What happened in the past week?", "What happened?"),
        ("What did the Kremlin say over the past year?", "What did the Kremlin say?"),
        ("What happened in the past week in Moscow?", "What happened in Moscow?"),
        ("In the past week, what did Peskov say?", "What did Peskov say?"),
        ("What, in the last 7 days, did Peskov say?", "What did Peskov say?"),
        ("Who resigned during the last 3 months?", "Who resigned?"),
        ("What did they vote for last week?", "What did they vote for?"),
        ("What happened in the previous week?", "What happened?"),
        ("Who spoke on May 20 about the letter?", "Who spoke about the letter?"),
    ],
)
def test_removing_time_words_leaves_a_question_the_reader_can_read(
    question: str, cleaned: str
) -> None:
    frame = resolve(question, WEDNESDAY, ARCHIVE)
    assert frame.phrase and frame.after is not None
    assert frame.question == cleaned
    assert not re.search(r"\b(?:in|on|over|during|the)\W*$", frame.question)


QUESTIONS = [
    "What happened in May 2017?",
    "What was said before May 2017?",
    "What was said after April 2017?",
    "What happened in May?",
    "What happened on May 20?",
    "What happened this week?",
    "What happened last week?",
    "What happened in the past week?",
    "What happened last month?",
    "What happened last year?",
    "What happened over the past year?",
    "What happened this year?",
    "What happened today?",
    "What happened yesterday?",
    "What happened in the past 999 months?",
]


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_zero_date_among_real_ones_changes_nothing(question: str) -> None:
    """A CMS "zero date" (year 1) in the archive neither overflows nor moves any range."""
    with_zero = resolve(question, None, (D(1, 6, 1), ARCHIVE[1]))
    assert with_zero == resolve(question, None, ARCHIVE)
    assert with_zero.after or with_zero.before  # every question here has a time frame


MIN, MAX = dt.date.min, dt.date.max
# (question, as_of 0001-01-01 (a Monday), as_of 0001-01-03, as_of 9999-12-31 (a Friday))
EDGES = [
    ("What happened in the past week?", (MIN, MIN), (MIN, D(1, 1, 3)), (D(9999, 12, 25), MAX)),
    ("What happened this week?", (MIN, MIN), (MIN, D(1, 1, 3)), (D(9999, 12, 27), MAX)),
    ("What happened last week?", (MIN, MIN), (MIN, MIN), (D(9999, 12, 20), D(9999, 12, 26))),
    ("What happened last month?", (MIN, MIN), (MIN, MIN), (D(9999, 11, 1), D(9999, 11, 30))),
    ("What happened last year?", (MIN, MIN), (MIN, MIN), (D(9998, 1, 1), D(9998, 12, 31))),
    ("What happened over the past year?", (MIN, MIN), (MIN, D(1, 1, 3)), (D(9999, 1, 1), MAX)),
    ("What happened this year?", (MIN, MIN), (MIN, D(1, 1, 3)), (D(9999, 1, 1), MAX)),
    ("What happened yesterday?", (MIN, MIN), (D(1, 1, 2),) * 2, (D(9999, 12, 30),) * 2),
    ("What happened in the past 999 months?", (MIN, MIN), (MIN, D(1, 1, 3)), (D(9916, 10, 1), MAX)),
    ("What happened in May 2017?", *[(D(2017, 5, 1), D(2017, 5, 31))] * 3),  # absolute: as asked
    ("What happened in May?", (None, None), (None, None), (None, None)),  # no May near 2017
]


@pytest.mark.parametrize(("question", "at_min", "at_min_plus_2", "at_max"), EDGES)
def test_extreme_as_of_is_clamped_to_the_calendar(
    question: str,
    at_min: tuple[dt.date | None, dt.date | None],
    at_min_plus_2: tuple[dt.date | None, dt.date | None],
    at_max: tuple[dt.date | None, dt.date | None],
) -> None:
    for as_of, expected in ((MIN, at_min), (D(1, 1, 3), at_min_plus_2), (MAX, at_max)):
        frame = resolve(question, as_of, ARCHIVE)
        assert (frame.after, frame.before) == expected, as_of


@pytest.mark.parametrize("question", QUESTIONS)
def test_an_archive_of_zero_dates_only_clamps(question: str) -> None:
    """Every article dated 0001-01-01: relative words count from it and clamp to it; absolute
    dates of 2017 are far from it and are left to the question."""
    frame = resolve(question, None, (MIN, MIN))
    relative = not re.search(r"May|April", question)
    assert (frame.after, frame.before) == ((MIN, MIN) if relative else (None, None))


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
