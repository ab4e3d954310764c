"""Wire copies: the same story syndicated by several outlets, found by MinHash over the text.

A document's signature is a MinHash (datasketch) of its word 5-shingles; two documents are copies
when the estimated Jaccard similarity of their shingles reaches the configured threshold
(calibrated with ``python -m eval.calibrate_wire``). Candidates are found in the store itself by
locality-sensitive hashing: the signature is cut into bands, each band's hash is a metadata field
of the document record, and a document sharing any band with the new one is a candidate. Every
replica therefore sees the same groups without an index of its own.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata

import numpy as np

NUM_PERM = 128
# 64 bands of 2 rows: a pair at Jaccard 0.25 shares a band with probability 0.98, one at 0.01
# (unrelated stories) with probability 0.006, so few records are fetched to compare.
BANDS = 64
ROWS = NUM_PERM // BANDS
SHINGLE_WORDS = 5
# Briefs shorter than this share too much boilerplate to call copies ("The council met on ...");
# they are never grouped.
MIN_WORDS = 60
SEED = 20170414
_WORD = re.compile(r"\w+", re.UNICODE)

Signature = np.ndarray


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(words) <= SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def signature(text: str) -> Signature | None:
    """The MinHash of the text's shingles; None for a text too short to compare."""
    from datasketch import MinHash

    if len(_WORD.findall(text)) < MIN_WORDS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(list(_shingles(text)))
    return np.asarray(minhash.hashvalues, dtype=np.uint64)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(np.mean(a == b))


def band_keys(sig: Signature) -> list[str]:
    return [
        hashlib.blake2b(sig[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8).hexdigest()
        for band in range(BANDS)
    ]


def band_field(band: int) -> str:
    return f"lsh_{band:02d}"


def encode(sig: Signature) -> str:
    return base64.b64encode(sig.astype("<u8").tobytes()).decode("ascii")


def decode(value: str) -> Signature | None:
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, UnicodeError):
        return None
    if len(raw) != NUM_PERM * 8:
        return None
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)
