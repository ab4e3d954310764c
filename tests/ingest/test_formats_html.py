from __future__ import annotations

import pytest

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.html import article_from_html, decode_page
from tests.data.newsroom.pages import make_pages

PAGE = (
    '<!DOCTYPE html><html lang="en-GB"><head><title>Budget is late | The Gazette</title>'
    '<meta property="og:site_name" content="The Gazette">'
    '<meta property="article:published_time" content="2023-10-01T09:30:00+02:00">'
    '<meta name="author" content="Jane Roe">'
    '<link rel="canonical" href="https://gazette.example/budget"></head><body>'
    '<nav><ul><li><a href="/">Home</a></li><li><a href="/news">Local news</a></li></ul></nav>'
    '<div class="cookie">We use cookies to improve your experience on our site.</div>'
    "<article><h1>Budget is late</h1>"
    '<p>The <a href="/mayor">mayor</a> said the <em>budget</em> was\nlate on Tuesday, '
    "according to officials who spoke to reporters.</p>"
    "<p>It is <strong>due</strong> in <span>May</span>, said councillors who were briefed on "
    "the plan by the treasurer.</p></article>"
    '<aside><h3>Related</h3><ul><li><a href="/a">Council row over parking fees</a></li></ul>'
    "</aside><footer>Copyright 2023 The Gazette. All rights reserved.</footer></body></html>"
)


def test_article_text_and_metadata_from_a_page() -> None:
    article = article_from_html(PAGE).article
    assert article.text == (
        "Budget is late\n\n"
        "The mayor said the budget was late on Tuesday, according to officials who spoke to "
        "reporters.\n\n"
        "It is due in May, said councillors who were briefed on the plan by the treasurer."
    )
    assert article.title == "Budget is late"
    assert article.published_at == "2023-10-01T09:30:00+02:00"
    assert article.source == "The Gazette"
    assert article.url == "https://gazette.example/budget"
    assert article.metadata == {"author": "Jane Roe", "language": "en-GB"}


def test_the_callers_url_source_and_id_win() -> None:
    article = article_from_html(
        PAGE, url="https://mirror.example/b", source="Wire", document_id="b-1"
    ).article
    assert (article.url, article.source, article.document_id) == (
        "https://mirror.example/b",
        "Wire",
        "b-1",
    )


def test_a_date_without_time_stays_a_date() -> None:
    page = PAGE.replace("2023-10-01T09:30:00+02:00", "2023-10-01")
    assert article_from_html(page).article.published_at == "2023-10-01"


