"""The question, read once per request: what every later stage needs of the user's words.

A :class:`Question` holds the words as typed and what they say about the archive: the time
frame (``retrieval.timeframe``), the outlets it names (matched against the sources the store
holds, ``retrieval.outlets``), the dates it names, its names and figures with their original
casing (``text.words``) and its shape: who / what / when / how many / yes-no / comparison /
temporal order / list. Stages read these fields; none parses the words again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from newsrag.retrieval.outlets import OutletMention, Outlets
from newsrag.retrieval.timeframe import DateMention, TimeFrame, date_mentions, resolve
from newsrag.text.words import (
    NUMBER,
    NUMBER_QUESTION,
    PERSON_QUESTION,
    TIME_QUESTION,
    name_matches,
)

Shape = Literal["who", "what", "when", "how many", "yes-no", "comparison", "temporal-order", "list"]

_AUXILIARY = (
    r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|might|may|"
    r"isn't|aren't|wasn't|weren't|doesn't|didn't|hasn't|haven't)"
)
_YES_NO = re.compile(rf"^\W*{_AUXILIARY}\b", re.I)
# "After X reported …, did Y …?", "Between the report … and the report …, was there …?": a
# question whose verb comes after an opening clause
# ("When, according to X, did Y …?" asks when: "when" opens a clause only with words of its own)
_OPENING_CLAUSE = re.compile(
    r"^\W*(?:after|before|between|following|given|considering|based on|when(?!\s*,)|since|"
    r"while|in light of|according to|as|if|with)\b",
    re.I,
)
_LATER_VERB = re.compile(
    rf",\s*(?:and\s+)?{_AUXILIARY}\s+(?:there|the|a|an|it|they|this|\w+)\b", re.I
)
_ORDER = re.compile(
    r"\b(?:before|after|earlier|later|prior to|subsequent(?:ly)?|preceding|followed|first)\b", re.I
)
_COMPARISON = re.compile(
    r"\b(?:differ\w*|different|same|similar\w*|(?:in)?consisten\w*|contrast\w*|"
    r"compar\w+|whereas|while|both|agree\w*|disagree\w*|change[ds]?|align\w*|more|less|"
    r"higher|lower|larger|smaller|greater|fewer)\b",
    re.I,
)
_LIST = re.compile(r"^\W*(?:list|name|enumerate)\b|\b(?:what|which) (?:are|were) the\b", re.I)


def asked_part(text: str) -> str:
    """The words from the question's main verb on: "After X reported …, did Y keep …?" asks
    "did Y keep …?"; the opening clause only sets the scene."""
    if _YES_NO.search(text) or not _OPENING_CLAUSE.search(text):
        return text
    later = _LATER_VERB.search(text)
    return text[later.start() :].lstrip(", ") if later else text


def opens_with_clause(text: str) -> bool:
    """Whether ``text`` is a yes/no question whose verb comes after an opening clause ("Between
    the report … and the report …, was there …?")."""
    return bool(_OPENING_CLAUSE.search(text) and _LATER_VERB.search(text))


def shape_of(text: str) -> Shape:
    """What kind of answer ``text`` asks for, from its opening words."""
    yes_no = bool(_YES_NO.search(text)) or opens_with_clause(text)
    if yes_no:
        if _ORDER.search(text):
            return "temporal-order"
        if _COMPARISON.search(text):
            return "comparison"
        return "yes-no"
    if PERSON_QUESTION.search(text):
        return "who"
    if NUMBER_QUESTION.search(text):
        return "how many"
    if TIME_QUESTION.search(text):
        return "when"
    if _LIST.search(text):
        return "list"
    return "what"


@dataclass(frozen=True, slots=True)
class Question:
    """One question, read once (see the module's docstring)."""

    text: str  # as typed
    frame: TimeFrame = field(default_factory=TimeFrame)
    outlets: tuple[OutletMention, ...] = ()
    dates: tuple[DateMention, ...] = ()
    names: tuple[str, ...] = ()  # as written, outlets and dates left out
    numbers: tuple[str, ...] = ()  # as written, dates left out
    shape: Shape = "what"

    @property
    def sources(self) -> tuple[str, ...]:
        """Every stored source the question names, in the order first named."""
        return tuple(dict.fromkeys(s for mention in self.outlets for s in mention.sources))

    @property
    def yes_no(self) -> bool:
        return self.shape in ("yes-no", "comparison", "temporal-order")


def read_question(
    text: str,
    outlets: Outlets,
    *,
    as_of: dt.date | None = None,
    archive: tuple[dt.date, dt.date] | None = None,
) -> Question:
    """``text`` read against the archive: ``outlets`` are the sources it holds, ``archive``
    the span of its publication dates, ``as_of`` the request's reference date."""
    mentions = tuple(outlets.find(text))
    dates = tuple(date_mentions(text, as_of, archive))
    taken = [(m.start, m.end) for m in mentions] + [(d.start, d.end) for d in dates]

    def free(start: int, end: int) -> bool:
        return not any(start < stop and begin < end for begin, stop in taken)

    # "Who", "Does": a question's opening word is no name (the gate lower-cases it too)
    opening = text[:1].lower() + text[1:]
    found_names = [m.group() for m in name_matches(opening) if free(m.start(), m.end())]
    found_numbers = [m.group() for m in NUMBER.finditer(text) if free(m.start(), m.end())]
    return Question(
        text=text,
        frame=resolve(text, as_of, archive, [(m.start, m.end) for m in mentions]),
        outlets=mentions,
        dates=dates,
        names=tuple(dict.fromkeys(found_names)),
        numbers=tuple(dict.fromkeys(found_numbers)),
        shape=shape_of(text),
    )
