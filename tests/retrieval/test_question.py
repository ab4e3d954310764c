"""The question, read once: outlets, dates, names with their casing, shape."""

from __future__ import annotations

import datetime as dt

import pytest

from newsrag.retrieval.outlets import Outlets
from newsrag.retrieval.question import Shape, read_question, shape_of

OUTLETS = Outlets.of({"The Verge": ["v"], "TechCrunch": ["t"], "Reuters": ["r"], "Fortune": ["f"]})
ARCHIVE = (dt.date(2023, 9, 1), dt.date(2023, 12, 20))


def read(text: str) -> object:
    return read_question(text, OUTLETS, archive=ARCHIVE)


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("Who chairs the harbour board?", "who"),
        ("Whose budget was cut?", "who"),
        ("What did the minister announce?", "what"),
        ("Which union called the strike?", "what"),
        ("When did the ferry run aground?", "when"),
        ("In what year was the bridge built?", "when"),
        ("How many nurses will the hospital hire?", "how many"),
        ("How much did the wing cost?", "how many"),
        ("Did the council approve the bridge?", "yes-no"),
        ("Is the port still closed?", "yes-no"),
        ("Did Reuters report the strike before TechCrunch did?", "temporal-order"),
        ("Was the recall announced after the lawsuit?", "temporal-order"),
        ("Does Fortune describe the merger differently from The Verge?", "comparison"),
        ("Do both Reuters and Fortune say the deal closed?", "comparison"),
        (
            "Between the Reuters report of 3 October and the Fortune report of 9 October, "
            "was there a change in the forecast?",
            "comparison",
        ),
        ("List the ministers who resigned.", "list"),
        ("What are the reasons given for the delay?", "list"),
    ],
)
def test_shapes(question: str, shape: Shape) -> None:
    assert shape_of(question) == shape


def test_outlets_are_the_stored_sources_it_names() -> None:
    question = read_question(
        "Did the Verge report the recall before Tech Crunch and Reuters did?",
        OUTLETS,
        archive=ARCHIVE,
    )
    assert question.sources == ("The Verge", "TechCrunch", "Reuters")
    assert [m.phrase for m in question.outlets] == ["the Verge", "Tech Crunch", "Reuters"]
    assert question.shape == "temporal-order" and question.yes_no


def test_dates_it_names_each_with_its_window() -> None:
    question = read_question(
        "Did the report published on October 1, 2023 and the one in November 2023 agree? "
        "And the one on 2023-12-05?",
        OUTLETS,
        archive=ARCHIVE,
    )
    windows = [(d.phrase, d.after, d.before) for d in question.dates]
    assert windows == [
        ("on October 1, 2023", dt.date(2023, 10, 1), dt.date(2023, 10, 1)),
        ("in November 2023", dt.date(2023, 11, 1), dt.date(2023, 11, 30)),
        ("on 2023-12-05", dt.date(2023, 12, 5), dt.date(2023, 12, 5)),
    ]
    # the time frame of the whole question is still its first date (single-part questions)
    assert (question.frame.after, question.frame.before) == (
        dt.date(2023, 10, 1),
        dt.date(2023, 10, 1),
    )


def test_names_and_numbers_keep_their_casing_outlets_and_dates_aside() -> None:
    question = read_question(
        "What did Peskof tell TechCrunch about the 40 MiG jets on October 3, 2023?",
        OUTLETS,
        archive=ARCHIVE,
    )
    assert question.names == ("Peskof", "MiG")
    assert question.numbers == ("40",)
    assert question.text.startswith("What did Peskof")


def test_a_question_naming_nothing_stored() -> None:
    question = read_question("What did Wired say about the fire?", OUTLETS, archive=ARCHIVE)
    assert question.outlets == () and question.dates == ()
    assert question.names == ("Wired",)


def test_an_outlets_name_is_no_time_word() -> None:
    outlets = Outlets.of({"Business Today | Latest News": ["b"], "USA Today": ["u"]})
    archive = (dt.date(2023, 9, 1), dt.date(2023, 12, 31))
    named = read_question("What did Business Today | Latest News report?", outlets, archive=archive)
    assert named.frame.after is None and named.frame.before is None and not named.frame.latest
    both = read_question("What did USA Today report today?", outlets, archive=archive)
    assert both.frame.phrase == "today" and both.frame.after == dt.date(2023, 12, 31)
    assert both.frame.question == "What did USA Today report?"
