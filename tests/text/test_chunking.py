from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from newsrag.ingest.bundled import bundled_article
from newsrag.text.chunking import chunk_text, sentences_of
from newsrag.text.ids import (
    chunk_id,
    derive_document_id,
    is_valid_document_id,
    sentence_id,
    text_hash,
)

WRITE = "0123456789ab"
words = st.sampled_from(
    ["Kremlin", "said", "no", "reliable", "information.", "Chechnya", "“quote”", "100", "men,"]
)
separators = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  "])
texts = st.lists(st.tuples(words, separators), min_size=1, max_size=400).map(
    lambda pairs: "".join(word + sep for word, sep in pairs)
)


@settings(max_examples=60, deadline=None)
@given(texts, st.integers(min_value=32, max_value=96), st.integers(min_value=0, max_value=16))
def test_every_chunk_is_an_exact_span(text: str, size: int, overlap: int) -> None:
    sentences = sentences_of(text)
    chunks = chunk_text(text, "doc", WRITE, sentences, chunk_size=size, overlap=overlap)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        if sentences:
            assert 0 <= chunk.first_sentence <= chunk.last_sentence < len(sentences)
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_bundled_article_chunks_cover_the_whole_text() -> None:
    article = bundled_article()
    sentences = sentences_of(article.text)
    chunks = chunk_text(article.text, "a", WRITE, sentences, chunk_size=256, overlap=32)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(article.text.rstrip())
    for before, after in itertools.pairwise(chunks):
        assert after.start <= before.end + 2  # contiguous or overlapping: nothing skipped


def test_ids_are_stable_and_name_their_write() -> None:
    # sha256 of the UTF-8 text, so the same on every machine (printf 'same text' | sha256sum)
    assert derive_document_id("same text") == "doc-2e68a7bba11b90d1"
    assert derive_document_id("other text") == "doc-ed886d735b3ed7db"
    assert chunk_id("d", "0123456789abcdef", 0) == "d#0123456789ab-c00000"
    assert sentence_id("d", text_hash("v1"), 0) == "d#3bfc269594ef-s00000"
    assert sentence_id("d", text_hash("v2"), 0) == "d#fb04dcb6970e-s00000"
    assert is_valid_document_id("pinknews/2017-04-chechnya")
    assert not is_valid_document_id("has space")
    assert not is_valid_document_id("../../etc/passwd")