@pytest.mark.parametrize(
    "page",
    [
        "",
        "<html><body><nav><a href='/'>Home</a></nav></body></html>",
        "<html><body><footer>Copyright</footer></body></html>",
        "\x00\x01 not html",
    ],
)
def test_a_page_without_article_text_is_invalid_input(page: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        article_from_html(page)
    assert raised.value.detail.startswith("html: ")
    assert "\n" not in raised.value.detail


def _norm(text: str) -> str:
    return " ".join(text.split())


def extraction_quality(texts: list[str]) -> tuple[float, float]:
    """The share of body sentences kept whole, and of boilerplate sentences kept, over the
    generated pages. A short boilerplate item (a menu entry) counts when it is a paragraph of
    its own, a longer one when it appears anywhere."""
    pages = make_pages()
    body = boilerplate = body_kept = boilerplate_kept = 0
    for page, text in zip(pages, texts, strict=True):
        flat = _norm(text)
        paragraphs = {_norm(part) for part in text.split("\n\n")}
        for sentence in page.body:
            body += 1
            body_kept += _norm(sentence) in flat
        for item in page.boilerplate:
            boilerplate += 1
            item = _norm(item)
            boilerplate_kept += item in paragraphs if len(item) < 25 else item in flat
    return body_kept / body, boilerplate_kept / boilerplate


def test_extraction_quality_on_twenty_pages_with_boilerplate() -> None:
    pages = make_pages()
    assert len(pages) == 20
    assert sum(len(p.body) for p in pages) > 200
    kept, boilerplate = extraction_quality([article_from_html(p.html).article.text for p in pages])
    print(f"body sentences kept whole {kept:.3f}, boilerplate sentences kept {boilerplate:.3f}")
    assert kept >= 0.95
    assert boilerplate <= 0.02


def test_the_quality_measure_sees_boilerplate_and_broken_sentences() -> None:
    # the measure itself: a page's whole visible text keeps boilerplate, a text whose inline
    # links became paragraphs of their own breaks sentences
    page = make_pages()[0]
    everything = "\n\n".join([*page.boilerplate, *page.body])
    broken = "\n\n".join(part for s in page.body for part in s.split(" ", 2))
    pages = len(make_pages())
    assert extraction_quality([everything] * pages)[1] > 0.05
    assert extraction_quality([broken] * pages)[0] < 0.1


def test_an_oversized_page_is_refused_with_its_size() -> None:
    from newsrag.ingest.formats.limits import MAX_SOURCE_CHARS

    with pytest.raises(InvalidInput, match="over the limit"):
        article_from_html(PAGE + " " * MAX_SOURCE_CHARS)


def test_teasers_inside_the_story_are_dropped_but_sentences_with_those_words_stay() -> None:
    page = PAGE.replace(
        "</p><p>It is",
        '</p><p><strong>Read more:</strong> <a href="/x">Council row over parking</a></p>'
        "<p>Related stories were published by the council on Monday, officials said.</p><p>It is",
    )
    text = article_from_html(page).article.text
    assert "Read more" not in text and "Council row over parking" not in text
    assert "Related stories were published by the council on Monday, officials said." in text


WESTERN = (
    "<html><head><title>Café owners protest</title></head><body><article>"
    "<h1>Café owners protest</h1>"
    + "".join(
        f"<p>The café owners’ association said on Tuesday that the new rules were “unfair” and "
        f"naïve, according to its spokesman José Müller, in statement {n}.</p>"
        for n in range(4)
    )
    + "</article></body></html>"
)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (WESTERN.encode("utf-8"), ""),
        (WESTERN.encode("cp1252"), ""),  # undeclared: what browsers assume, not cp1250
        (WESTERN.encode("cp1252"), "text/html; charset=windows-1252"),
        (WESTERN.replace("<head>", '<head><meta charset="windows-1252">').encode("cp1252"), ""),
    ],
)
def test_a_page_is_decoded_in_its_encoding(data: bytes, content_type: str) -> None:
    text = decode_page(data, content_type)
    assert "café owners’ association" in text and "“unfair” and naïve" in text
    assert "\ufffd" not in text


def test_a_declared_central_european_page_keeps_its_letters() -> None:
    page = '<html><head><meta charset="windows-1250"></head><body><p>Příliš žluťoučký kůň</p>'
    assert "Příliš žluťoučký kůň" in decode_page(page.encode("cp1250"))


def test_a_utf8_page_with_a_stray_byte_stays_utf8() -> None:
    page = WESTERN.encode("utf-8").replace(b"statement 2", b"statement \xa02")
    text = decode_page(page)
    assert "café owners’ association" in text and text.count("\ufffd") == 1


@pytest.mark.parametrize(
    "declared",
    [
        '<meta charset="iso-8859-1">',  # the web reads latin-1 as windows-1252
        '<meta http-equiv="Content-Type" content="text/html; charset=us-ascii">',
        '<meta charset="utf-16">',  # said in ASCII bytes: not UTF-16
        '<meta charset="unicode_escape">',  # a Python codec, not a web encoding
    ],
)
def test_declared_charsets_are_read_as_browsers_read_them(declared: str) -> None:
    page = WESTERN.replace("<head>", f"<head>{declared}").encode("cp1252")
    text = decode_page(page)
    assert "café owners’ association" in text and "“unfair” and naïve" in text


def test_byte_order_marks_and_a_header_charset_decide() -> None:
    assert decode_page(b"\xef\xbb\xbf" + WESTERN.encode()) == WESTERN
    assert decode_page(b"\xff\xfe" + WESTERN.encode("utf-16-le")) == WESTERN
    russian = "<html><body><p>Городской совет утвердил бюджет.</p></body></html>"
    assert decode_page(russian.encode("cp1251"), "text/html; charset=windows-1251") == russian
