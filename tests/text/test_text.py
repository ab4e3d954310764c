from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from newsrag.text.sentences import lexical_tokens, normalize_for_match, split_sentences
from newsrag.text.titles import MAX_TITLE_CHARS, title_from_text


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_splits_on_sentence_ends_and_lines() -> None:
    text = "First one. Second one! Third?\nA line without a stop\n\n“Quoted.” Next."
    assert sentences(text) == [
        "First one.",
        "Second one!",
        "Third?",
        "A line without a stop",
        "“Quoted.”",
        "Next.",
    ]


def test_keeps_abbreviations_and_initials_inside_a_sentence() -> None:
    text = "said Rep. David N. Cicilline (RI-01). Mr. Johnson agreed."
    assert sentences(text) == ["said Rep. David N. Cicilline (RI-01).", "Mr. Johnson agreed."]


@given(st.text(alphabet=st.sampled_from("ab .!?\n“”A1"), max_size=200))
def test_spans_are_exact_stripped_and_ordered(text: str) -> None:
    previous_end = 0
    for span in split_sentences(text):
        piece = text[span.start : span.end]
        assert piece == piece.strip() and piece
        assert span.start >= previous_end
        previous_end = span.end


def test_lexical_tokens_drop_stopwords_and_stem() -> None:
    assert lexical_tokens("Who signed the letters?") == ["sign", "letter"]
    assert lexical_tokens("CA-47") == ["ca", "47"]


def test_normalize_for_match_straightens_quotes() -> None:
    assert normalize_for_match("No “reliable  information’") == "no \"reliable information'"


def test_default_title_is_the_first_line_without_heading_marks() -> None:
    assert title_from_text("\n  \n## Council approves bridge \nThe vote was 7 to 2.") == (
        "Council approves bridge"
    )
    assert title_from_text(" \n\t\n") == "Untitled"
    assert title_from_text("x" * (MAX_TITLE_CHARS + 50)) == "x" * MAX_TITLE_CHARS
