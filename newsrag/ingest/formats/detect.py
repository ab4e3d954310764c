"""Which newsroom format a file holds, told by its content (not its name), and its items."""

from __future__ import annotations

import json
import re
from typing import Any

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.html import article_from_html, decode_page
from newsrag.ingest.formats.item import ParsedItem
from newsrag.ingest.formats.limits import check_size
from newsrag.ingest.formats.newsml import items_from_newsml
from newsrag.ingest.formats.ninjs import is_ninjs, item_from_ninjs

_PROLOGUE = rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
_XML_START = re.compile(_PROLOGUE + rb"<(?!!doctype\s+html|html)", re.I | re.S)
_HTML_START = re.compile(
    _PROLOGUE + rb"<(?:!doctype\s+html|html|head|body|article|p|div)\b", re.I | re.S
)
TOO_DEEP = "JSON nested too deeply to read"
_NEWSML = re.compile(rb"<(?:[\w.-]+:)?(?:newsItem|newsMessage)\b")


def kind_of(data: str | bytes) -> str:
    """``"ninjs"``, ``"newsml"``, ``"html"``, ``"json"`` (other JSON) or ``"text"``;
    :class:`InvalidInput` for JSON nested too deeply to parse."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    head = raw[:4096].lstrip(b"\xef\xbb\xbf")
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "json"
        except RecursionError:
            raise InvalidInput(TOO_DEEP) from None
        items = parsed if isinstance(parsed, list) else [parsed]
        return "ninjs" if items and all(is_ninjs(item) for item in items) else "json"
    if _HTML_START.match(head):
        return "html"
    if _XML_START.match(head) and _NEWSML.search(raw[:65536]):
        return "newsml"
    return "text"


def read_item(data: str | bytes, *, name: str, content_type: str = "") -> list[ParsedItem]:
    """The items of one file's content: an HTML page, ninjs (an object or a list of them) or a
    NewsML-G2 document. :class:`InvalidInput` names ``name`` and the reason otherwise.
    ``content_type``: the HTTP header a fetched page came with (its charset)."""
    try:
        check_size(data, "file")
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.detail.removeprefix('file: ')}") from None
    try:
        kind = kind_of(data)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.detail}") from None
    try:
        if kind == "ninjs":
            parsed: Any = json.loads(data)
            objects = parsed if isinstance(parsed, list) else [parsed]
            return [item_from_ninjs(obj) for obj in objects]
        if kind == "newsml":
            return items_from_newsml(data)
        if kind == "html":
            text = decode_page(data, content_type) if isinstance(data, bytes) else data
            return [article_from_html(text)]
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.detail}", **exc.extra) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: not UTF-8 text ({exc.reason})") from None
    except RecursionError:
        raise InvalidInput(f"{name}: {TOO_DEEP}") from None
    raise InvalidInput(f"{name}: not an HTML page, ninjs JSON or NewsML-G2 XML")
