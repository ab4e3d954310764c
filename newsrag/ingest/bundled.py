"""The article newsrag ships with, so that a new user can ask at once."""

from __future__ import annotations

from pathlib import Path

from newsrag.models import Article

BUNDLED_PATH = Path(__file__).parent / "corpus" / "chechnya-purge-kremlin.txt"
BUNDLED_ID = "chechnya-purge-kremlin"


# The file carries no date. The text dates itself: Peskov spoke "on Friday" and the UN experts'
# statement of 13 April 2017 came "yesterday", so the report is of Friday 14 April 2017.
BUNDLED_PUBLISHED_AT = "2017-04-14"


def bundled_article() -> Article:
    """The PinkNews report (April 2017); its text is the file byte for byte."""
    text = BUNDLED_PATH.read_bytes().decode("utf-8")
    return Article(
        text=text,
        title=text.split("\n", 1)[0].strip(),
        document_id=BUNDLED_ID,
        source="PinkNews",
        published_at=BUNDLED_PUBLISHED_AT,
    )
