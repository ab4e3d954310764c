"""The commit protocol's parts: copies for new metadata, the 409, the ledger's collection."""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ClientSettings

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store import commit
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings
from newsrag.errors import EmbedderMismatch
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from tests.helpers import assert_no_strays, assert_whole, connect, race, story

DOCUMENT = "harbour-report"


def replica(path: Path) -> tuple[ChromaStore, Ingestor]:
    return connect(ChromaSettings(), path)


def test_new_metadata_copies_the_rows_and_keeps_the_version(tmp_path: Path) -> None:
    store, ingestor = replica(tmp_path)
    first, second = story("one"), story("two")
    ingestor.ingest(Article(first, "Report", DOCUMENT))
    ingestor.ingest(Article(second, "Report", DOCUMENT))
    before = store.get_document(DOCUMENT)
    retitled = ingestor.ingest(
        Article(second, "Report (corrected)", DOCUMENT, published_at="2017-04-14")
    )
    assert retitled.status == "updated"
    after = store.get_document(DOCUMENT)
    assert after.write != before.write and after.version == before.version == 2
    assert after.title == "Report (corrected)" and after.published_at == "2017-04-14"
    assert assert_whole(store, DOCUMENT, [second]) == second
    assert [v.version for v in store.versions(DOCUMENT)] == [1, 2]
    assert_no_strays(store, DOCUMENT)


def test_a_write_that_cannot_commit_in_time_is_a_clean_409(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ingestor = replica(tmp_path)
    first = story("first")
    ingestor.ingest(Article(first, "Report", DOCUMENT))
    monkeypatch.setattr(commit, "MAX_WRITE_S", -1.0)
    with pytest.raises(commit.WriteConflict) as refused:
        ingestor.ingest(Article(story("late"), "Report", DOCUMENT))
    assert refused.value.status == 409 and refused.value.extra["retry_after"] == 1
    assert_whole(store, DOCUMENT, [first])
    assert_no_strays(store, DOCUMENT)


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler catches it."""


def test_rows_of_a_writer_that_died_before_its_commit_are_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ingestor = replica(tmp_path)
    first = story("first")
    ingestor.ingest(Article(first, "Report", DOCUMENT))

    def die(*args: object, **kwargs: object) -> None:
        raise Killed

    # another process of this machine wrote rows of the document, then died before committing
    other = subprocess.Popen(["sleep", "60"])
    boot, namespace, _, _ = commit.OWNER.split("|")
    with monkeypatch.context() as patch:
        patch.setattr(
            commit, "OWNER", f"{boot}|{namespace}|{other.pid}|{commit._start_time(other.pid)}"
        )
        patch.setattr("newsrag.components.store.records.record_metadata", die)
        patch.setattr("newsrag.components.store.writer.DocumentWriter._abandon", die)
        with pytest.raises(Killed):
            ingestor.ingest(Article(story("dead"), "Report", DOCUMENT))
    store.settle([store.get_document(DOCUMENT)])
    assert store.counts()[1] > store.get_document(DOCUMENT).chunks  # its owner runs: kept
    other.kill()
    other.wait()
    store.settle([store.get_document(DOCUMENT)])
    assert_no_strays(store, DOCUMENT)
    assert_whole(store, DOCUMENT, [first])


def test_which_rows_are_garbage() -> None:
    now, old = 10_000.0, 10_000.0 - commit.GRACE_S - 1
    alive = "no|such|process|here"  # not of this kernel: only the grace period ends it

    def entry(
        write: str, replaces: str, started: float, owner: str = alive, committed: bool = False
    ) -> commit.Entry:
        return commit.Entry("d", write, replaces, started, owner, committed)

    current = entry("w2", "w1", now)
    loser = entry("w3", "w1", now, committed=True)
    in_flight = entry("w4", "w2", now)
    stale = entry("w5", "w2", old)
    garbage, done = commit.collectable([current, loser, in_flight, stale], {"d": "w2"}, now)
    assert garbage == {"d": {"w1", "w3", "w5"}}
    assert done == [loser, stale]  # the current write's entry stays for the grace period
    garbage, done = commit.collectable([entry("w2", "w1", old)], {"d": "w2"}, now)
    assert (garbage, [e.write for e in done]) == ({"d": {"w1"}}, ["w2"])
    mine = entry("w6", "w2", now, owner=commit.OWNER)  # of this process, not in flight
    assert commit.collectable([mine], {}, now)[0] == {"d": {"w2", "w6"}}
    with commit.in_flight([("d", "w6")]):
        assert commit.collectable([mine], {}, now) == ({}, [])


def test_a_store_written_before_write_ids_is_refused_with_a_reindex_message(
    tmp_path: Path,
) -> None:
    embedder = HashingEmbedder()
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ClientSettings(anonymized_telemetry=False)
    )
    stamp = {"embedder": embedder.name, "dimension": embedder.dimension, "layout": 2}
    client.create_collection("newsrag_chunks", embedding_function=None, metadata=stamp)
    del client
    with pytest.raises(EmbedderMismatch, match=r"layout 2, this one reads layout 3.*re-index"):
        replica(tmp_path)


def test_a_retitle_racing_a_new_text_on_another_replica_leaves_one_whole(tmp_path: Path) -> None:
    store, retitler = replica(tmp_path)
    _, updater = replica(tmp_path)
    text = story("r0")
    retitler.ingest(Article(text, "Report", DOCUMENT))
    for round_ in range(1, 7):
        new_text = story(f"r{round_}")
        outcomes = race(
            [
                partial(retitler.ingest, Article(text, f"Report {round_}", DOCUMENT)),
                partial(updater.ingest, Article(new_text, "Report", DOCUMENT)),
            ]
        )
        assert all(getattr(outcome, "status", None) == "updated" for outcome in outcomes), outcomes
        text = assert_whole(store, DOCUMENT, [text, new_text])
        assert updater.ingest(
            Article(text, store.get_document(DOCUMENT).title, DOCUMENT)
        ).status == ("unchanged")
        assert_no_strays(store, DOCUMENT)
