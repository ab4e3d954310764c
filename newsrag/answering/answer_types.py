"""What kind of answer a question asks for, and whether a sentence can hold one.

Classic QA answer typing, cheap and language-specific (English): "How many nurses…" wants a
number (not a year) in a sentence that names nurses, "How much did it cost?" an amount of money,
"Who…" a name the question does not give, "When…" a time, "What did … say?" a quotation or a
reported statement. A sentence without the wanted type is weaker evidence, which both ranks it
lower and helps refuse questions the documents cannot answer ("How many women were detained?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsrag.text.sentences import is_english_word, lexical_tokens, normalize_for_match
from newsrag.text.words import MONTHS, NUMBER_QUESTION, PERSON_QUESTION, TIME_QUESTION

_STATEMENT_QUESTION = re.compile(
    r"\b(say|says|said|tell|told|tweet|tweeted|state|stated|write|wrote|announce|announced|"
    r"claim|claimed|respond|responded|comment|commented|reply|replied|add|added)\b",
    re.I,
)
_STATEMENT = re.compile(
    r"[“”\"]|\b(said|says|say|told|tells|tweeted|stated|states|wrote|announced|claimed|added|"
    r"according to|statement|responded|commented|replied|called for|urged)\b",
    re.I,
)
# A count or an amount: digits or number words, but not a year ("in 2018") or a duration
# adjective ("a five-year wait"), which answer "when" and "how long", not "how many".
_NUMBER = re.compile(
    r"(?<![\w-])(?!(?:19|20)\d\d\b)(\d[\d,.]*|(one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|"
    r"several|many|few|half|no one|none|single|both|all))\b"
    r"(?!-(year|month|week|day|hour|minute)s?\b)",
    re.I,
)
# "How many nurses…": the thing counted, which the answer sentence names too
_COUNTED = re.compile(r"\bhow many\s+(?:new\s+|more\s+|other\s+)?([A-Za-z][\w'’-]*)", re.I)
_TIME = re.compile(
    r"\b(1\d{3}|20\d{2}|\d{1,2}(st|nd|rd|th)|(early|late|mid)[- ]\w+|january|february|march|"
    r"april|may|june|july|august|september|october|november|december|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|yesterday|today|tonight|tomorrow|week|month|year|decade|"
    r"century|ago|since|until|during|before|after|earlier|later|recently|previous|days?|hours?|"
    r"\d{2,4}s)\b",
    re.I,
)


_MONEY_QUESTION = re.compile(
    r"\bhow much\b.*\b(cost|costs|pay|paid|pays|spend|spent|price|priced|worth|raise|raised|"
    r"charge|charged|earn|earned|budget|fund|funded|owe|owed)\b|\bwhat\b.*\b(salary|salaries|"
    r"fee|fees|wage|wages)\b",
    re.I,
)
_MONEY = re.compile(
    r"[$£€¥]|\b(dollars?|pounds?|euros?|cents?|pence|rubles?|roubles?|yen|francs?)\b", re.I
)
_NEGATION = re.compile(r"\b(not|never|no|none|nor|neither|cannot|without)\b|n[’']t\b", re.I)
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*")
_POSSESSIVE = re.compile(r"['’]s$")


def wanted_type(question: str) -> str | None:
    if PERSON_QUESTION.search(question):
        return "name"
    if _MONEY_QUESTION.search(question):
        return "money"
    if NUMBER_QUESTION.search(question):
        return "number"
    if TIME_QUESTION.search(question):
        return "time"
    if question.lstrip().lower().startswith("what") and _STATEMENT_QUESTION.search(question):
        return "statement"
    return None


def _names(text: str) -> set[str]:
    return {_POSSESSIVE.sub("", match.group()).lower() for match in _CAPITALISED.finditer(text)}


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a question wants of an answer sentence, worked out once per question (the scorer
    checks every candidate sentence against it)."""

    kind: str | None
    asked: frozenset[str] = frozenset()  # words and names the question already gives
    counted: frozenset[str] = frozenset()  # "how many nurses": the stem of what is counted
    negated: bool = False

    @classmethod
    def of(cls, question: str, kind: str | None = None) -> Expectation:
        counted = _COUNTED.search(question)
        return cls(
            kind=kind,
            asked=frozenset(_names(question) | set(normalize_for_match(question).split())),
            counted=frozenset(lexical_tokens(counted.group(1))) if counted else frozenset(),
            negated=bool(_NEGATION.search(question)),
        )

    def holds(self, sentence: str) -> bool:
        """Whether ``sentence`` can hold the answer type. For "who" questions that is a name the
        question does not already give: a capitalised word other than an English word opening
        it."""
        kind = self.kind
        if kind == "name":
            for match in _CAPITALISED.finditer(sentence):
                name = _POSSESSIVE.sub("", match.group()).lower()
                if name in self.asked or (match.start() == 0 and is_english_word(name)):
                    continue
                return True
            return False
        if kind == "money":
            return bool(_MONEY.search(sentence))
        if kind == "number":
            if not self.counted <= set(lexical_tokens(sentence)):
                return False
            return bool(_NUMBER.search(sentence))
        if kind == "time":
            return bool(_TIME.search(sentence))
        if kind == "statement":
            return bool(_STATEMENT.search(sentence))
        return True

    def polarity_matches(self, sentence: str) -> bool:
        """False when the question is negated ("What is not …?") and the sentence is not: a
        sentence stating X does not say what is *not* X."""
        return not self.negated or bool(_NEGATION.search(sentence))


