"""Words, numbers, months and names in a text, found one way for every layer.

Retrieval, the question reader and citation verification all ask the same things of a text:
its words as written, the numbers it gives, the months it names, and which of its words are
names (people, organisations, places). Each answer lives here once.
"""

from __future__ import annotations

import calendar
import re

from newsrag.text.sentences import lexical_tokens

# A word as written, with inner apostrophes and hyphens ("Kelce's", "ad-free")
WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
# A run of letters or digits (no underscores): what spelling correction replaces
LETTERS = re.compile(r"[^\W_]+", re.UNICODE)
# A figure as written: 50, 1,200, 4.5
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A word that starts with a capital letter and has at least one more character
CAPITALISED = re.compile(r"\b[A-Z][\w'’-]+")
# Capitalised words that are not names: sentence openers and function words.
COMMON_CAPITALISED = frozenset(
    "The A An In On At It He She They We I This That These Those But And Or So According".split()
)

# What a question asks for, from its words: a person, a figure, a time
PERSON_QUESTION = re.compile(r"^\s*(who|whom|whose)\b|\bnames? of\b", re.I)
NUMBER_QUESTION = re.compile(
    r"\b(how (many|much|old|long|far)|what (number|percentage|proportion|share)|number of)\b", re.I
)
TIME_QUESTION = re.compile(r"^\s*(when\b|(in |on |at )?what (year|date|day|month|time)\b)", re.I)

# Month names and abbreviations, lower-cased, to their number ("sept" too)
MONTHS: dict[str, int] = {
    name.casefold(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
MONTHS["sept"] = 9


def name_matches(text: str) -> list[re.Match[str]]:
    """Where ``text`` gives a name: capitalised words other than the function words that open
    or join sentences ("The", "According"). "Who did Peskov call?" gives "Who" and "Peskov": an
    interrogative is dropped by callers that lower-case the first letter of a question."""
    found: list[re.Match[str]] = []
    for index, match in enumerate(CAPITALISED.finditer(text)):
        word = match.group()
        if index == 0 and match.start() == 0 and word in COMMON_CAPITALISED:
            continue
        if word not in COMMON_CAPITALISED:
            found.append(match)
    return found


def names(text: str) -> list[str]:
    """The names ``text`` gives (see :func:`name_matches`), as written, in order."""
    return [match.group() for match in name_matches(text)]


def numbers(text: str) -> list[str]:
    """The figures ``text`` gives, as written."""
    return NUMBER.findall(text)


def names_and_numbers(text: str) -> set[str]:
    """What a passage must hold for ``text`` to rest on it: its figures as written and the
    lexical tokens of its names."""
    found = set(numbers(text))
    for name in names(text):
        found.update(lexical_tokens(name, keep_stopwords=True))
    return found
