"""Registered sources in the store, and the lease that lets one replica at a time poll one."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.components.store.sources import SourceRecord, SourceRegistry
from newsrag.config import ChromaSettings
from tests.helpers import race


def replica(path: Path) -> SourceRegistry:
    """A registry of its own store object on the same data, as a replica has."""
    embedder = HashingEmbedder()
    store = ChromaStore.connect(ChromaSettings(), path, embedder.name, embedder.dimension)
    registry = store.sources
    registry.settle_s = 0.2
    return registry


@pytest.fixture
def registries(tmp_path: Path) -> tuple[SourceRegistry, SourceRegistry]:
    return replica(tmp_path), replica(tmp_path)


def test_a_source_round_trips_with_its_state(tmp_path: Path) -> None:
    registry = replica(tmp_path)
    record = SourceRecord(
        "gazette",
        "https://example.org/feed.xml",
        10,
        "2026-12-06T17:00:00+00:00",
        next_due=123.5,
        etag='"abc"',
        last_result={"status": "synced", "counts": {"created": 3}, "rejected": []},
    )
    registry.put(record)
    assert registry.get("gazette") == record
    assert registry.all() == [record]
    assert registry.delete("gazette") and registry.get("gazette") is None
    assert not registry.delete("gazette")


def test_only_due_and_unleased_sources_are_due(tmp_path: Path) -> None:
    registry = replica(tmp_path)
    now = time.time()
    registry.put(SourceRecord("due", "https://a.example/", 1, "", next_due=now - 1))
    registry.put(SourceRecord("later", "https://b.example/", 1, "", next_due=now + 60))
    registry.put(
        SourceRecord("held", "https://c.example/", 1, "", lease_owner="x", lease_until=now + 60)
    )
    registry.put(
        SourceRecord("expired", "https://d.example/", 1, "", lease_owner="x", lease_until=now - 1)
    )
    assert [r.source_id for r in registry.due(now)] == ["due", "expired"]


def test_a_held_lease_keeps_other_replicas_out_until_it_expires(
    registries: tuple[SourceRegistry, SourceRegistry],
) -> None:
    first, second = registries
    first.put(SourceRecord("gazette", "https://example.org/feed.xml", 10, ""))
    held = first.acquire("gazette", "replica-a", lease_s=1.0)
    assert held is not None and held.lease_owner == "replica-a"
    assert second.acquire("gazette", "replica-b", lease_s=1.0) is None
    time.sleep(1.1)  # replica-a died mid-sync: its lease expires and can be taken
    taken = second.acquire("gazette", "replica-b", lease_s=60)
    assert taken is not None and taken.lease_owner == "replica-b"
    # replica-a comes back late: its state does not overwrite replica-b's lease
    late = first.release(held, "replica-a")
    assert late is not None and late.lease_owner == "replica-b"
    released = second.release(taken, "replica-b")
    assert released is not None and released.lease_owner == ""


def test_replicas_racing_for_a_lease_let_one_through(
    registries: tuple[SourceRegistry, SourceRegistry],
) -> None:
    first, second = registries
    for round_number in range(3):
        source_id = f"feed-{round_number}"
        first.put(SourceRecord(source_id, f"https://example.org/{round_number}", 10, ""))
        outcomes = race(
            [
                partial(first.acquire, source_id, "replica-a", lease_s=60),
                partial(second.acquire, source_id, "replica-b", lease_s=60),
            ]
        )
        winners = [o for o in outcomes if isinstance(o, SourceRecord)]
        assert len(winners) == 1, outcomes
        assert all(o is None or isinstance(o, SourceRecord) for o in outcomes)


def test_a_source_deleted_during_its_sync_is_not_written_back(tmp_path: Path) -> None:
    registry = replica(tmp_path)
    registry.put(SourceRecord("gazette", "https://example.org/feed.xml", 10, ""))
    held = registry.acquire("gazette", "replica-a", lease_s=60)
    assert held is not None
    registry.delete("gazette")
    assert registry.release(held, "replica-a") is None
    assert registry.get("gazette") is None


def test_a_long_sync_renews_its_lease_and_stops_when_another_replica_took_it(
    registries: tuple[SourceRegistry, SourceRegistry],
) -> None:
    from newsrag.errors import LeaseLost
    from newsrag.ingest.sources.service import HeldLease

    first, second = registries
    first.put(SourceRecord("gazette", "https://example.org/feed.xml", 10, ""))
    assert first.acquire("gazette", "replica-a", lease_s=0.6) is not None
    done: list[int] = []
    progress = HeldLease(first, "gazette", "replica-a", lease_s=0.6).watching(done.append)
    for _ in range(6):  # a sync longer than its lease, storing a story every 0.15 s
        time.sleep(0.15)
        progress(1)
        assert second.acquire("gazette", "replica-b", lease_s=60) is None
    assert sum(done) == 6
    # replica-a stalls past its lease; replica-b takes the source over; replica-a's next story
    # finds the lease gone and its sync stops
    time.sleep(0.7)
    assert second.acquire("gazette", "replica-b", lease_s=60) is not None
    with pytest.raises(LeaseLost, match="the lease of gazette is another replica"):
        progress(1)
    assert not first.renew("gazette", "replica-a", 60)


def test_renewing_never_brings_back_a_removed_source(tmp_path: Path) -> None:
    registry = replica(tmp_path)
    registry.settle_s = 0
    registry.put(SourceRecord("gazette", "https://example.org/feed.xml", 10, ""))
    assert registry.acquire("gazette", "replica-a", lease_s=60) is not None
    assert registry.renew("gazette", "replica-a", 60)
    registry.delete("gazette")
    assert not registry.renew("gazette", "replica-a", 60)
    assert registry.get("gazette") is None
