"""Words, numbers, months and names: one definition for every layer."""

from __future__ import annotations

from newsrag.text.words import MONTHS, name_matches, names, names_and_numbers, numbers


def test_names_keep_their_casing_and_skip_function_words() -> None:
    assert names("The mayor of Port Brannick met Aled Fenwick and the IMF.") == [
        "Port",
        "Brannick",
        "Aled",
        "Fenwick",
        "IMF",
    ]
    # an opening function word is no name; any other capitalised opening word is
    assert names("According to Peskof, nothing happened.") == ["Peskof"]
    assert names("Ferries stopped.") == ["Ferries"]


def test_name_matches_are_spans_of_the_text() -> None:
    text = "Did Ana Ruiz approve it?"
    assert [text[m.start() : m.end()] for m in name_matches(text)] == ["Did", "Ana", "Ruiz"]


def test_numbers_as_written() -> None:
    assert numbers("It cost 4.5 million, or 1,200 per head, in 2023.") == ["4.5", "1,200", "2023"]


def test_names_and_numbers_are_what_a_passage_must_hold() -> None:
    assert names_and_numbers("Ana Ruiz approved 7 bridges.") == {"ana", "ruiz", "7"}


def test_months_and_their_abbreviations() -> None:
    assert MONTHS["september"] == MONTHS["sept"] == MONTHS["sep"] == 9
    assert MONTHS["may"] == 5 and len(set(MONTHS.values())) == 12
