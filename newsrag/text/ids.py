"""Stable identifiers: the same text gives the same ids on every machine."""

from __future__ import annotations

import hashlib
import re

# The one document-id rule, shared by the API (newsrag.schemas, the document routes), the ingest
# pipeline and the file loaders.
MAX_DOCUMENT_ID_CHARS = 200
DOCUMENT_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{{0,{MAX_DOCUMENT_ID_CHARS - 1}}}$"
DOCUMENT_ID_RULE = (
    f"1-{MAX_DOCUMENT_ID_CHARS} characters of letters, digits and ._:/@+=- (no spaces), "
    "starting with a letter or digit, with no /versions segment"
)
_ID_PATTERN = re.compile(DOCUMENT_ID_PATTERN)
# GET /v1/documents/{id}/versions[/{n}] would route "a/versions" and "a/versions/1" there.
_VERSIONS_SEGMENT = re.compile(r"/versions(?:/|\Z)")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def derive_document_id(text: str) -> str:
    """An id for a document the caller did not name: identical text, identical id."""
    return "doc-" + text_hash(text)[:16]


def chunk_id(document_id: str, write: str, position: int) -> str:
    """Document id + the write that stored the chunk + position: no two writes share a chunk
    row (see newsrag.components.store.commit)."""
    return f"{document_id}#{write[:12]}-c{position:05d}"


def sentence_id(document_id: str, text_hash: str, index: int) -> str:
    """Document id + the text's hash + index: the same sentence of the same text, whichever
    write stored it."""
    return f"{document_id}#{text_hash[:12]}-s{index:05d}"


def sentence_pack_id(document_id: str, write: str) -> str:
    """The one row that holds every sentence a write stored (see newsrag.components.store)."""
    return f"{document_id}#{write[:12]}-sentences"


def is_valid_document_id(value: str) -> bool:
    """Ids are opaque strings (never paths): printable, no spaces, at most 200 characters, and
    reachable: no ``/versions`` segment (see :data:`DOCUMENT_ID_RULE`)."""
    return _ID_PATTERN.fullmatch(value) is not None and not _VERSIONS_SEGMENT.search(value)