def expectation(question: str) -> Expectation:
    return Expectation.of(question, wanted_type(question))


# The span a typed question asks for, for the fast path's short answer.
_MONTH = (
    r"(?:" + "|".join(sorted((m.capitalize() for m in MONTHS), key=len, reverse=True)) + r")\.?"
)
_DATE_SPAN = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{1,2}}"
    rf"(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{4}}|(?:1\d|20)\d\d)\b"
)
_SCALE = r"(?:\s?(?:million|billion|trillion|bn|m|k|thousand|hundred))?"
_FIGURE = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"  # 1,200 or 45.5, never a trailing comma
_MONEY_SPAN = re.compile(
    rf"[$£€¥]\s?{_FIGURE}{_SCALE}|\b{_FIGURE}{_SCALE}\s?"
    r"(?:dollars?|pounds?|euros?|cents?|pence|rubles?|roubles?|yen|francs?)\b",
    re.I,
)
_COUNT_SPAN = re.compile(
    rf"(?<![\w.,-])(?!(?:19|20)\d\d\b){_FIGURE}(?:\s?%|\s?per\s?cent|{_SCALE})(?![\w-])",
    re.I,
)
# "how long", "how far", "how old" want a unit the span would cut off: no fast short answer
_MEASURE_QUESTION = re.compile(r"\bhow (long|far|old)\b", re.I)


def typed_span(question: str, sentence: str) -> tuple[int, int] | None:
    """Where ``sentence`` holds the number, amount or date ``question`` asks for, if it does."""
    kind = wanted_type(question)
    pattern = {"money": _MONEY_SPAN, "number": _COUNT_SPAN, "time": _DATE_SPAN}.get(kind or "")
    if pattern is None or _MEASURE_QUESTION.search(question):
        return None
    if kind == "number" and not expectation(question).holds(sentence):
        return None
    matches = list(pattern.finditer(sentence))
    if len(matches) != 1:  # several figures: which one answers needs a reader
        return None
    return matches[0].start(), matches[0].end()


_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s*$")


def is_fragment(sentence: str) -> bool:
    """A headline, caption, byline or link line: no closing punctuation. It restates what the body
    says (or nothing), so a body sentence with the same words is the better citation."""
    return not _SENTENCE_END.search(sentence)


def polarity_matches(sentence: str, question: str) -> bool:
    return Expectation.of(question).polarity_matches(sentence)
