"""Opening the store: the Chroma client, the collections, and the stamp that must match.

The chunks collection carries a stamp: the embedder's name and dimension, and the layout of the
collections. A store written by another embedder or another layout is refused at open with one
line saying what to do, instead of serving vectors that do not compare.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from newsrag.errors import EmbedderMismatch, NewsragError, StoreUnavailable

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from newsrag.config import ChromaSettings

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
# The layout of the collections: a store written under another layout is refused at open.
LAYOUT = 3


def store_call(func: Callable[P, R]) -> Callable[P, R]:
    """Turn any failure of Chroma (down, restarting, timing out) into a 503 problem."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except NewsragError:
            raise
        except Exception as exc:
            log.warning("vector store call %s failed: %s", func.__name__, exc)
            raise StoreUnavailable(f"the vector store did not answer: {exc}") from exc

    return wrapper


@dataclass(frozen=True, slots=True)
class Collections:
    """The collections of one store, all named ``<prefix>_…``."""

    chunks: Collection
    sentences: Collection  # ``<prefix>_sentence_packs``
    documents: Collection
    versions: Collection
    ledger: Collection  # ``<prefix>_writes``
    changes: Collection  # ``<prefix>_changes``


def connect_client(settings: ChromaSettings, data_dir: Path) -> ClientAPI:
    """A client of the Chroma server named by ``settings``, else of the embedded store in
    ``data_dir``."""
    import chromadb
    from chromadb.config import Settings as ClientSettings

    chroma_settings = ClientSettings(anonymized_telemetry=False)
    try:
        if settings.host:
            return chromadb.HttpClient(
                host=settings.host, port=settings.port, ssl=settings.ssl, settings=chroma_settings
            )
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=chroma_settings)
    except Exception as exc:
        where = f"{settings.host}:{settings.port}" if settings.host else str(data_dir)
        raise StoreUnavailable(f"cannot open the Chroma store at {where}: {exc}") from exc


@store_call
def open_collections(
    client: ClientAPI, prefix: str, embedder_name: str, dimension: int
) -> Collections:
    """Open (or create) the collections; raise :class:`EmbedderMismatch` when the stamp on the
    chunks collection is not this embedder's and this layout's."""
    stamp = {"embedder": embedder_name, "dimension": dimension, "layout": LAYOUT}
    # One insertion thread and a wide search beam: the HNSW graph then does not depend on
    # thread scheduling, and on a busy machine the same question retrieves the same chunks.
    searched: Any = {"hnsw": {"space": "cosine", "ef_search": 200, "num_threads": 1}}
    chunks = client.get_or_create_collection(
        f"{prefix}_chunks", embedding_function=None, configuration=searched, metadata=stamp
    )
    found = chunks.metadata or {}
    if found.get("embedder") != embedder_name or found.get("dimension") != dimension:
        raise EmbedderMismatch(
            f"the store was built with the embedder {found.get('embedder')!r} "
            f"(dimension {found.get('dimension')}) but this process uses "
            f"{embedder_name!r} (dimension {dimension}); re-index into a new "
            "NEWSRAG_DATA_DIR (or NEWSRAG_CHROMA_COLLECTION_PREFIX) or switch "
            "NEWSRAG_EMBEDDINGS back"
        )
    if found.get("layout") != LAYOUT:
        raise EmbedderMismatch(
            f"the store was written by another version of newsrag (layout "
            f"{found.get('layout', 1)}, this one reads layout {LAYOUT}); re-index into a new "
            "NEWSRAG_DATA_DIR (or NEWSRAG_CHROMA_COLLECTION_PREFIX)"
        )

    def plain(name: str) -> Collection:
        return client.get_or_create_collection(f"{prefix}_{name}", embedding_function=None)

    return Collections(
        chunks=chunks,
        sentences=plain("sentence_packs"),
        documents=plain("documents"),
        versions=plain("versions"),
        ledger=plain("writes"),
        changes=plain("changes"),
    )


@store_call
def generation(client: ClientAPI, prefix: str) -> str:
    """The token every write replaces, read fresh from the server (not from a cached handle,
    whose metadata would be stale)."""
    collection = client.get_collection(f"{prefix}_documents", embedding_function=None)
    return str((collection.metadata or {}).get("generation", "0"))
