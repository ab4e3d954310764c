"""Which sentences a new version of a document changed: a sentence-level diff of two texts.

When a document is re-ingested with a changed text (a correction), every sentence of the new text
that differs from the old one, or was added, records the version that changed it, when, and how
it read before. Unchanged sentences keep what earlier corrections recorded, so a citation can say
"corrected in version 2" however many versions later it is cited.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from newsrag.models import Correction, Sentence


def _key(text: str, sentence: Sentence) -> str:
    return " ".join(text[sentence.start : sentence.end].split())


def sentence_corrections(
    old_text: str,
    old_sentences: Sequence[Sentence],
    old_corrections: Mapping[int, Correction],
    new_text: str,
    new_sentences: Sequence[Sentence],
    version: int,
    corrected_at: str,
) -> dict[int, Correction]:
    """Corrections of the new version's sentences, by sentence index."""
    old_keys = [_key(old_text, s) for s in old_sentences]
    new_keys = [_key(new_text, s) for s in new_sentences]
    matcher = difflib.SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    found: dict[int, Correction] = {}
    for tag, old_from, old_to, new_from, new_to in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(new_to - new_from):
                carried = old_corrections.get(old_sentences[old_from + offset].index)
                if carried is not None:
                    found[new_sentences[new_from + offset].index] = carried
            continue
        if tag == "delete":
            continue
        replaced = old_keys[old_from:old_to]
        for offset in range(new_to - new_from):
            if tag == "insert":
                previous = None
            elif len(replaced) == new_to - new_from:
                previous = replaced[offset]  # one sentence rewritten in place
            else:
                previous = " ".join(replaced)  # sentences merged or split: show the passage
            found[new_sentences[new_from + offset].index] = Correction(
                version=version, corrected_at=corrected_at, previous=previous
            )
    return found
