"""IPTC NewsML-G2 ``newsItem``s (XML) read into articles, with defusedxml only.

An entity declaration (the "billion laughs") or a reference to an external entity or DTD is
refused before anything is expanded or fetched. The body is ``contentSet/inlineXML`` (XHTML or
NITF: the text of each paragraph-level element, inline markup kept in its sentence, paragraphs
joined by a blank line) or ``contentSet/inlineData`` (plain text, kept as is).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.ids import id_from_uri
from newsrag.ingest.formats.item import ParsedItem
from newsrag.ingest.formats.limits import check_size
from newsrag.models import Article, MetadataValue
from newsrag.text.dates import parse_published
from newsrag.text.titles import clip_title, title_from_text

FIELD = "newsml"
NAMESPACE = "http://iptc.org/std/nar/2006-10-01/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Elements whose text is one paragraph of the stored text (by local name, XHTML or NITF).
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "hl1", "hl2", "li", "pre", "blockquote", "dd", "dt"}
)
_SKIPPED = frozenset({"script", "style", "head", "title"})


def parse_xml(xml: str | bytes, field: str = FIELD) -> Element:
    """The root element; :class:`InvalidInput` for malformed XML, entities or external refs."""
    check_size(xml, field)
    try:
        root: Element = fromstring(
            xml, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise InvalidInput(
            f"{field}: refused: the XML declares entities or refers to external resources "
            f"({type(exc).__name__})",
            field=field,
        ) from None
    except ParseError as exc:
        raise InvalidInput(f"{field}: malformed XML ({exc})", field=field) from None
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise InvalidInput(f"{field}: unreadable XML ({exc})", field=field) from None
    return root


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Element, name: str) -> Iterator[Element]:
    return (child for child in element if _local(child.tag) == name)


def _child(element: Element | None, name: str) -> Element | None:
    return next(_children(element, name), None) if element is not None else None


def _text(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def news_items(root: Element) -> list[Element]:
    """The ``newsItem``s of a document: the root itself, or those inside it (a newsMessage)."""
    if _local(root.tag) == "newsItem":
        return [root]
    return [element for element in root.iter() if _local(element.tag) == "newsItem"]


def items_from_newsml(xml: str | bytes, *, document_id: str | None = None) -> list[ParsedItem]:
    """Every ``newsItem`` of a NewsML-G2 document, in order (``document_id``: for the first)."""
    items = news_items(parse_xml(xml))
    if not items:
        raise InvalidInput(f"{FIELD}: no NewsML-G2 newsItem in the document", field=FIELD)
    return [
        item_from_element(element, document_id=document_id if i == 0 else None)
        for i, element in enumerate(items)
    ]


def item_from_newsml(xml: str | bytes, *, document_id: str | None = None) -> ParsedItem:
    """The first ``newsItem`` of a NewsML-G2 document."""
    return items_from_newsml(xml, document_id=document_id)[0]


def item_from_element(item: Element, *, document_id: str | None = None) -> ParsedItem:
    """One parsed ``newsItem`` element."""
    guid = (item.get("guid") or "").strip()
    item_meta = _child(item, "itemMeta")
    content_meta = _child(item, "contentMeta")
    status = _child(item_meta, "pubStatus")
    withdrawn = status is not None and _qcode(status) in {"stat:canceled", "stat:cancelled"}
    signals = (
        {_qcode(s) for s in _children(item_meta, "signal")} if item_meta is not None else set()
    )
    headline = _text(_child(content_meta, "headline"))
    body = _body(_child(item, "contentSet"))
    if not body and not withdrawn:
        raise InvalidInput(
            f"{FIELD}: no body (contentSet/inlineXML or inlineData) in newsItem "
            f"{guid or '(no guid)'}",
            field=FIELD,
        )
    text = f"{headline}\n\n{body}" if headline and body and not body.startswith(headline) else body
    if document_id is None and guid:
        document_id = id_from_uri(guid)
    if document_id is None and not text:
        raise InvalidInput(f"{FIELD}: a canceled newsItem needs a guid", field=FIELD)
    metadata = _metadata(item, item_meta, content_meta, signals)
    first = _date(item_meta, "firstCreated")
    return ParsedItem(
        Article(
            text=text,
            title=clip_title(headline or title_from_text(text)),
            document_id=document_id,
            url=guid if guid.startswith(("http://", "https://")) else None,
            published_at=first or _date(item_meta, "versionCreated"),
            metadata=metadata,
        ),
        withdrawn=withdrawn,
        correction="sig:correction" in signals,
    )


def _qcode(element: Element) -> str:
    return (element.get("qcode") or "").strip().lower()


def _date(meta: Element | None, name: str) -> str | None:
    value = _text(_child(meta, name))
    return parse_published(value, f"{FIELD}.{name}") if value else None


def _body(content_set: Element | None) -> str:
    if content_set is None:
        return ""
    for inline in _children(content_set, "inlineXML"):
        if text := _paragraphs(inline):
            return text
    for inline in _children(content_set, "inlineData"):
        if text := (inline.text or "").strip():
            return text
    return ""


def _paragraphs(element: Element) -> str:
    """The text of each innermost paragraph-level element, joined by a blank line."""
    found: list[str] = []
    for node in element.iter():
        name = _local(node.tag)
        if name not in _PARAGRAPHS or _has_paragraph(node):
            continue
        if text := _text(node):
            found.append(text)
    if not found:  # a body of bare text
        found = [
            " ".join(part.split())
            for node in element.iter()
            if _local(node.tag) not in _SKIPPED
            for part in (node.text, node.tail)
            if part and part.strip()
        ]
    return "\n\n".join(found)


def _has_paragraph(node: Element) -> bool:
    return any(_local(child.tag) in _PARAGRAPHS for child in node.iter() if child is not node)


def _names(meta: Element | None, name: str) -> str:
    if meta is None:
        return ""
    names: list[str] = []
    for concept in _children(meta, name):
        label = _text(_child(concept, "name")) or (concept.get("literal") or "").strip()
        if label and label not in names:
            names.append(label)
    return "; ".join(names)


def _metadata(
    item: Element, item_meta: Element | None, content_meta: Element | None, signals: set[str]
) -> dict[str, MetadataValue]:
    metadata: dict[str, MetadataValue] = {}
    if author := _text(_child(content_meta, "by")):
        metadata["author"] = author
    if located := _names(content_meta, "located"):
        metadata["located"] = located
    if subjects := _names(content_meta, "subject"):
        metadata["subjects"] = subjects
    if genres := _names(content_meta, "genre"):
        metadata["genres"] = genres
    if versioncreated := _date(item_meta, "versionCreated"):
        metadata["versioncreated"] = versioncreated
    if "sig:correction" in signals:
        metadata["signal"] = "correction"
    language = _child(content_meta, "language")
    if lang := (language.get("tag") if language is not None else None) or item.get(_XML_LANG):
        metadata["language"] = lang
    if guid := (item.get("guid") or "").strip():
        metadata["guid"] = guid
    if version := (item.get("version") or "").strip():
        metadata["item_version"] = version  # the sender's count, not newsrag's versions
    return metadata
