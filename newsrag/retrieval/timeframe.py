"""Time words in a question, turned into publication-date filters.

"in April 2017", "on 20 May 2017", "on May 20", "before May 2017", "since June", "this week",
"last month", "yesterday", "in the past week", "over the past year", "in the last 10 days" become
a ``published_after``/``published_before`` range (both ends inclusive); "latest", "most recent",
"newest" ask for recency as a tie-breaker. Relative words count from the reference date (see
:func:`anchor`): the request's ``as_of`` when given, else the newest publication date in the
archive (the archive's "now": an archive of 2017 stories answers "this week" about its last
week), unless that date lies after tomorrow (UTC) by the real clock: then today by the real
clock. A CMS "zero date" such as ``9999-12-31`` cannot hijack "last week".

What the words mean, with the reference date Wednesday 6 September 2017:

- **A span ending at the reference date** ("past", or "the last"): "in the past week", "over the
  last week", "the past 7 days", "last 7 days" are the seven days 31 August–6 September, both
  included (N days are the reference day and the N - 1 days before it; a week is 7 days); "over
  the past year" is the last 365 days (7 September 2016–6 September 2017); "in the past month",
  "the last 3 months" count calendar months (``dateutil.relativedelta``): 3 months back from
  6 September is 6 June, so the span is 7 June–6 September (never "30 days a month").
- **A named calendar period** (bare "this", "last", "previous"): "this week" is Monday
  4 September–6 September, "last week" Monday 28 August–Sunday 3 September, "this month"
  1–6 September, "last month" 1–31 August, "this year" 1 January–6 September, "last year" 2016.
- **A day**: "today", "yesterday"; "on 20 May 2017", "on May 20, 2017"; "on May 20" and "on 20 May"
  without a year mean the most recent 20 May up to the reference date (20 May 2017; asked in
  February 2018 it would still be 20 May 2017), as "in May" means the most recent May.

The words found are removed from the question that retrieval and the reader see, with the
preposition and article that introduce them ("What happened in the past week?" becomes "What
happened?", never "What happened in the?").

Absolute dates more than a year away from the archive's dates are left to the question ("What
happened in 1066?" asks about 1066, not about articles published then); relative ones always
apply. All date arithmetic clamps to ``0001-01-01``…``9999-12-31`` instead of overflowing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from newsrag.text.words import MONTHS as _MONTHS

_MONTH = r"(?P<{0}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<{0}>(?:19|20)\d\d)"
_DAY = r"(?P<{0}>[0-3]?\d)(?:st|nd|rd|th)?"


def _date_pattern(tag: str) -> str:
    """A day, a month or a year: '20 May 2017', 'May 20, 2017', '20 May', 'the 20th of May',
    'May 20', 'May 2017', 'May', '2017'."""
    day, month, year = f"{tag}day", f"{tag}month", f"{tag}year"
    day2, month2, year2 = f"{tag}day2", f"{tag}month2", f"{tag}year2"
    month3, year3, year4 = f"{tag}month3", f"{tag}year3", f"{tag}year4"
    day5, month5, day6, month6 = f"{tag}day5", f"{tag}month5", f"{tag}day6", f"{tag}month6"
    return (
        rf"(?:(?P<{tag}iso>(?:19|20)\d\d-[01]\d-[0-3]\d)"
        rf"|{_DAY.format(day)}\s+(?:of\s+)?{_MONTH.format(month)},?\s+{_YEAR.format(year)}"
        rf"|{_MONTH.format(month2)}\s+{_DAY.format(day2)},?\s+{_YEAR.format(year2)}"
        rf"|{_DAY.format(day5)}\s+(?:of\s+)?{_MONTH.format(month5)}"
        rf"|{_MONTH.format(month6)}\s+{_DAY.format(day6)}"
        rf"|{_MONTH.format(month3)}(?:\s+{_YEAR.format(year3)})?"
        rf"|{_YEAR.format(year4)})"
    )


_ABSOLUTE = re.compile(
    rf"\b(?P<prep>in|on|during|before|after|since|until|by|from)\s+(?:the\s+)?"
    rf"{_date_pattern('a')}(?![\w-])",
    re.IGNORECASE,
)
_COUNTS = {
    word: number
    for number, word in enumerate(
        "one two three four five six seven eight nine ten eleven twelve".split(), start=1
    )
}
_COUNT = r"\d{1,3}|" + "|".join(_COUNTS)
# the words that introduce a span ("in the past week", "over the last 3 months"): removed with it
_LEAD = r"(?:(?:in|over|during|within|throughout|for)\s+)?"
_RELATIVE = re.compile(
    rf"\b(?:{_LEAD}(?:the\s+)?(?:past|last)\s+(?P<count>{_COUNT})\s+"
    r"(?P<units>days?|weeks?|months?|years?)"
    rf"|{_LEAD}(?:the\s+(?:past|last)|past)\s+(?P<span>week|month|year)"
    r"|(?:(?:in|during)\s+)?(?:the\s+(?=previous))?(?P<this>this|last|previous)\s+"
    r"(?P<unit>week|month|year)"
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


def _months_back(day: dt.date, months: int) -> dt.date | None:
    """``day`` so many calendar months earlier (31 March less one month is 28 or 29 February);
    None before ``0001-01-01``."""
    try:
        return day - relativedelta(months=months)
    except (ValueError, OverflowError):
        return None


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


def _last_day_month(month: int, day: int, today: dt.date) -> dt.date | None:
    """The most recent ``day`` of ``month`` up to ``today`` ("on May 20"); a 29 February goes
    back to the last leap year. None when there is none (before year 1, or "31 June")."""
    year = today.year if (month, day) <= (today.month, today.day) else today.year - 1
    for candidate in range(year, max(dt.MINYEAR, year - 8) - 1, -1):
        try:
            return dt.date(candidate, month, day)
        except ValueError:
            continue
    return None


def _range(match: re.Match[str], tag: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    group = match.groupdict()
    year_text = group.get(f"{tag}year") or group.get(f"{tag}year2")
    day_text = group.get(f"{tag}day") or group.get(f"{tag}day2")
    month_text = group.get(f"{tag}month") or group.get(f"{tag}month2")
    try:
        iso = group.get(f"{tag}iso")
        if iso:
            day = dt.date.fromisoformat(iso)
            return day, day
        if year_text and day_text and month_text:
            day = dt.date(int(year_text), _MONTHS[month_text.casefold()], int(day_text))
            return day, day
        day_alone = group.get(f"{tag}day5") or group.get(f"{tag}day6")
        month_of_day = group.get(f"{tag}month5") or group.get(f"{tag}month6")
        if day_alone and month_of_day:  # "on 20 May", "on May 20": the most recent one
            found = _last_day_month(_MONTHS[month_of_day.casefold()], int(day_alone), today)
            return (found, found) if found else None
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


def _span(today: dt.date, count: int, unit: str) -> tuple[dt.date, dt.date]:
    """The ``count`` days, weeks, months or years (365 days each) ending at ``today``, both
    ends included: the past week of Wednesday 6 September is 31 August–6 September."""
    count = max(count, 1)
    if unit == "month":
        back = _months_back(today, count)
        return (_shift(back, 1) if back else dt.date.min), today
    days = count * {"day": 1, "week": 7, "year": 365}[unit]
    return _shift(today, -(days - 1)), today


def _calendar(this: bool, unit: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """This (up to ``today``) or the previous calendar week (Monday to Sunday), month or year."""
    if unit == "week":
        monday = _shift(today, -today.weekday())
        if this:
            return monday, today
        return _shift(monday, -7), _shift(monday, -1)
    if unit == "month":
        first = today.replace(day=1)
        if this:
            return first, today
        previous_last = _shift(first, -1)
        return previous_last.replace(day=1), previous_last
    if this:
        return today.replace(month=1, day=1), today
    return _year_range(today.year - 1)


def _relative(match: re.Match[str], today: dt.date) -> tuple[dt.date, dt.date]:
    group = match.groupdict()
    if group.get("day"):
        day = today if group["day"].casefold() == "today" else _shift(today, -1)
        return day, day
    if group.get("count"):
        count = group["count"].casefold()
        number = _COUNTS[count] if count in _COUNTS else int(count)
        return _span(today, number, group["units"].casefold().rstrip("s"))
    if group.get("span"):
        return _span(today, 1, group["span"].casefold())
    return _calendar(group["this"].casefold() == "this", group["unit"].casefold(), today)


def _without(question: str, start: int, end: int) -> str:
    """The question without the time words: "In the past week, what did Peskov say?" becomes
    "What did Peskov say?"; a question left with fewer than two words stays as asked."""
    head, tail = question[:start].rstrip(), question[end:].lstrip()
    if head.endswith(",") and tail.startswith(","):  # "What, in May, happened?"
        head, tail = head[:-1], tail[1:]
    rest = f"{head} {tail}".strip()
    rest = re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"\s{2,}", " ", rest))
    rest = re.sub(r"^[\s,;:]+", "", rest)
    if not head and rest:
        rest = rest[0].upper() + rest[1:]
    return rest if len(rest.split()) >= 2 else question


def resolve(
    question: str,
    reference: dt.date | None,
    archive: tuple[dt.date, dt.date] | None,
    names: Sequence[tuple[int, int]] = (),
) -> TimeFrame:
    """The time frame of ``question``. ``reference`` is the request's ``as_of``; relative words
    count from :func:`anchor` of it and the archive. ``archive`` is the span of publication dates
    stored (absolute dates far outside it do not filter). ``names`` are spans of outlet names,
    whose words are no time words ("Business Today", "Latest Stock Market News")."""

    def free(match: re.Match[str]) -> bool:
        return not any(start < match.end() and match.start() < end for start, end in names)

    latest = any(free(m) for m in _LATEST.finditer(question))
    if archive is None:  # nothing is dated: time words cannot select articles
        return TimeFrame(latest=latest, question=question)
    today = anchor(reference, archive[1])
    relative = next((m for m in _RELATIVE.finditer(question) if free(m)), None)
    if relative:
        start, end = _relative(relative, today)
        rest = _without(question, relative.start(), relative.end())
        return TimeFrame(start, end, latest, relative.group(), rest)
    for mention in date_mentions(question, reference, archive):
        phrase = question[mention.start : mention.end]
        rest = _without(question, mention.start, mention.end)
        return TimeFrame(mention.after, mention.before, latest, phrase, rest)
    return TimeFrame(latest=latest, question=question)


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date a question names, with its preposition ("published on October 1, 2023", "before
    May 2017"), and the publication dates it selects (inclusive; None: open)."""

    phrase: str
    start: int
    end: int
    after: dt.date | None
    before: dt.date | None


def date_mentions(
    question: str, reference: dt.date | None, archive: tuple[dt.date, dt.date] | None
) -> list[DateMention]:
    """Every absolute date of ``question`` that can select articles, in order (none when the
    archive is undated; dates more than a year from every article's date are about a time, not
    about when the articles appeared)."""
    if archive is None:
        return []
    today = anchor(reference, archive[1])
    found: list[DateMention] = []
    for absolute in _ABSOLUTE.finditer(question):
        window = _range(absolute, "a", today)
        if window is None:
            continue
        start, end = window
        if end < _shift(archive[0], -_NEAR) or start > _shift(archive[1], _NEAR):
            continue
        preposition = absolute.group("prep").casefold()
        after: dt.date | None = start
        before: dt.date | None = end
        if preposition in {"before", "until", "by"}:
            after, before = None, (_shift(start, -1) if preposition == "before" else end)
        elif preposition == "after":
            after, before = _shift(end, 1), None
        elif preposition in {"since", "from"}:
            before = None
        found.append(DateMention(absolute.group(), absolute.start(), absolute.end(), after, before))
    return found
