"""The one document-id rule, as the CLI path (newsrag.ingest.pipeline) applies it."""

from __future__ import annotations

import pytest

from newsrag.text.ids import is_valid_document_id


@pytest.mark.parametrize(
    "document_id",
    ["bridge\n", "bridge\r\n", "a/versions", "a/versions/1", "a/b/versions/", "x/versions/abc"],
)
def test_rejected_ids(document_id: str) -> None:
    assert not is_valid_document_id(document_id)


@pytest.mark.parametrize(
    "document_id", ["bridge", "a/versions2", "a/my-versions/1", "versions/1", "a:b@c+d=e.f_g-h"]
)
def test_accepted_ids(document_id: str) -> None:
    assert is_valid_document_id(document_id)
