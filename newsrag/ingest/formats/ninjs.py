"""IPTC ninjs 2.x and 3.x items (JSON) read into articles.

2.x has ``headline``, ``body_text``/``body_html``, ``subject`` and ``genre``; 3.x has
``headlines[]``, ``bodies[]``, ``subjects``, ``genres`` and ``people``. Both have ``uri``,
``versioncreated``, ``firstcreated``, ``pubstatus``, ``by`` and ``located``. The stored text is the
headline, a blank line and the body, so that the headline is retrieved and cited like the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.html import article_from_html
from newsrag.ingest.formats.ids import id_from_uri
from newsrag.ingest.formats.item import ParsedItem
from newsrag.ingest.formats.limits import check_size
from newsrag.models import Article, MetadataValue
from newsrag.text.dates import parse_published
from newsrag.text.titles import clip_title, title_from_text

FIELD = "ninjs"
# Fields of which an object needs one, besides "uri", to be taken for ninjs.
NINJS_FIELDS = frozenset(
    {
        "headline",
        "headlines",
        "body_text",
        "body_html",
        "bodies",
        "versioncreated",
        "firstcreated",
        "pubstatus",
    }
)


def is_ninjs(obj: object) -> bool:
    """Whether ``obj`` looks like a ninjs item: an object with ``uri`` and a ninjs field."""
    return isinstance(obj, Mapping) and "uri" in obj and not NINJS_FIELDS.isdisjoint(obj)


def item_from_ninjs(obj: Mapping[str, Any], *, document_id: str | None = None) -> ParsedItem:
    """One ninjs item; :class:`InvalidInput` naming what is missing or malformed."""
    if not isinstance(obj, Mapping):
        raise InvalidInput(f"{FIELD}: expected a JSON object", field=FIELD)
    try:
        check_size(json.dumps(obj, ensure_ascii=False), FIELD)  # also: valid Unicode only
    except (TypeError, ValueError):
        raise InvalidInput(f"{FIELD}: not a JSON object", field=FIELD) from None
    uri = _string(obj, "uri")
    withdrawn = str(obj.get("pubstatus", "")).strip().lower() in {"canceled", "cancelled"}
    headline = _headline(obj)
    body = _body(obj)
    if not body and not withdrawn:
        raise InvalidInput(
            f"{FIELD}: no body (body_text, body_html or bodies[]) in item {uri or '(no uri)'}",
            field=FIELD,
        )
    text = f"{headline}\n\n{body}" if headline and body and not body.startswith(headline) else body
    if document_id is None and uri:
        document_id = id_from_uri(uri)
    if document_id is None and not text:
        raise InvalidInput(f"{FIELD}: a canceled item needs a uri to name the story", field=FIELD)
    metadata = _metadata(obj)
    published = _date(obj, "firstcreated") or _date(obj, "versioncreated")
    return ParsedItem(
        Article(
            text=text,
            title=clip_title(headline or title_from_text(text)),
            document_id=document_id,
            url=_url(obj, uri),
            source=_string(obj, "copyrightholder") or None,
            published_at=published,
            metadata=metadata,
        ),
        withdrawn=withdrawn,
    )


def _string(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{FIELD}: field {key!r} must be a string", field=FIELD)
    return value.strip()


def _headline(obj: Mapping[str, Any]) -> str:
    if headline := _string(obj, "headline"):
        return " ".join(headline.split())
    headlines = obj.get("headlines")
    if isinstance(headlines, list):
        for entry in headlines:
            value = entry.get("value") if isinstance(entry, Mapping) else None
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
    return ""


def _body(obj: Mapping[str, Any]) -> str:
    if text := _string(obj, "body_text"):
        return text
    if html := _string(obj, "body_html"):
        return _html_text(html)
    bodies = obj.get("bodies")
    if bodies is None:
        return ""
    if not isinstance(bodies, list):
        raise InvalidInput(f"{FIELD}: field 'bodies' must be a list", field=FIELD)
    typed = [
        (str(b.get("contenttype", "text/plain")).split(";")[0].strip().lower(), b.get("value"))
        for b in bodies
        if isinstance(b, Mapping) and isinstance(b.get("value"), str) and b["value"].strip()
    ]
    for kind, value in typed:
        if kind == "text/plain":
            return str(value).strip()
    for kind, value in typed:
        if kind in {"text/html", "application/xhtml+xml"}:
            return _html_text(str(value))
    return ""


def _html_text(fragment: str) -> str:
    try:
        page = f"<html><body><article>{fragment}</article></body></html>"
        return article_from_html(page).article.text
    except InvalidInput:
        return ""


def _date(obj: Mapping[str, Any], key: str) -> str | None:
    value = _string(obj, key)
    return parse_published(value, f"{FIELD}.{key}") if value else None


def _url(obj: Mapping[str, Any], uri: str) -> str | None:
    if uri.startswith(("http://", "https://")):
        return uri
    links = obj.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("rel") in {"canonical", "self", "alternate"}:
            href = link.get("href")
            if isinstance(href, str) and href.startswith(("http://", "https://")):
                return href
    return None


def _names(value: object) -> str:
    """The names of a list of ninjs concepts (``{"name": …}`` or plain strings), "; "-joined."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        return ""
    names: list[str] = []
    for entry in value:
        name = entry.get("name") if isinstance(entry, Mapping) else entry
        if isinstance(name, str) and name.strip() and name.strip() not in names:
            names.append(name.strip())
    return "; ".join(names)


def _metadata(obj: Mapping[str, Any]) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {}
    author = obj.get("by")
    if not isinstance(author, str) or not author.strip():
        people = obj.get("people")
        authors = (
            [p for p in people or [] if isinstance(p, Mapping) and p.get("rel") in {None, "author"}]
            if isinstance(people, list)
            else []
        )
        author = _names(authors)
    if author and author.strip():
        metadata["author"] = author.strip()
    located = obj.get("located")
    if located_name := _names(located):
        metadata["located"] = located_name
    for key, names in (
        ("subjects", obj.get("subjects", obj.get("subject"))),
        ("genres", obj.get("genres", obj.get("genre"))),
    ):
        if joined := _names(names):
            metadata[key] = joined
    if versioncreated := _date(obj, "versioncreated"):
        metadata["versioncreated"] = versioncreated
    for key, name in (("language", "language"), ("uri", "uri"), ("version", "item_version")):
        value = obj.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            metadata[name] = str(value).strip()
    return metadata
