"""Newsroom files told by their content, read by ``newsrag ingest``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from newsrag.cli import main
from newsrag.errors import InvalidInput
from newsrag.ingest.formats.detect import kind_of, read_item
from newsrag.ingest.loaders import iter_files, load_items, load_path

DATA = Path(__file__).parents[1] / "data" / "newsroom"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ninjs-2.json", "ninjs"),
        ("ninjs-3.json", "ninjs"),
        ("newsitem.xml", "newsml"),
        ("newsmessage.xml", "newsml"),
        ("billion-laughs.xml", "newsml"),
    ],
)
def test_kind_by_content(name: str, kind: str) -> None:
    assert kind_of((DATA / name).read_bytes()) == kind


def test_kind_of_other_content() -> None:
    assert kind_of("<!DOCTYPE html><html><body><p>x</p></body></html>") == "html"
    assert kind_of(b"\xef\xbb\xbf<html lang='en'>") == "html"
    assert kind_of('{"text": "an article record"}') == "json"
    assert kind_of("[" + json.dumps({"uri": "urn:x:1", "headline": "h"}) + "]") == "ninjs"
    assert kind_of("{oops") == "json"
    assert kind_of("<rss version='2.0'><channel/></rss>") == "text"
    assert kind_of("Just words.") == "text"


def test_read_item_whatever_the_name() -> None:
    [item] = read_item((DATA / "newsitem.xml").read_bytes(), name="upload.bin")
    assert item.article.document_id == "wire.example.com-20231002-harbour-fire"
    two = read_item((DATA / "newsmessage.xml").read_bytes(), name="m")
    assert len(two) == 2
    names = ("ninjs-2.json", "ninjs-3.json")
    listed = json.dumps([json.loads((DATA / name).read_text()) for name in names])
    assert len(read_item(listed, name="list.json")) == 2
    with pytest.raises(InvalidInput, match=r"^bomb\.xml: newsml: refused"):
        read_item((DATA / "billion-laughs.xml").read_bytes(), name="bomb.xml")
    with pytest.raises(InvalidInput, match="not an HTML page, ninjs JSON or NewsML-G2 XML"):
        read_item("Just words.", name="notes")


def test_loaders_read_newsroom_files_and_keep_plain_records(tmp_path: Path) -> None:
    for name in ("ninjs-2.json", "newsitem.xml", "newsitem-canceled.xml"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "record.json").write_text(json.dumps({"text": "Body.", "document_id": "r-1"}))
    assert [p.name for p in iter_files([tmp_path])] == [
        "newsitem-canceled.xml",
        "newsitem.xml",
        "ninjs-2.json",
        "record.json",
    ]
    [ninjs] = load_path(tmp_path / "ninjs-2.json")
    assert ninjs.document_id == "wire.example.com-20231001-ferry-aground"
    [record] = load_path(tmp_path / "record.json")
    assert (record.document_id, record.text) == ("r-1", "Body.")
    [canceled] = load_items(tmp_path / "newsitem-canceled.xml")
    assert canceled.withdrawn


def test_ingest_command_applies_a_kill_after_the_story(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "wire"
    folder.mkdir()
    # sorted, the kill comes first: it must still win
    shutil.copy(DATA / "newsitem-canceled.xml", folder / "a-kill.xml")
    shutil.copy(DATA / "newsitem.xml", folder / "b-story.xml")
    shutil.copy(DATA / "ninjs-3.json", folder / "c-bridge.json")
    shutil.copy(DATA / "external-entity.xml", folder / "d-xxe.xml")
    for name in list(os.environ):
        if name.startswith("NEWSRAG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSRAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSRAG_EMBEDDINGS", "fake")
    monkeypatch.setenv("NEWSRAG_LLM_LOCAL", "false")
    monkeypatch.chdir(tmp_path)

    assert main(["ingest", "--quiet", str(folder)]) == 1

    out, err = capsys.readouterr()
    assert "created 2, updated 0, unchanged 0, failed 1, withdrawn 1" in out
    assert "d-xxe.xml: newsml: refused" in err
    assert main(["docs", "list"]) == 0
    listed = capsys.readouterr().out
    assert "wire.example.com-20231002-harbour-fire\t0 chunks (withdrawn 20" in listed
    assert "news.example.com-2023-10-council-bridge-vote" in listed


def test_files_are_read_by_content_not_by_suffix(tmp_path: Path) -> None:
    shutil.copy(DATA / "newsitem.xml", tmp_path / "story.html")
    shutil.copy(DATA / "ninjs-3.json", tmp_path / "bridge.xml")
    (tmp_path / "page.xml").write_text(
        "<html><body><article><p>The harbour reopened on Monday after a fire.</p></article>"
        "</body></html>"
    )
    (tmp_path / "fragment.html").write_text("<h2>Harbour</h2><p>The harbour reopened.</p>")
    [story] = load_path(tmp_path / "story.html")
    assert story.document_id == "wire.example.com-20231002-harbour-fire"
    [bridge] = load_path(tmp_path / "bridge.xml")
    assert bridge.title == "Council approves new bridge"
    [page] = load_path(tmp_path / "page.xml")
    assert page.text == "The harbour reopened on Monday after a fire."
    [fragment] = load_path(tmp_path / "fragment.html")
    assert fragment.document_id == "fragment" and "The harbour reopened." in fragment.text
