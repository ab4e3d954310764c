"""Readable, stable document ids from the uris, guids and urls that newsroom sources give."""

from __future__ import annotations

import hashlib
import re

from newsrag.text.ids import MAX_DOCUMENT_ID_CHARS, is_valid_document_id

_SCHEMES = re.compile(r"^(?:urn:(?:newsml:|tag:)?|tag:|https?://|ftp://)", re.IGNORECASE)
_WWW = re.compile(r"^www\.", re.IGNORECASE)
_UNSAFE = re.compile(r"[^a-z0-9._]+")
_HASH_CHARS = 10


def id_from_uri(uri: str) -> str:
    """A document id for ``uri``: its scheme dropped, every run of other characters one dash.

    ``urn:newsml:example.com:20231001:abc123`` → ``example.com-20231001-abc123``;
    ``https://news.example.com/2023/10/story-slug`` → ``news.example.com-2023-10-story-slug``.
    The same uri always gives the same id; one too long is clipped and ends with a short hash
    of the whole uri, so that two long uris sharing a prefix stay apart.
    """
    original = uri.strip()
    rest = _WWW.sub("", _SCHEMES.sub("", original))
    slug = _UNSAFE.sub("-", rest.lower()).strip("-._")
    digest = hashlib.sha256(original.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    if not slug:
        return f"item-{digest}"
    if len(slug) > MAX_DOCUMENT_ID_CHARS or not is_valid_document_id(slug):
        keep = MAX_DOCUMENT_ID_CHARS - _HASH_CHARS - 1
        slug = f"{slug[:keep].rstrip('-._')}-{digest}"
    return slug
