"""Twenty article pages with realistic boilerplate, made deterministically from MultiHop news
articles bundled with newsrag (``newsrag/eval/data``), for the extraction-quality test.

Each page wraps one article's first paragraphs (links, emphasis and bold inside their sentences)
in the chrome of a news site: a navigation menu, a cookie banner, share buttons, a newsletter
box, a related-stories list, a "most read" rail and a footer, and, inside the story, an advert
slot and a "Read more:" teaser. Three layouts take turns (an
``<article>``, a ``<div class="story-body">``, and related links inside the article).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from newsrag.text.sentences import split_sentences

CORPUS = Path(__file__).parents[3] / "newsrag" / "eval" / "data" / "multihop-rag-news-subset.json"
PAGES = 20
PARAGRAPHS = 6
SECTIONS = ["World news", "UK politics", "Business and markets", "Technology", "Sport results"]
COOKIES = [
    "We use cookies to personalise content and ads and to analyse our traffic.",
    "By clicking Accept all you agree to the storing of cookies on your device.",
]
SHARE = ["Share on Facebook", "Share on X", "Share by email", "Copy link to this story"]
NEWSLETTER = [
    "Sign up for the Morning Briefing and get the day's top stories in your inbox.",
    "You can unsubscribe at any time.",
]
FOOTER = [
    "Copyright 2023 The Daily Example Media Group.",
    "All rights reserved.",
    "Terms of use",
    "Privacy policy",
    "Contact the newsroom",
]


@dataclass(frozen=True)
class Page:
    html: str
    body: list[str]  # the article's sentences, as a reader sees them
    boilerplate: list[str]  # every other sentence of the page


def _articles() -> list[tuple[str, list[list[str]]]]:
    """(title, paragraphs of sentences) of the corpus articles with enough plain paragraphs."""
    documents = json.loads(CORPUS.read_text(encoding="utf-8"))["documents"]
    found = []
    for document in sorted(documents, key=lambda d: str(d["document_id"])):
        paragraphs = []
        for paragraph in str(document["text"]).split("\n\n"):
            paragraph = " ".join(paragraph.split())
            sentences = [paragraph[s.start : s.end] for s in split_sentences(paragraph)]
            if 80 <= len(paragraph) <= 900 and sentences and paragraph.endswith((".", '"', "”")):
                paragraphs.append(sentences)
        if len(paragraphs) >= 4:
            found.append((" ".join(str(document["title"]).split()), paragraphs[:PARAGRAPHS]))
    return found


def _marked(sentence: str, seed: int) -> str:
    """The sentence as HTML, with a link, emphasis or bold around a word inside it."""
    words = [html.escape(word, quote=False) for word in sentence.split(" ")]
    if len(words) > 4:
        at = 1 + seed % (len(words) - 2)
        tag = ("a", "em", "strong")[seed % 3]
        attributes = f' href="/topics/{seed}"' if tag == "a" else ""
        words[at] = f"<{tag}{attributes}>{words[at]}</{tag}>"
    return " ".join(words)


def _links(items: list[str], css: str) -> str:
    entries = "".join(f'<li><a href="/{i}">{html.escape(t)}</a></li>' for i, t in enumerate(items))
    return f'<ul class="{css}">{entries}</ul>'


def make_pages() -> list[Page]:
    articles = _articles()
    if len(articles) < PAGES + 6:
        raise RuntimeError("the bundled corpus has too few articles for the pages")
    pages = []
    for number in range(PAGES):
        title, paragraphs = articles[number]
        related = [articles[(number + k) % len(articles)][0] for k in (7, 11, 13)]
        most_read = [articles[(number + k) % len(articles)][0] for k in (3, 5)]
        paragraphs_html = [
            "<p>" + " ".join(_marked(s, number + p + i) for i, s in enumerate(sentences)) + "</p>"
            for p, sentences in enumerate(paragraphs)
        ]
        # inside the story: an advert slot and a "read more" teaser between two paragraphs
        teaser = articles[(number + 17) % len(articles)][0]
        paragraphs_html.insert(2, '<div class="ad-slot"><span>Advertisement</span></div>')
        paragraphs_html.insert(
            4,
            f'<p class="read-more"><strong>Read more:</strong> <a href="/t">{html.escape(teaser)}'
            "</a></p>",
        )
        body_html = "".join(paragraphs_html)
        related_html = (
            '<section class="related"><h2>Related stories</h2>'
            + _links(related, "related-links")
            + "</section>"
        )
        share = '<div class="share">' + _links(SHARE, "share-buttons") + "</div>"
        byline = '<p class="byline">By <a href="/staff/reporter">Staff reporter</a></p>'
        if number % 3 == 0:
            main = f"<article><h1>{html.escape(title)}</h1>{byline}{share}{body_html}</article>"
            main += related_html
        elif number % 3 == 1:
            main = (
                f'<div class="story"><h1>{html.escape(title)}</h1>{byline}'
                f'<div class="story-body">{body_html}</div>{share}</div>{related_html}'
            )
        else:
            main = (
                f"<main><article><h1>{html.escape(title)}</h1>{byline}{body_html}"
                f"{share}{related_html}</article></main>"
            )
        page = (
            '<!DOCTYPE html><html lang="en"><head>'
            f"<title>{html.escape(title)} | The Daily Example</title>"
            '<meta property="og:site_name" content="The Daily Example">'
            f'<meta property="article:published_time" content="2023-11-{number + 1:02d}T08:00:00Z">'
            f'<link rel="canonical" href="https://daily.example.com/story/{number}">'
            "<script>window.dataLayer = [];</script></head><body>"
            '<header class="masthead"><a href="/">The Daily Example</a>'
            f'<nav class="menu">{_links(SECTIONS, "sections")}</nav></header>'
            f'<div id="cookie-banner" class="cookie-consent"><p>{" ".join(COOKIES)}</p>'
            "<button>Accept all</button><button>Manage preferences</button></div>"
            f"{main}"
            f'<aside class="newsletter"><p>{" ".join(NEWSLETTER)}</p></aside>'
            f'<aside class="most-read"><h3>Most read</h3>{_links(most_read, "most-read")}</aside>'
            f'<footer><p>{" ".join(FOOTER[:2])}</p>{_links(FOOTER[2:], "footer-links")}</footer>'
            "</body></html>"
        )
        boilerplate = [
            *SECTIONS,
            *COOKIES,
            *SHARE,
            *NEWSLETTER,
            *FOOTER,
            *related,
            *most_read,
            "Advertisement",
            f"Read more: {teaser}",
        ]
        body = [sentence for sentences in paragraphs for sentence in sentences]
        pages.append(Page(page, body, boilerplate))
    return pages
