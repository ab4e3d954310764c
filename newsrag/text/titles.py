"""The one title rule: how long a title may be, and the title of an article that has none."""

from __future__ import annotations

MAX_TITLE_CHARS = 500
UNTITLED = "Untitled"


def clip_title(title: str) -> str:
    """``title`` cut to :data:`MAX_TITLE_CHARS`."""
    return title[:MAX_TITLE_CHARS]


def title_from_text(text: str) -> str:
    """The title of an article given without one: its first non-blank line, without Markdown
    heading marks, cut to :data:`MAX_TITLE_CHARS` (:data:`UNTITLED` when every line is blank)."""
    for line in text.splitlines():
        if line.strip():
            return clip_title(line.strip().lstrip("#").strip()) or UNTITLED
    return UNTITLED
