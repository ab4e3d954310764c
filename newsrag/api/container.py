"""The long-lived parts of a running service, built once by the app's lifespan.

The embedder loads at start-up (a model that fails to load stops start-up). The store connects at
start-up too, but when a Chroma *server* is down the service still starts, reports not ready, and
connects on the next request that needs it: recovery needs no restart. The corpus index is built
in the background from start-up on; the service reports ready once it is built.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsrag.answering.decision import ReaderDecision
from newsrag.answering.extractive import ExtractiveAnswerer
from newsrag.answering.service import AskService, GenerativeBackend
from newsrag.components.embeddings import Embedder, make_embedder
from newsrag.components.llm.client import LLMClient, make_llm
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import Settings
from newsrag.errors import StoreUnavailable
from newsrag.ingest.bundled import bundled_article
from newsrag.ingest.documents import DocumentsService
from newsrag.ingest.pipeline import Ingestor
from newsrag.ingest.sources.service import SourcesService
from newsrag.metrics import Metrics
from newsrag.retrieval.hybrid import HybridRetriever
from newsrag.retrieval.query_cache import CachedQueryEmbedder

if TYPE_CHECKING:
    from newsrag.answering.reader import LLMReader
    from newsrag.components.llm.server import LocalLLMServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    store: ChromaStore
    ingestor: Ingestor
    documents: DocumentsService
    retriever: HybridRetriever
    ask: AskService
    sources: SourcesService


class Container:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        llm: LLMClient | None = None,
        local_llm: LocalLLMServer | None = None,
    ) -> None:
        self.metrics = Metrics()
        self.local_llm = local_llm
        if local_llm is not None:  # a supervised llama.cpp server answers for the LLM settings
            from newsrag.components.llm.server import with_endpoint

            settings = settings.model_copy(update={"llm": with_endpoint(settings.llm, local_llm)})
            local_llm.on_restart = self.metrics.llm_restarts.inc
            self.metrics.llm_up.set_function(lambda: float(local_llm.state == "ready"))
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.llm = llm if llm is not None else make_llm(settings.llm)
        self._services: Services | None = None
        self._lock = threading.Lock()

    @property
    def services(self) -> Services:
        """The store-backed services, connecting to Chroma first if needed."""
        services = self._services
        if services is not None:
            return services
        with self._lock:
            if self._services is None:
                self._services = self._build()
            return self._services

    def _build(self) -> Services:
        settings = self.settings
        store = ChromaStore.connect(
            settings.chroma, settings.data_dir, self.embedder.name, self.embedder.dimension
        )
        ingestor = Ingestor(
            store, self.embedder, settings.chunk, settings.max_document_chars, settings.newsroom
        )
        kept = settings.data_dir / "index" / f"{settings.chroma.collection_prefix}.pickle"
        retriever = HybridRetriever(
            store,
            settings.retrieval,
            settings.newsroom,
            kept if settings.retrieval.keep_index else None,
        )
        extractive = ExtractiveAnswerer(
            store, retriever.index, settings.retrieval, settings.newsroom.latest_margin
        )
        decision = ReaderDecision(settings, extractive, self.metrics)  # one for both modes
        generative: GenerativeBackend | None = None
        reader: LLMReader | None = None
        if self.llm is not None:
            from newsrag.answering.generative import GenerativeAnswerer
            from newsrag.answering.reader import LLMReader

            reader = LLMReader(self.llm, extractive, settings.reading, settings.llm.context_tokens)
            generative = GenerativeAnswerer(
                self.llm,
                self.embedder,
                extractive,
                retriever.index,
                settings,
                self.metrics,
                reader,
                decision,
            )
        questions = CachedQueryEmbedder(
            self.embedder, settings.embedding.query_cache_size, self.metrics
        )
        ask = AskService(
            settings, questions, retriever, extractive, self.metrics, generative, reader, decision
        )
        self.metrics.track_store(store.counts)
        documents = DocumentsService(store, ingestor)
        sources = SourcesService(store.sources, ingestor, settings.sources, self.metrics)
        return Services(store, ingestor, documents, retriever, ask, sources)

    def try_connect(self) -> bool:
        try:
            _ = self.services
        except StoreUnavailable as exc:
            log.warning("vector store not reachable yet: %s", exc.detail)
            return False
        return True

    def bootstrap(self) -> None:
        """Ingest the bundled article into an empty store (unless NEWSRAG_BOOTSTRAP=false)."""
        if not self.settings.bootstrap:
            return
        services = self.services
        if services.store.counts()[0] == 0:
            result = services.ingestor.ingest(bundled_article())
            log.info("bootstrap: ingested the bundled article (%s chunks)", result.chunks)

    def start_index(self, wait_s: float = 0.0) -> None:
        """Start building the corpus index in the background (``/readyz`` reports ready once
        it is built) and wait up to ``wait_s`` for it."""
        building = self.services.retriever.index.start()
        with contextlib.suppress(Exception):  # a failure is what /readyz then reports
            building.result(timeout=wait_s)

    def save_index(self) -> None:
        """Keep the corpus index for the next start (see ``retrieval.persisted``)."""
        if self._services is None:
            return
        try:
            self._services.retriever.index.save()
        except Exception as exc:  # the next start builds it from the store
            log.warning("corpus index not saved at shutdown: %s", exc)

    def close(self) -> None:
        """Stop the supervised LLM server, if any."""
        if self.local_llm is not None:
            self.local_llm.stop()
