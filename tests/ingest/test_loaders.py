from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsrag.errors import InvalidInput
from newsrag.ingest.loaders import count_articles, iter_files, load_path


def test_text_file_keeps_exact_text_and_first_line_title(tmp_path: Path) -> None:
    path = tmp_path / "my story.txt"
    path.write_text("Headline here\n\nBody “quoted”.\n", encoding="utf-8")
    [article] = load_path(path)
    assert article.text == "Headline here\n\nBody “quoted”.\n"
    assert article.title == "Headline here"
    assert article.document_id == "my-story"


def test_markdown_title_drops_hashes(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("# Big news\n\nText.", encoding="utf-8")
    assert load_path(path)[0].title == "Big news"


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Council votes</title><style>p{}</style>"
        '<link rel="canonical" href="https://example.org/a"></head>'
        "<body><h1>Council votes</h1><script>alert(1)</script><p>The council voted 5 to 2.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    [article] = load_path(path)
    assert article.title == "Council votes"
    assert "alert" not in article.text and "p{}" not in article.text
    assert "The council voted 5 to 2." in article.text
    assert article.url == "https://example.org/a"


def test_html_inline_tags_stay_inside_their_sentence(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Budget</title></head><body>"
        '<header><a href="/">Home</a><nav><a href="/news">News</a></nav></header>'
        "<article><h1>Budget is late</h1>"
        '<p>The <a href="x">mayor</a> said the <em>budget</em> was\nlate.</p>'
        "<p>It is <strong>due</strong> in <span>May</span>.<br>Councillors <i>agreed</i>.</p>"
        "<aside>Read more stories</aside></article>"
        "<footer>Copyright 2017</footer></body></html>",
        encoding="utf-8",
    )
    [article] = load_path(path)
    assert article.text == (
        "Budget is late\n\n"
        "The mayor said the budget was late.\n\n"
        "It is due in May.\n\n"
        "Councillors agreed."
    )


def test_json_and_jsonl_records(tmp_path: Path) -> None:
    record = {
        "text": "Body.",
        "title": "T",
        "url": "https://x",
        "source": "Wire",
        "published_at": "2017-04-14",
        "document_id": "wire-1",
    }
    (tmp_path / "one.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "many.jsonl").write_text(
        json.dumps(record) + "\n" + json.dumps({**record, "document_id": "wire-2"}) + "\n",
        encoding="utf-8",
    )
    [one] = load_path(tmp_path / "one.json")
    assert (one.document_id, one.source, one.published_at) == ("wire-1", "Wire", "2017-04-14")
    assert [a.document_id for a in load_path(tmp_path / "many.jsonl")] == ["wire-1", "wire-2"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", "{not json", "invalid JSON"),
        ("bad.jsonl", '{"title": "no text"}', "'text'"),
        ("date.json", '{"text": "x", "published_at": "yesterday"}', "published_at"),
        ("bad.pdf", "x", "unsupported file type"),
    ],
)
def test_bad_files_raise_a_clear_error(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        load_path(path)


def test_non_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        load_path(path)


def test_iter_files_walks_folders_for_supported_types(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.txt", "sub/b.md", "sub/c.html", "d.json", "e.png"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = sorted(p.name for p in iter_files([tmp_path]))
    assert found == ["a.txt", "b.md", "c.html", "d.json"]


def test_a_jsonl_file_counts_its_articles_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "archive.jsonl"
    records = [{"text": f"Story {i}.", "title": f"S{i}"} for i in range(3)]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    assert count_articles(path) == 3 == len(load_path(path))
    (tmp_path / "one.txt").write_text("A story.", encoding="utf-8")
    assert count_articles(tmp_path / "one.txt") == 1
