"""Prometheus metrics, one registry per app so that tests can build many apps."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from newsrag.errors import NewsragError

SOURCE_OUTCOMES = ("created", "updated", "unchanged", "withdrawn", "rejected")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "newsrag_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsrag_http_request_duration_seconds",
            "Request latency by route.",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.refused = Counter(
            "newsrag_answers_refused",
            "Answers refused for lack of evidence.",
            registry=self.registry,
        )
        self.llm_errors = Counter(
            "newsrag_llm_errors", "Failed calls to the LLM endpoint.", registry=self.registry
        )
        self.llm_restarts = Counter(
            "newsrag_llm_restarts",
            "Times the supervised local LLM server died and was restarted.",
            registry=self.registry,
        )
        self.llm_up = Gauge(
            "newsrag_llm_up",
            "1 while the LLM answers (the supervised server, or an endpoint as /readyz last saw "
            "it), 0 while it is down (the fast reader answers then); NaN: no LLM.",
            registry=self.registry,
        )
        self.llm_up.set(math.nan)
        self.query_cache = Counter(
            "newsrag_query_embedding_cache",
            "Question vectors served from the per-process cache (hit) or embedded (miss).",
            ["result"],
            registry=self.registry,
        )
        self.source_items = Counter(
            "newsrag_source_items",
            "Stories read from registered sources, by source id and outcome (created, updated, "
            "unchanged, withdrawn, rejected).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.source_failures = Counter(
            "newsrag_source_failures",
            "Syncs of a registered source that failed as a whole (fetch or parse).",
            ["source"],
            registry=self.registry,
        )
        self.source_last_success = Gauge(
            "newsrag_source_last_success_timestamp_seconds",
            "When a registered source last synced without failing (Unix time).",
            ["source"],
            registry=self.registry,
        )
        self.documents = Gauge("newsrag_documents", "Documents stored.", registry=self.registry)
        self.chunks = Gauge("newsrag_chunks", "Chunks stored.", registry=self.registry)

    def record_sync(
        self, source: str, counts: Mapping[str, int], failed: bool, when: float
    ) -> None:
        """Count one sync of a registered source."""
        for outcome, count in counts.items():
            if count:
                self.source_items.labels(source, outcome).inc(count)
        if failed:
            self.source_failures.labels(source).inc()
        else:
            self.source_last_success.labels(source).set(when)

    def forget_source(self, source: str) -> None:
        """Drop a removed source's series."""
        for metric in (self.source_failures, self.source_last_success):
            with contextlib.suppress(KeyError):
                metric.remove(source)
        for outcome in SOURCE_OUTCOMES:
            with contextlib.suppress(KeyError):
                self.source_items.remove(source, outcome)

    def track_store(self, counts: Callable[[], tuple[int, int]]) -> None:
        """Read document and chunk counts from the store at scrape time (shared across replicas)."""

        def read(index: int) -> float:
            try:
                return float(counts()[index])
            except NewsragError:  # the store is down: report "unknown", not an error
                return math.nan

        def documents() -> float:
            return read(0)

        def chunks() -> float:
            return read(1)

        self.documents.set_function(documents)
        self.chunks.set_function(chunks)
