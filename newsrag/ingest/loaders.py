"""Read articles from files: .txt, .md, .html, .xml (NewsML-G2), .json (records or ninjs) and
.jsonl."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.detect import TOO_DEEP, kind_of, read_item
from newsrag.ingest.formats.html import article_from_html
from newsrag.ingest.formats.item import ParsedItem
from newsrag.models import Article, MetadataValue
from newsrag.text.dates import parse_published
from newsrag.text.ids import MAX_DOCUMENT_ID_CHARS
from newsrag.text.titles import title_from_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
XML_SUFFIXES = {".xml"}
JSON_SUFFIXES = {".json", ".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | XML_SUFFIXES | JSON_SUFFIXES
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Supported files among ``paths``, folders walked recursively, in a stable order."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child
        else:
            yield path


def _slug(path: Path) -> str:
    slug = _SLUG.sub("-", path.stem).strip("-._")
    return slug[:MAX_DOCUMENT_ID_CHARS] or "document"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason})") from None


def load_text(path: Path) -> Article:
    """A plain-text or Markdown article: the title is its first line, the text is kept exactly."""
    text = _read_text(path)
    return Article(text=text, title=title_from_text(text), document_id=_slug(path))


def article_from_record(record: Any, label: str) -> Article:
    """An article from a JSON object with text, title, url, source, published_at, document_id."""
    if not isinstance(record, dict):
        raise InvalidInput(f"{label}: expected a JSON object")
    text = record.get("text")
    if not isinstance(text, str):
        raise InvalidInput(f"{label}: field 'text' must be a string")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str | int | float | bool) for value in metadata.values()
    ):
        raise InvalidInput(f"{label}: field 'metadata' must be flat string/number/bool values")
    clean_metadata: dict[str, MetadataValue] = {str(k): v for k, v in metadata.items()}

    def optional(name: str) -> str | None:
        value = record.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise InvalidInput(f"{label}: field {name!r} must be a string")
        return value

    return Article(
        text=text,
        title=optional("title") or title_from_text(text),
        document_id=optional("document_id") or optional("id"),
        url=optional("url"),
        source=optional("source"),
        published_at=parse_published(optional("published_at"), f"{label}: published_at"),
        metadata=clean_metadata,
    )


def load_json(path: Path) -> list[Article]:
    raw = _read_text(path)
    if path.suffix.lower() == ".jsonl":
        records = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    records.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"{path}:{number}: invalid JSON ({exc.msg})") from None
                except RecursionError:
                    raise InvalidInput(f"{path}:{number}: {TOO_DEEP}") from None
    else:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
        except RecursionError:
            raise InvalidInput(f"{path}: {TOO_DEEP}") from None
        items = data if isinstance(data, list) else [data]
        records = [
            (f"{path}[{i}]" if isinstance(data, list) else str(path), r)
            for i, r in enumerate(items)
        ]
    return [article_from_record(record, label) for label, record in records]


def count_articles(path: Path) -> int:
    """How many articles ``path`` holds, cheaply and before it is read (for a progress bar's
    total): a .jsonl file's non-blank lines, else 1 (a .json array counts when it is read)."""
    if path.suffix.lower() != ".jsonl":
        return 1
    try:
        with path.open("rb") as lines:
            return sum(1 for line in lines if line.strip())
    except OSError:
        return 1


def load_path(path: Path) -> list[Article]:
    """The articles in one file; raise :class:`InvalidInput` with the reason when unreadable.
    (A withdrawn item's article is among them: :func:`load_items` tells which.)"""
    return [item.article for item in load_items(path)]


def load_items(path: Path) -> list[ParsedItem]:
    """The items in one file: pages, ninjs and NewsML-G2 are told by their content (a
    withdrawal or correction is marked on its item); text and JSON records by the suffix."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or folder")
    if suffix in TEXT_SUFFIXES:
        return [ParsedItem(load_text(path))]
    if suffix in HTML_SUFFIXES | XML_SUFFIXES | {".json"}:
        data = path.read_bytes()
        # a file of article records is parsed once, by load_json: only one naming a uri early
        # may be ninjs
        maybe_ninjs = suffix != ".json" or b'"uri"' in data[:8192]
        try:
            kind = kind_of(data) if maybe_ninjs else "json"
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc.detail}") from None
        if kind in {"ninjs", "newsml"} or (kind == "html" and suffix in XML_SUFFIXES):
            return read_item(data, name=str(path))
        if suffix in HTML_SUFFIXES:  # a page, even one that starts with no <html> tag
            try:
                return [article_from_html(_read_text(path), document_id=_slug(path))]
            except InvalidInput as exc:
                raise InvalidInput(f"{path}: {exc.detail.removeprefix('html: ')}") from None
        if suffix in XML_SUFFIXES:
            return read_item(data, name=str(path))
    if suffix in JSON_SUFFIXES:
        return [ParsedItem(article) for article in load_json(path)]
    raise InvalidInput(
        f"{path}: unsupported file type (use .txt, .md, .html, .xml, .json or .jsonl)"
    )
