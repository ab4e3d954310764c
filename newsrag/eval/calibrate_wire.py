"""Calibrate the wire-copy threshold: MinHash similarity of copies vs. distinct stories.

Positives: the newsroom set's syndicated copies, plus a copy of every other eval document made
the way outlets re-run agency copy (new headline, a dateline line, a footer, the last paragraph
dropped, a few words changed). Negatives: every pair of distinct documents, including a follow-up
piece that quotes the agency story verbatim. Prints both distributions and the midpoint of the
gap; ``NEWSRAG_NEWSROOM_WIRE_THRESHOLD`` defaults to a value inside it.

    python -m newsrag.eval.calibrate_wire
"""

from __future__ import annotations

import itertools
import random
import re

from newsrag.eval.dataset import EvalDocument, load_sets
from newsrag.text import near_duplicates

KNOWN_COPIES = {
    "mpa-ferry-maren-star-aground-2017-06-12",
    "harbour-gazette-inchmore-ferry-grounds-2017-06-12",
    "valley-courier-maren-star-sandbank-2017-06-13",
}
_EDITS = [("said on", "said"), (" the ", " a "), ("percent", "per cent"), ("told", "said to")]


def syndicate(document: EvalDocument, seed: int) -> str:
    """A re-run of the story as another outlet would print it."""
    rng = random.Random(seed)
    paragraphs = [p for p in document.text.split("\n\n") if p.strip()]
    body = paragraphs[1:-1] if len(paragraphs) > 3 else paragraphs[1:]
    text = "\n\n".join(body)
    for old, new in rng.sample(_EDITS, 2):
        text = re.sub(re.escape(old), new, text, count=2)
    return f"{paragraphs[0]} - latest\n\nBy staff and agencies\n\n{text}\n\nDistributed by wire."


def main() -> None:
    documents: dict[str, EvalDocument] = {}
    for eval_set in load_sets(["article", "squad", "newsroom", "bipia"]):
        for document in eval_set.documents:
            documents[document.document_id] = document  # the last text of a corrected one
    signatures = {
        doc_id: signature
        for doc_id, d in documents.items()
        if (signature := near_duplicates.signature(d.text)) is not None
    }
    documents = {doc_id: d for doc_id, d in documents.items() if doc_id in signatures}
    positives: list[float] = []
    for a, b in itertools.combinations(sorted(KNOWN_COPIES), 2):
        positives.append(near_duplicates.similarity(signatures[a], signatures[b]))
    distinct_hosts: dict[str, str] = {}
    for doc_id, document in documents.items():
        if doc_id in KNOWN_COPIES:
            continue
        host = document.text.split("\n\n", 1)[0]  # bipia documents share a few host stories
        if host in distinct_hosts:
            continue
        distinct_hosts[host] = doc_id
        copy = near_duplicates.signature(syndicate(document, len(positives)))
        if copy is None:
            continue
        positives.append(near_duplicates.similarity(signatures[doc_id], copy))
    negatives = [
        near_duplicates.similarity(signatures[a], signatures[b])
        for a, b in itertools.combinations(sorted(distinct_hosts.values()), 2)
    ]
    copies = sorted(KNOWN_COPIES)
    negatives += [
        near_duplicates.similarity(signatures[copy], signatures[other])
        for copy in copies
        for other in distinct_hosts.values()
    ]
    low, high = max(negatives), min(positives)
    print(f"copies:   {len(positives)} pairs, similarity min {high:.3f}")
    print(f"distinct: {len(negatives)} pairs, similarity max {low:.3f}")
    if high > low:
        print(f"gap {low:.3f}-{high:.3f}: threshold {round((low + high) / 2, 2)} separates them")
    else:
        print("no gap: copies and distinct stories overlap; inspect the pairs")


if __name__ == "__main__":
    main()
