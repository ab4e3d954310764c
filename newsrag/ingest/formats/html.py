"""Article web pages read with trafilatura: the story's text without the page around it.

trafilatura keeps inline markup (links, emphasis) inside its sentence and drops menus, related
links, cookie banners, share buttons and footers; htmldate reads the publication date, including
``article:published_time``. Paragraphs are joined by a blank line; the text returned is what is
stored and cited, byte for byte.
"""

from __future__ import annotations

import codecs
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
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# the encodings of the WHATWG Encoding standard, by their Python codec names
_WEB_ENCODINGS = frozenset(
    {"utf-8", "cp866", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "cp874", "gbk"}
    | {"gb18030", "big5", "euc_jp", "iso2022_jp", "shift_jis", "euc_kr"}
    | {f"cp125{n}" for n in range(9)}
    | {f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)}
)
# labels the web reads as another encoding than Python does
_AS_WEB = {
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "gb2312": "gbk",
}
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,  # the publication date, not the last modification
    "extensive_search": False,  # no guessing from free text or urls
}


def decode_page(data: bytes, content_type: str = "") -> str:
    """A page's bytes as text, as a browser reads them: a byte-order mark first; else UTF-8 when
    the bytes are UTF-8 (strictly, or but for a few stray bytes, which become U+FFFD as in a
    browser); else the charset the ``Content-Type`` or a ``<meta>`` declares, read by its web
    meaning (``iso-8859-1`` and ``ascii`` are windows-1252, a declared UTF-16 is UTF-8, names
    no browser knows are ignored); else windows-1252 (what browsers assume of an undeclared
    Western page; many news sites still serve it unsaid, and charset detection takes a short
    English page in it for cp1250); else what charset-normalizer finds. :class:`InvalidInput`
    when nothing decodes it."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_charset(data, content_type)
    lenient = data.decode("utf-8", "replace")
    stray = lenient.count("\ufffd")
    decoded = sum(ord(c) > 127 for c in lenient) - stray  # characters of several bytes
    if decoded >= 3 * stray or (declared == "utf-8" and decoded > 0):
        return lenient  # UTF-8 but for a few stray bytes
    for encoding in [*([declared] if declared else []), "cp1252"]:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from trafilatura.utils import detect_encoding

    for encoding in detect_encoding(data):
        if (known := _web_encoding(encoding)) is None:
            continue
        try:
            return data.decode(known)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("html: the page is not text in any encoding found", field="html")


def _declared_charset(data: bytes, content_type: str) -> str | None:
    found = _CHARSET.search(content_type)
    meta = None if found else _META_CHARSET.search(data[:4096])
    label = found.group(1) if found else meta.group(1).decode("ascii") if meta else None
    return _web_encoding(label) if label else None


def _web_encoding(label: str) -> str | None:
    """The Python codec of an encoding label as the web reads it (WHATWG Encoding), or None
    for a label no browser knows (``unicode_escape`` is a Python codec, not a web encoding)."""
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a page that says so in ASCII bytes is not UTF-16
    name = _AS_WEB.get(name, name)
    return name if name in _WEB_ENCODINGS else None


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
