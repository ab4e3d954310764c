"""The corpus index kept on disk between runs, so a restart does not read the whole archive.

What is kept is what the index holds in memory: its snapshot (segments, vocabulary, and the
vectors when dense search runs in process) and, for every document, the write it indexed. On
start the index loads that and *catches up* from the document records as it does after another
replica's writes: only the chunk rows of documents written, replaced or deleted since are read.

The file is this process's cache of a store, never a source of truth: it names the store it was
made from (its collections' ids, which a recreated collection does not keep) and its format; a
file of another store or format, or one that cannot be read, is ignored and the index is built
from the store. It lives in the data folder, which holds the embedded store too, and it is
trusted like it (pickle). Written to a temporary file and renamed, so a crash mid-write leaves
the previous file.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from newsrag.retrieval.snapshot import IndexSnapshot

log = logging.getLogger(__name__)
FORMAT = 1


@dataclass(frozen=True, slots=True)
class SavedIndex:
    format: int
    store: str  # the store it indexes (``ChromaStore.identity``)
    snapshot: IndexSnapshot
    documents: dict[str, str]  # document → the write indexed


def dumps(store: str, snapshot: IndexSnapshot, documents: dict[str, str]) -> bytes:
    """The index as bytes (under the index's lock: the vocabulary grows with its writes)."""
    saved = SavedIndex(FORMAT, store, snapshot, documents)
    return pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL)


def write(path: Path, data: bytes) -> None:
    """Write ``dumps``'s bytes to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path, store: str) -> SavedIndex | None:
    """The index saved at ``path`` for ``store``; None when there is none that fits."""
    try:
        with path.open("rb") as source:
            saved = pickle.load(source)  # the data folder's own file (see above)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a torn or foreign file: the store is read instead
        log.warning("corpus index: %s cannot be read (%s); building from the store", path, exc)
        return None
    if not isinstance(saved, SavedIndex) or saved.format != FORMAT or saved.store != store:
        log.info("corpus index: %s is of another store or format; building from the store", path)
        return None
    return saved
