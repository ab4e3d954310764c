"""Time words in a question, turned into publication-date filters.

"in April 2017", "on 20 May 2017", "before May 2017", "since June", "this week", "last month",
"yesterday", "in the past 10 days" become a ``published_after``/``published_before`` range;
"latest", "most recent", "newest" ask for recency as a tie-breaker. Relative words count from
the reference date (see :func:`anchor`): the request's ``as_of`` when given, else the newest
publication date in the archive (the archive's "now": an archive of 2017 stories answers "this
week" about its last week), unless that date lies after tomorrow (UTC) by the real clock: then
today by the real clock. A CMS "zero date" such as ``9999-12-31`` cannot hijack "last week".

Absolute dates more than a year away from the archive's dates are left to the question ("What
happened in 1066?" asks about 1066, not about articles published then); relative ones always
apply. All date arithmetic clamps to ``0001-01-01``…``9999-12-31`` instead of overflowing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {
    name.casefold(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTHS["sept"] = 9
_MONTH = r"(?P<{0}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<{0}>(?:19|20)\d\d)"
_DAY = r"(?P<{0}>[0-3]?\d)(?:st|nd|rd|th)?"


def _date_pattern(tag: str) -> str:
    """A day, a month or a year: '20 May 2017', 'May 20, 2017', 'May 2017', 'May', '2017'."""
    day, month, year = f"{tag}day", f"{tag}month", f"{tag}year"
    day2, month2, year2 = f"{tag}day2", f"{tag}month2", f"{tag}year2"
    month3, year3, year4 = f"{tag}month3", f"{tag}year3", f"{tag}year4"
    return (
        rf"(?:{_DAY.format(day)}\s+{_MONTH.format(month)},?\s+{_YEAR.format(year)}"
        rf"|{_MONTH.format(month2)}\s+{_DAY.format(day2)},?\s+{_YEAR.format(year2)}"
        rf"|{_MONTH.format(month3)}(?:\s+{_YEAR.format(year3)})?"
        rf"|{_YEAR.format(year4)})"
    )


_ABSOLUTE = re.compile(
    rf"\b(?P<prep>in|on|during|before|after|since|until|by|from)\s+(?:the\s+)?"
    rf"{_date_pattern('a')}(?![\w-])",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\b(?:(?P<this>this|last|past|previous)\s+(?P<unit>week|month|year)"
    r"|(?:in\s+)?the\s+(?:past|last)\s+(?P<count>\d{1,3})\s+(?P<units>days|weeks|months)"
    r"|(?P<day>today|yesterday))\b",
    re.IGNORECASE,
)
_LATEST = re.compile(
    r"\b(?:latest|most\s+recent(?:ly)?|newest|lately|recently|up\s+to\s+date|current(?:ly)?)\b",
    re.IGNORECASE,
)


# Absolute dates within a year of the archive's dates select articles; further away they are
# taken as part of the question ("built in 1961").
_NEAR = dt.timedelta(days=366)
# Newest archive date still trusted as "now": a day of slack for time zones ahead of UTC.
_FUTURE_SLACK = dt.timedelta(days=1)


def _shift(day: dt.date, days: int | dt.timedelta) -> dt.date:
    """``day`` moved by ``days``, clamped to the calendar (never an OverflowError)."""
    delta = days if isinstance(days, dt.timedelta) else dt.timedelta(days=days)
    try:
        return day + delta
    except OverflowError:
        return dt.date.max if delta > dt.timedelta(0) else dt.date.min


def _year_range(year: int) -> tuple[dt.date, dt.date]:
    """1 January to 31 December of ``year``; a year before 1 clamps to ``0001-01-01``."""
    if year < dt.MINYEAR:
        return dt.date.min, dt.date.min
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def anchor(reference: dt.date | None, newest: dt.date, today: dt.date | None = None) -> dt.date:
    """The date relative time words count from.

    The rule: an explicit ``reference`` (the request's ``as_of``) always wins. Otherwise the
    archive's newest publication date ``newest``, as long as it is no later than tomorrow by the
    real clock (UTC; a day of slack for time zones ahead of UTC); a later date is taken as a
    placeholder or typo (``9999-12-31``), and the real clock's ``today`` is used instead.
    """
    if reference is not None:
        return reference
    clock = today or dt.datetime.now(dt.UTC).date()
    return newest if newest <= _shift(clock, _FUTURE_SLACK) else clock


@dataclass(frozen=True, slots=True)
class TimeFrame:
    """Publication dates a question asks about (inclusive), and whether it wants the latest."""

    after: dt.date | None = None
    before: dt.date | None = None
    latest: bool = False
    phrase: str | None = None  # the words that set the range, as written
    question: str = ""  # the question without those words (what retrieval scores)


def _range(match: re.Match[str], tag: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    group = match.groupdict()
    year_text = group.get(f"{tag}year") or group.get(f"{tag}year2")
    day_text = group.get(f"{tag}day") or group.get(f"{tag}day2")
    month_text = group.get(f"{tag}month") or group.get(f"{tag}month2")
    try:
        if year_text and day_text and month_text:
            day = dt.date(int(year_text), _MONTHS[month_text.casefold()], int(day_text))
            return day, day
        month_only = group.get(f"{tag}month3")
        if month_only:
            month = _MONTHS[month_only.casefold()]
            year_only = group.get(f"{tag}year3")
            if year_only:
                year = int(year_only)
            else:  # "in May": the last May up to the reference date
                year = today.year if month <= today.month else today.year - 1
            if year < dt.MINYEAR:
                return None
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1), dt.date(year, month, last)
        year_alone = group.get(f"{tag}year4")
        if year_alone:
            return dt.date(int(year_alone), 1, 1), dt.date(int(year_alone), 12, 31)
    except ValueError:  # "31 February"
        return None
    return None


def _relative(match: re.Match[str], today: dt.date) -> tuple[dt.date, dt.date]:
    group = match.groupdict()
    if group.get("day"):
        day = today if group["day"].casefold() == "today" else _shift(today, -1)
        return day, day
    if group.get("count"):
        count = int(group["count"])
        days = {"days": 1, "weeks": 7, "months": 30}[group["units"].casefold()] * count
        return _shift(today, -days), today
    unit = group["unit"].casefold()
    current = group["this"].casefold() == "this"
    if unit == "week":
        monday = _shift(today, -today.weekday())
        if current:
            return monday, today
        return _shift(monday, -7), _shift(monday, -1)
    if unit == "month":
        first = today.replace(day=1)
        if current:
            return first, today
        previous_last = _shift(first, -1)
        return previous_last.replace(day=1), previous_last
    if current:
        return today.replace(month=1, day=1), today
    return _year_range(today.year - 1)


def _without(question: str, match: re.Match[str]) -> str:
    rest = (question[: match.start()] + question[match.end() :]).strip()
    rest = re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", rest))
    return rest if len(rest.split()) >= 2 else question


def resolve(
    question: str, reference: dt.date | None, archive: tuple[dt.date, dt.date] | None
) -> TimeFrame:
    """The time frame of ``question``. ``reference`` is the request's ``as_of``; relative words
    count from :func:`anchor` of it and the archive. ``archive`` is the span of publication dates
    stored (absolute dates far outside it do not filter)."""
    latest = bool(_LATEST.search(question))
    if archive is None:  # nothing is dated: time words cannot select articles
        return TimeFrame(latest=latest, question=question)
    today = anchor(reference, archive[1])
    relative = _RELATIVE.search(question)
    if relative:
        start, end = _relative(relative, today)
        return TimeFrame(start, end, latest, relative.group(), _without(question, relative))
    for absolute in _ABSOLUTE.finditer(question):
        found = _range(absolute, "a", today)
        if found is None:
            continue
        start, end = found
        if end < _shift(archive[0], -_NEAR) or start > _shift(archive[1], _NEAR):
            continue  # about a time, not about when the articles appeared
        preposition = absolute.group("prep").casefold()
        after: dt.date | None = start
        before: dt.date | None = end
        if preposition in {"before", "until", "by"}:
            after, before = None, (_shift(start, -1) if preposition == "before" else end)
        elif preposition == "after":
            after, before = _shift(end, 1), None
        elif preposition in {"since", "from"}:
            before = None
        return TimeFrame(after, before, latest, absolute.group(), _without(question, absolute))
    return TimeFrame(latest=latest, question=question)
