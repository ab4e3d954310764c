from __future__ import annotations

import pytest

from service.answer_types import holds_type, wanted_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many Democrats signed?", "number"),
        ("When did Novaya Gazeta break the news?", "time"),
        ("In what year was it founded?", "time"),
        ("What did the Kremlin say about the reports?", "statement"),
        ("What did Boris Johnson tweet?", "statement"),
        ("Who signed the letter?", None),
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
