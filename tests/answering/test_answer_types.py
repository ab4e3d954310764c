from __future__ import annotations

import pytest

from newsrag.answering.answer_types import (
    Expectation,
    is_fragment,
    polarity_matches,
    typed_span,
    wanted_type,
)


def holds_type(sentence: str, kind: str | None, question: str = "") -> bool:
    return Expectation.of(question, kind).holds(sentence)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many Democrats signed?", "number"),
        ("When did Novaya Gazeta break the news?", "time"),
        ("In what year was it founded?", "time"),
        ("What did the Kremlin say about the reports?", "statement"),
        ("What did Boris Johnson tweet?", "statement"),
        ("Who signed the letter?", "name"),
        ("Whose thesis is it?", "name"),
        ("What are the names of the experts?", "name"),
        ("Why did Farron criticise Johnson?", None),
    ],
)
def test_wanted_type(question: str, kind: str | None) -> None:
    assert wanted_type(question) == kind


def test_holds_type() -> None:
    assert holds_type("More than 100 gay men have been detained.", "number")
    assert not holds_type("The men are held in secret prisons.", "number")
    assert holds_type("Novaya Gazeta broke the news earlier this month.", "time")
    assert holds_type(
        "Peskov told journalists: “We do not have any reliable information.”", "statement"
    )
    assert not holds_type("Mr Tillerson travelled to the Kremlin.", "statement")
    assert holds_type("Anything at all.", None)


def test_a_who_question_wants_a_name_it_does_not_already_give() -> None:
    question = "Who is leading the Safety Authority's investigation?"
    assert holds_type("An investigation led by inspector Ruth Okonkwo-Hale.", "name", question)
    assert not holds_type(
        "The Safety Authority said it would report within 28 days.", "name", question
    )
    # an English word opening the sentence is no name; a name opening it is
    assert not holds_type("Officials said little.", "name", "Who said it?")
    assert holds_type("Peskov said little.", "name", "Who said it?")


def test_headlines_and_captions_are_fragments() -> None:
    assert is_fragment("Kremlin says there is no ‘reliable information’ on anti-gay purge")
    assert is_fragment("Related: Journalist forced into hiding")
    assert not is_fragment("Russian leaders have said there is no “reliable information”.")
    assert not is_fragment("“It is disappointing,” he said.”")
    assert not is_fragment("Is it?")


def test_a_negated_question_needs_a_negated_sentence() -> None:
    question = "What kind of statement is not made in the effort?"
    assert not polarity_matches("A statement is made in the effort.", question)
    assert polarity_matches("No statement is made without effort.", question)
    assert polarity_matches("It isn't made.", question)
    assert polarity_matches("A statement is made.", "What kind of statement is made?")


def test_a_count_is_not_a_year_and_names_what_is_counted() -> None:
    question = "How many beds will the new wing have?"
    assert not holds_type(
        "The hospital will open a new wing in January 2018, ending a five-year wait.",
        "number",
        question,
    )
    assert holds_type("The wing will have 24 beds.", "number", question)
    assert not holds_type(
        "More than 100 gay men have been detained.", "number", "How many women were detained?"
    )
    assert holds_type(
        "More than 100 gay men have been detained.", "number", "How many men were detained?"
    )


def test_a_cost_question_wants_an_amount_of_money() -> None:
    assert wanted_type("How much did the wing cost to build?") == "money"
    assert wanted_type("What salary will the nurses be paid?") == "money"
    assert wanted_type("How much self-government does Chechnya have?") == "number"
    assert holds_type("It cost $11.7 million to build.", "money")
    assert not holds_type("It was built in 2017 by 40 workers.", "money")


def test_typed_span_finds_the_number_amount_or_date_asked_for() -> None:
    def span(question: str, sentence: str) -> str | None:
        found = typed_span(question, sentence)
        return sentence[found[0] : found[1]] if found else None

    assert span("How many members signed it?", "It was signed by 50 members of Congress.") == "50"
    assert span("When was it reported?", "It was first reported on 1 April 2017.") == "1 April 2017"
    assert span("How much did the wing cost?", "It cost $11.7 million to build.") == "$11.7 million"
    assert span("What percentage voted?", "Turnout was 64.5% on Thursday.") == "64.5%"
    assert span("How many nurses were hired?", "The ward opened in 2019.") is None
    assert span("Who signed it?", "Ros-Lehtinen signed it.") is None  # names need a reader
