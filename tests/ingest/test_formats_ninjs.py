from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.ninjs import is_ninjs, item_from_ninjs

DATA = Path(__file__).parents[1] / "data" / "newsroom"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_ninjs_2_headline_html_body_dates_and_metadata() -> None:
    item = item_from_ninjs(load("ninjs-2.json"))
    article = item.article
    assert not item.withdrawn
    assert article.document_id == "wire.example.com-20231001-ferry-aground"
    assert article.title == "Ferry runs aground off Port Brannick"
    # the html body's link and emphasis stay inside their sentences
    assert article.text == (
        "Ferry runs aground off Port Brannick\n\n"
        "A passenger ferry carrying 143 passengers ran aground on a sandbank in the Tarrow "
        "Estuary on Monday night, the coastal safety authority said.\n\n"
        "Eleven people were taken to Brannick General Hospital with minor injuries."
    )
    assert article.published_at == "2023-10-01T09:40:00+00:00"  # firstcreated
    assert article.source == "Example Wire"
    meta = article.metadata
    assert meta["versioncreated"] == "2023-10-01T10:15:00+00:00"
    assert meta["author"] == "Aled Morgan"
    assert meta["located"] == "Port Brannick"
    assert meta["subjects"] == "maritime accident; transport"
    assert meta["genres"] == "Current"
    assert all(isinstance(value, str | int | float | bool) for value in meta.values())


def test_ninjs_3_prefers_the_plain_text_body_and_reads_people() -> None:
    article = item_from_ninjs(load("ninjs-3.json")).article
    assert article.document_id == "news.example.com-2023-10-council-bridge-vote"
    assert article.title == "Council approves new bridge"
    assert article.text.startswith("Council approves new bridge\n\nThe city council voted 7")
    assert article.text.endswith("Mayor Ana Ruiz said construction will start in March.")
    assert article.url == "https://news.example.com/2023/10/council-bridge-vote"
    assert article.published_at == "2023-10-03T16:00:00+02:00"
    assert article.metadata["author"] == "Ines Duarte"  # the author, not the person named
    assert article.metadata["subjects"] == "local government"


def test_ninjs_3_html_body_when_there_is_no_plain_text() -> None:
    obj = load("ninjs-3.json")
    obj["bodies"] = [b for b in obj["bodies"] if b["contenttype"] == "text/html"]
    assert item_from_ninjs(obj).article.text.endswith("The city council voted 7 to 2.")


def test_canceled_item_is_a_withdrawal_of_its_uri() -> None:
    item = item_from_ninjs(load("ninjs-canceled.json"))
    assert item.withdrawn
    assert item.article.document_id == "wire.example.com-20231001-ferry-aground"


def test_missing_headline_takes_the_title_from_the_text() -> None:
    item = item_from_ninjs({"uri": "urn:x:1", "body_text": "Floods close the A9.\n\nMore."})
    assert item.article.title == "Floods close the A9."
    assert item.article.text == "Floods close the A9.\n\nMore."


def test_caller_document_id_wins() -> None:
    item = item_from_ninjs(load("ninjs-2.json"), document_id="mine")
    assert item.article.document_id == "mine"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"uri": "urn:x:2", "headline": "Only a headline"}, "no body"),
        ({"uri": "urn:x:3", "headline": 5, "body_text": "x"}, "'headline' must be a string"),
        ({"uri": "urn:x:4", "body_text": "x", "firstcreated": "yesterday"}, "firstcreated"),
        ({"pubstatus": "canceled"}, "needs a uri"),
    ],
)
def test_bad_items_name_what_is_wrong(obj: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as raised:
        item_from_ninjs(obj)
    assert raised.value.detail.startswith("ninjs")


def test_is_ninjs() -> None:
    assert is_ninjs(load("ninjs-2.json")) and is_ninjs(load("ninjs-3.json"))
    assert not is_ninjs({"text": "an article record", "title": "t"})
    assert not is_ninjs({"uri": "x"})
