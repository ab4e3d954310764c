"""A question's facets: the parts of it that different articles answer.

"Did TechCrunch report the layoffs before The Verge reported the lawsuit?" has two facets, each
with its own outlet and words; "Which company, according to both Reuters and Fortune, …?" has
one per outlet, sharing the words; "Between the report published on 21 November and the report
published on 7 December, …" one per date. Each facet is retrieved on its own (its outlet and date
as filters, its own words as the query), so each keeps its best passages.

How the words are divided, deterministically:

- The question is cut into clauses at commas (not the one in "October 7, 2023"), semicolons,
  the words that join claims ("while", "whereas", "but", "in contrast to", "compared to",
  "than", "and" before a new subject or verb) and before "according to" or "as reported by".
- Clauses before the first outlet or date are the *stem* ("Which company"), shared by every
  facet. A clause naming an outlet or a date opens a facet; the clauses after it continue it.
- Outlets named together ("both Reuters and Fortune") get one facet each, with the same words.
  A clause that names outlets and says nothing else ("according to articles from The
  Independent") also makes each claim that follows ("has discussed X", "remains Y") a facet of
  its own, filtered to those outlets: plural "articles" may be several articles of one outlet.
- An attribution that closes what precedes it ("…, as reported by X") takes the claims before
  it: those of the part before, or, when it is the first, those of the stem after its first
  clause ("Which team, known for X, was involved in Y according to articles from Z?": X and Y
  are Z's). A first clause that makes a claim itself ("Who is the player that won X …") is a
  facet of its own too, filtered to the outlets such attributions name.
- A clause with a date but no outlet takes the outlet of the question when it names only one;
  a facet with several dates becomes one facet per date.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsrag.retrieval.outlets import OutletMention
from newsrag.retrieval.question import Question
from newsrag.retrieval.timeframe import DateMention
from newsrag.text.sentences import lexical_tokens

MAX_FACETS = 6

_SEPARATOR = re.compile(
    r",\s+(?!\d)|;\s*|\s+(?:while|whereas|but|than|in contrast to|as opposed to|"
    r"compared (?:to|with))\s+|\s+and\s+(?=(?:the|a|an|does|did|do|is|was|were|has|had|have|"
    r"its|it|their|then|later|subsequently|also)\b)|"
    # an attribution closing the claim before it, without a comma ("… wet conditions according
    # to articles from The Roar"): cut before it, so its outlet takes that claim
    r"\s+(?=according to\b|as reported (?:by|in)\b)",
    re.I,
)
# Words that only attribute ("according to articles from …"), not claims of their own
_ATTRIBUTION = frozenset(
    lexical_tokens(
        "according reported report reports reporting article articles piece pieces source sources "
        "outlet outlets both mentioned featured covered discussed published news noted per "
        "cited stated story stories coverage recently recent by from in as of the and or",
        keep_stopwords=True,
    )
)
# quotation marks left beside a removed outlet ("the 'Sporting News' article")
_STRAY_QUOTES = re.compile(r"(?:(?<=\s)|^)['\"‘’“”]+|['\"‘’“”]+(?=\s|$)")
# an attribution that closes what precedes it: "as reported by X", "according to X"
_BACKWARD = re.compile(
    r"\W*(?:as\b|according to\b|per\b|"
    r"(?:reported|noted|stated|covered|discussed)\s+(?:by|in|on)\b)",
    re.I,
)
_JOINERS = re.compile(r"^[\s'\"‘’“”,]*(?:(?:and|or|both|as well as|,)[\s'\"‘’“”,]*)*$", re.I)


@dataclass(frozen=True, slots=True)
class Facet:
    """One part of a question: its own words and the outlet and dates that narrow it."""

    text: str
    sources: tuple[str, ...] = ()  # stored sources it is filtered to (empty: any)
    outlet: str | None = None  # its sources, for a reader: "The Verge or TechCrunch"
    after: dt.date | None = None
    before: dt.date | None = None
    date: str | None = None  # the date words, as written


@dataclass(slots=True)
class _Part:
    anchor: tuple[int, int]  # the clause naming the outlets or dates
    clauses: list[tuple[int, int]]  # the anchor and the clauses that make its claims
    outlets: list[OutletMention]
    dates: list[DateMention]
    thin: bool  # names outlets and says nothing else


def _clauses(text: str, outlets: tuple[OutletMention, ...]) -> list[tuple[int, int]]:
    """Clause spans of ``text``; never cut inside a list of outlets named together ("The New
    York Times, The Guardian and Sky Sports")."""
    lists = [(a.end, b.start) for a, b in itertools.pairwise(outlets) if _joined(text, a, b)]
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SEPARATOR.finditer(text):
        if any(a <= match.start() and match.end() <= b for a, b in lists):
            continue
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _joined(text: str, a: OutletMention, b: OutletMention) -> bool:
    """Two outlets named together: nothing but "and", "or", "both", commas and quotes between."""
    return bool(_JOINERS.match(text[a.end : b.start]))


def _inside(start: int, end: int, span: tuple[int, int]) -> bool:
    return span[0] <= start and end <= span[1]


def _coordinated(text: str, mentions: list[OutletMention]) -> bool:
    return all(_joined(text, a, b) for a, b in itertools.pairwise(mentions))


def _split_uncoordinated(
    text: str, span: tuple[int, int], mentions: list[OutletMention]
) -> list[tuple[int, int]]:
    """A clause naming outlets apart ("the TechCrunch article on X … the TechCrunch article on
    Y") cut before each later outlet, with the "the" that introduces it."""
    if len(mentions) < 2 or _coordinated(text, mentions):
        return [span]
    cuts = [span[0]]
    for previous, mention in itertools.pairwise(mentions):
        if not _joined(text, previous, mention):
            cuts.append(mention.start)
    cuts.append(span[1])
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _named(question: Question, dates: Sequence[DateMention]) -> list[OutletMention | DateMention]:
    return [*question.outlets, *dates]


def _thin(
    text: str, span: tuple[int, int], question: Question, dates: Sequence[DateMention]
) -> bool:
    words = text[span[0] : span[1]]
    for mention in _named(question, dates):
        if _inside(mention.start, mention.end, span):
            words = words.replace(mention.phrase, " ")
    return not [t for t in lexical_tokens(words) if t not in _ATTRIBUTION]


def _overlaps(mention: DateMention, archive: tuple[dt.date, dt.date] | None) -> bool:
    if archive is None:
        return False
    first, last = archive
    return (mention.after is None or mention.after <= last) and (
        mention.before is None or mention.before >= first
    )


def _parts(
    question: Question, named_dates: tuple[DateMention, ...]
) -> tuple[list[tuple[int, int]], list[_Part]]:
    text = question.text
    spans: list[tuple[int, int]] = []
    for span in _clauses(text, question.outlets):
        inside = [m for m in question.outlets if _inside(m.start, m.end, span)]
        spans.extend(_split_uncoordinated(text, span, inside))
    stem: list[tuple[int, int]] = []
    parts: list[_Part] = []
    for span in spans:
        outlets = [m for m in question.outlets if _inside(m.start, m.end, span)]
        dates = [d for d in named_dates if _inside(d.start, d.end, span)]
        if not outlets and not dates:
            (parts[-1].clauses if parts else stem).append(span)
            continue
        thin = bool(outlets) and _thin(text, span, question, named_dates)
        part = _Part(span, [span], outlets, dates, thin)
        previous = parts[-1] if parts else None
        if part.thin and previous and _BACKWARD.match(text, span[0]) and _gives(text, previous):
            # "…, that also faced elimination, as reported by X": the claims before are X's
            claims = [c for c in previous.clauses if c[0] > previous.anchor[0]]
            previous.clauses = [c for c in previous.clauses if c not in claims]
            part.clauses = [*claims, span]
        elif not previous and len(stem) > 1 and _closes(text, span, outlets, named_dates):
            # "Which team, known for X, was involved in Y, according to The Roar?": the claims
            # after the first clause (which asks what) are The Roar's
            part.clauses = [*stem[1:], span]
            del stem[1:]
        parts.append(part)
    return stem, parts


def _closes(
    text: str,
    span: tuple[int, int],
    outlets: list[OutletMention],
    dates: Sequence[DateMention],
) -> bool:
    """Whether the clause is an attribution of what came before it: it opens with one ("…
    according to a theory by TechCrunch") and says nothing after its last outlet ("… according
    to Reuters cut 500 jobs" makes a claim of its own, after)."""
    if not outlets or not _BACKWARD.match(text, span[0]):
        return False
    after = text[max(m.end for m in outlets) : span[1]]
    for date in dates:
        after = after.replace(date.phrase, " ")
    return not [t for t in lexical_tokens(after) if t not in _ATTRIBUTION]


def _gives(text: str, part: _Part) -> bool:
    """Whether the clauses after ``part``'s anchor are its claims to give away: it says
    something itself, or its own attribution closed what came before it."""
    return not part.thin or bool(_BACKWARD.match(text, part.anchor[0]))


def _words(question: Question, dates: Sequence[DateMention], spans: list[tuple[int, int]]) -> str:
    """The words of these clauses without the outlets and dates named in them (the filters
    carry those)."""
    text = question.text
    named = sorted((m.start, m.end) for m in _named(question, dates))
    pieces: list[str] = []
    for start, end in spans:
        cursor = start
        for a, b in named:
            if start <= a and b <= end:
                pieces.append(text[cursor:a])
                cursor = b
        pieces.append(text[cursor:end])
    return " ".join(_STRAY_QUOTES.sub("", " ".join(pieces)).split()).strip(" ,;")


def facets_of(
    question: Question, archive: tuple[dt.date, dt.date] | None = None
) -> tuple[Facet, ...]:
    """The facets of ``question``; none when it names no outlet and fewer than two dates (one
    retrieval over the whole question serves it). A date whose window holds no day of
    ``archive`` (the span of the stored articles' dates) is about an event ("a milestone
    reached in March"), not about when an article appeared: it selects no facet."""
    dates = tuple(d for d in question.dates if _overlaps(d, archive))
    if not question.outlets and len(dates) < 2:
        return ()
    stem, parts = _parts(question, dates)
    named = {m.sources for m in question.outlets}
    only = next(iter(named)) if len(named) == 1 else None
    facets: list[Facet] = []
    claimed: list[Facet] = []  # the claims of bare attributions, after every part's own facets
    attributed: list[str] = []  # the outlets of those attributions
    for part in parts:
        words = _words(question, dates, stem + part.clauses)
        groups = list(dict.fromkeys(m.sources for m in part.outlets)) or [only or ()]
        for sources in groups:
            facets.extend(_dated(Facet(words, sources, _outlet(sources)), part.dates))
        claims = [c for c in part.clauses if c != part.anchor]
        if not (part.thin and claims):
            continue
        union = tuple(dict.fromkeys(s for group in groups for s in group))
        attributed.extend(union)
        if len(claims) > 1:  # several claims, maybe several articles of them
            for claim in claims:
                words = _words(question, dates, [*stem, claim])
                claimed.append(Facet(words, union, _outlet(union)))
    own = _first_clause(question, dates, stem, parts, attributed)
    unique = list(dict.fromkeys(facets + claimed + own))
    return tuple(unique[:MAX_FACETS]) if len(unique) > 1 or question.outlets else ()


def _first_clause(
    question: Question,
    dates: Sequence[DateMention],
    stem: list[tuple[int, int]],
    parts: list[_Part],
    outlets: list[str],
) -> list[Facet]:
    """The first clause as a facet of its own, filtered to the ``outlets`` of the bare
    attributions, when it makes a claim ("Who is the player that won X, …, as reported by A and
    B?") rather than only asks what, and no attribution closes it alone ("Which bank was fined,
    as reported by Reuters, …" is Reuters' facet already)."""
    words = _words(question, dates, stem)
    first = parts[0] if parts else None
    closed = (
        first is not None
        and first.clauses[0] == first.anchor
        and _BACKWARD.match(question.text, first.anchor[0]) is not None
    )
    if not outlets or closed or len(lexical_tokens(words)) <= 2:
        return []
    union = tuple(dict.fromkeys(outlets))
    return [Facet(words, union, _outlet(union))]


def _outlet(sources: tuple[str, ...]) -> str | None:
    return " or ".join(sources) or None


def _dated(facet: Facet, dates: list[DateMention]) -> list[Facet]:
    if not dates:
        return [facet]
    return [
        Facet(facet.text, facet.sources, facet.outlet, d.after, d.before, d.phrase) for d in dates
    ]
