"""Article web pages read with trafilatura: the story's text without the page around it.

trafilatura keeps inline markup (links, emphasis) inside its sentence and drops menus, related
links, cookie banners, share buttons and footers; htmldate reads the publication date, including
``article:published_time``. Paragraphs are joined by a blank line; the text returned is what is
stored and cited, byte for byte.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.item import ParsedItem
from newsrag.ingest.formats.limits import check_size
from newsrag.models import Article, MetadataValue
from newsrag.text.dates import parse_published
from newsrag.text.titles import clip_title, title_from_text

log = logging.getLogger(__name__)
# On the pages of tests/data/newsroom/pages.py both settings keep every body sentence and no
# boilerplate; precision is kept because a teaser kept in the text would be cited as the story.
FAVOR_PRECISION = True
# A paragraph that only points to another story: trafilatura keeps it when it sits between two
# paragraphs of the article. A label and a short title only, so that a sentence starting with
# these words stays.
_TEASER = re.compile(
    r"^(?:read more|read also|also read|related|see also|more on this story|advertisement)"
    r"(?:\s*[:|»–]\s*.{1,160})?$",
    re.IGNORECASE,
)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,  # the publication date, not the last modification
    "extensive_search": False,  # no guessing from free text or urls
}


def decode_page(data: bytes, content_type: str = "") -> str:
    """A page's bytes as text: UTF-8 when they are valid UTF-8 (other encodings rarely are, and
    pages that say otherwise often are wrong), else the charset its ``Content-Type`` or a
    ``<meta>`` declares, else windows-1252 (what browsers assume of an undeclared Western page;
    many news sites still serve it without saying so; charset detection takes a short English
    page in it for central European cp1250), else what charset-normalizer finds.
    :class:`InvalidInput` when nothing decodes it: a story is never stored with characters
    replaced."""
    from trafilatura.utils import detect_encoding

    declared = _declared_charset(data, content_type)
    tried = ["utf-8", *([declared] if declared else []), "windows-1252"]
    for encoding in [*tried, *detect_encoding(data)]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    raise InvalidInput("html: the page is not text in any encoding found", field="html")


def _declared_charset(data: bytes, content_type: str) -> str | None:
    found = _CHARSET.search(content_type)
    if found:
        return found.group(1)
    meta = _META_CHARSET.search(data[:4096])
    return meta.group(1).decode("ascii") if meta else None


def article_from_html(
    html: str,
    *,
    url: str | None = None,
    document_id: str | None = None,
    source: str | None = None,
) -> ParsedItem:
    """The article of one web page; :class:`InvalidInput` if the page holds no article text.

    The caller's ``url`` and ``source`` win over the page's canonical url and site name."""
    import trafilatura

    check_size(html, "html")
    if not html.strip():
        raise InvalidInput("html: the page is empty", field="html")
    tree = trafilatura.load_html(html)
    if tree is None:
        raise InvalidInput("html: not an HTML page", field="html")
    language = tree.get("lang")
    try:
        found: Any = trafilatura.bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=FAVOR_PRECISION,
            date_extraction_params=_DATE_PARAMS,
            fast=True,  # no fallback to the whole page: a menu is no article
        )
    except (ValueError, TypeError) as exc:  # trafilatura's own parsing errors
        log.info("trafilatura could not read a page: %s", exc)
        found = None
    text = _paragraphs(getattr(found, "text", None) or "")
    if not text:
        raise InvalidInput("html: no article text found in the page", field="html")
    metadata: dict[str, MetadataValue] = {}
    if author := getattr(found, "author", None):
        metadata["author"] = str(author)
    language = language or getattr(found, "language", None)
    if language:
        metadata["language"] = str(language)
    return ParsedItem(
        Article(
            text=text,
            title=clip_title(str(getattr(found, "title", None) or "") or title_from_text(text)),
            document_id=document_id,
            url=url or getattr(found, "url", None) or None,
            source=source or getattr(found, "sitename", None) or None,
            published_at=_published(getattr(found, "date", None)),
            metadata=metadata,
        )
    )


def _paragraphs(text: str) -> str:
    """trafilatura's lines (one per paragraph), white space folded, joined by a blank line;
    teasers for other stories set inside the article ("Read more: …") are dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line and not _TEASER.match(line))


def _published(value: object) -> str | None:
    """The page's date as ISO 8601; a date the page got wrong is dropped, not an error."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = f"{value[:-2]}:{value[-2:]}"  # +0200 -> +02:00
    if value.endswith("T00:00:00"):  # htmldate's way of saying "a date, no time"
        value = value[:10]
    try:
        return parse_published(value)
    except InvalidInput:
        return None
