"""The corpus index kept on disk between runs, so a restart does not read the whole archive.

What is kept is what the index holds in memory: its snapshot (segments, vocabulary, and the
vectors when dense search runs in process), for every document the write it indexed and its
source, and when the index last read the store's change log. On start the index loads that and
*catches up* as it does after another replica's writes: from the change log, only the records
and chunk rows of documents written, replaced or deleted since are read (every record, if the
file is older than the log keeps).

The file is this process's cache of a store, never a source of truth. It names the store it was
made from (its collections' ids, which a recreated collection does not keep) and the code that
made it (a hash of the modules that tokenize and lay out the index: another version's file is
not read as this one's). A file of another store or code, or one that cannot be read, is ignored
and the index is built from the store. It lives in the data folder, which holds the embedded
store too, and it is trusted like it (pickle). Written to a temporary file and renamed, so a
crash mid-write leaves the previous file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from newsrag.retrieval.filters import Filters
from newsrag.retrieval.snapshot import IndexSnapshot

log = logging.getLogger(__name__)
# what a saved index depends on: how text becomes terms and words, and how the index lays them out
_MODULES = (
    "newsrag.text.sentences",
    "newsrag.retrieval.segments",
    "newsrag.retrieval.snapshot",
    "newsrag.retrieval.updates",
    __name__,
)


@dataclass(frozen=True, slots=True)
class SavedIndex:
    code: str  # ``code_version()`` of the process that wrote it
    store: str  # the store it indexes (``ChromaStore.identity``)
    snapshot: IndexSnapshot
    documents: dict[str, str]  # document → the write indexed
    sources: dict[str, str]  # document → its source (outlet)
    looked_at: float | None  # when the index last read the store's change log (its clock)


@lru_cache(maxsize=1)
def code_version() -> str:
    """The index code's own, with what else decides the terms: the stemmer, Unicode, Python."""
    from importlib.metadata import version

    digest = hashlib.sha256(
        f"{version('PyStemmer')}|{unicodedata.unidata_version}|{sys.version}".encode()
    )
    for name in _MODULES:
        source = sys.modules[name].__file__
        digest.update(Path(source).read_bytes() if source else name.encode())
    return digest.hexdigest()[:16]


def save(
    path: Path,
    store: str,
    snapshot: IndexSnapshot,
    documents: dict[str, str],
    *,
    sources: dict[str, str],
    looked_at: float | None,
) -> int:
    """Write the index to ``path`` atomically; its size in bytes. ``snapshot`` must not change
    meanwhile (its vocabulary a copy: the index adds to its own under its lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = SavedIndex(code_version(), store, snapshot, documents, sources, looked_at)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(saved, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size


def load(path: Path, store: str) -> SavedIndex | None:
    """The index saved at ``path`` for ``store`` by this code; None when there is none."""
    try:
        with path.open("rb") as source:
            saved = pickle.load(source)  # the data folder's own file (see above)
        if not isinstance(saved, SavedIndex):
            raise TypeError(f"not a saved index: {type(saved).__name__}")
        if saved.code != code_version() or saved.store != store:
            log.info("corpus index: %s is of another store or version; reading the store", path)
            return None
        # a file that unpickles but does not work is found here, not in a question
        saved.snapshot.search(("news",), 1, Filters())
        saved.snapshot.correct_spelling("newz")
    except FileNotFoundError:
        return None
    except Exception as exc:  # a torn or foreign file: the store is read instead
        log.warning("corpus index: %s cannot be used (%s); reading the store", path, exc)
        return None
    return saved
