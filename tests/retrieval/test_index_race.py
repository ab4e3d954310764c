"""Questions racing writes, compactions and rebuilds never see a mixed index.

Each document carries a word of its own. Whatever a reader's snapshot is, a BM25 hit for that
word must be a chunk of that snapshot that holds the word: an index whose chunk ids were
replaced before its scores (the rebuild that assigned its fields one by one) attributes scores
to the wrong chunks, and fails this.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.changes import StoreChange
from newsrag.models import Article
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.index import CorpusIndex
from newsrag.retrieval.snapshot import IndexSnapshot
from tests.helpers import open_store

WRITES = 36
SHARED = "harbour"


def story(number: int, version: int) -> str:
    return (
        f"The {SHARED} master reported on ship tag{number:03d}q in edition {version}. "
        f"Crews of tag{number:03d}q unloaded grain, timber and steel at the northern quay. "
        "Officials said the weather had delayed two crossings earlier in the week. " * 3
    )


def check(snapshot: IndexSnapshot, texts: dict[str, str], number: int) -> int:
    """Assert that ``snapshot`` is one consistent state; how many hits it gave."""
    current = snapshot.chunk_ids()
    assert snapshot.size == len(current) == sum(int(mask.sum()) for mask in snapshot.alive)
    marker = f"tag{number:03d}q"
    hits = snapshot.search([marker], 50, Filters()) + snapshot.search([SHARED], 500, Filters())
    for chunk_id, score in hits:
        assert chunk_id in current, f"{chunk_id} scored but not in the snapshot"
        assert score > 0
    for chunk_id, _ in snapshot.search([marker], 50, Filters()):
        assert marker in texts[chunk_id], f"{chunk_id} does not hold {marker}"
    shared = [chunk_id for chunk_id, _ in snapshot.search([SHARED], 500, Filters())]
    assert all(SHARED in texts[chunk_id] for chunk_id in shared)
    vector = HashingEmbedder().embed([marker])[0]
    assert {c for c, _ in snapshot.dense_search(vector, 20, Filters())} <= current
    return len(hits)


def test_questions_during_writes_and_compactions_see_whole_snapshots(tmp_path: Path) -> None:
    store, ingestor = open_store(tmp_path)
    texts: dict[str, str] = {}  # every chunk row ever committed (ids never change meaning)

    def remember(change: StoreChange) -> None:
        for committed in change.committed:
            texts.update((row.chunk_id, row.text.lower()) for row in committed.rows)

    store.subscribe(remember)  # first, so it hears of rows before the index does
    for number in range(4):
        ingestor.ingest(Article(story(number, 0), f"Ship {number}", f"ship-{number}"))
    index = CorpusIndex(store, 10_000, max_segments=2)
    index.start().result(timeout=60)

    done = threading.Event()
    failures: list[BaseException] = []
    checked = [0]

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not done.is_set():
                snapshot = index.refresh() if rng.random() < 0.2 else index.snapshot()
                check(snapshot, texts, rng.randrange(WRITES))
                marker = f"tag{rng.randrange(WRITES):03d}q"
                for chunk_id, _ in index.search([marker], 50, Filters()):  # the facade too
                    assert marker in texts[chunk_id]
                checked[0] += 1
        except BaseException as exc:
            failures.append(exc)

    readers = [threading.Thread(target=reader, args=(seed,)) for seed in range(2)]
    for thread in readers:
        thread.start()
    rng = random.Random(25)
    try:
        for write in range(WRITES):
            number = rng.randrange(write + 4)
            if write % 9 == 8:
                index.rebuild()  # a full build in the background, racing the writes too
            if rng.random() < 0.2 and store.get_documents([f"ship-{number}"]):
                store.delete_document(f"ship-{number}")
            else:
                article = Article(story(number, write), f"Ship {number}", f"ship-{number}")
                ingestor.ingest(article)
    finally:
        index.compact().result(timeout=60)
        done.set()
        for thread in readers:
            thread.join(timeout=60)
    assert not failures, failures[0]
    assert checked[0] > WRITES  # the readers did run during the writes
    final = index.refresh()
    check(final, texts, 0)
    records = {d.document_id: d.write for d in store.list_documents()}
    assert {c.split("#")[0] for c in final.chunk_ids()} == set(records)
