"""Syncing a full-content feed against ingesting the same texts from a ``.jsonl`` file.

``python -m bench.sync_feed --entries 1000`` writes the seeded synthetic archive
(``bench.synthetic``) twice: as JSON lines, and as an RSS 2.0 feed whose entries carry each
article's paragraphs as ``content:encoded`` HTML, served from 127.0.0.1 by a thread of this
process. Then, each in a fresh process and an empty data dir on this machine:

* ``newsrag ingest -q ARCHIVE.jsonl`` (the baseline);
* ``newsrag sync -q http://127.0.0.1:PORT/feed.xml`` (fetch, feedparser, trafilatura on each
  entry, then the same batched ingest).

It prints one JSON object: articles/s of both, and the feed's speed as a fraction of the
baseline (the target is at least 0.80). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bench.ingest_bench import worker_env
from bench.synthetic import SyntheticArticle, articles, write_archive

PROJECT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.80


def feed_of(items: list[SyntheticArticle]) -> bytes:
    """An RSS 2.0 feed with each article's paragraphs as full content."""
    import datetime as dt

    entries = []
    for article in items:
        html = "".join(f"<p>{escape(p)}</p>" for p in article.text.split("\n\n"))
        day = dt.datetime.fromisoformat(article.published_at).replace(tzinfo=dt.UTC)
        entries.append(
            f"<item><title>{escape(article.title)}</title><link>{escape(article.url)}</link>"
            f'<guid isPermaLink="false">urn:bench:{article.document_id}</guid>'
            f"<pubDate>{format_datetime(day, usegmt=True)}</pubDate>"
            f"<content:encoded><![CDATA[{html}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>Bench Gazette</title><link>https://news.example/</link>"
        f"<description>bench</description>{''.join(entries)}</channel></rss>"
    ).encode()


@contextmanager
def serve(body: bytes) -> Iterator[str]:
    """Serve ``body`` at /feed.xml on a free local port; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"
    finally:
        httpd.shutdown()
        httpd.server_close()


def timed(command: list[str], data_dir: Path) -> float:
    env = worker_env() | {
        "NEWSRAG_DATA_DIR": str(data_dir),
        "NEWSRAG_BOOTSTRAP": "false",
        "NEWSRAG_LLM_LOCAL": "false",
        "NEWSRAG_SOURCE_ALLOW_HOSTS": "127.0.0.1",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "newsrag", *command],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"newsrag {command[0]} failed:\n{done.stderr[-3000:]}")
    return seconds


def measure(entries: int, workdir: Path) -> dict[str, Any]:
    archive = workdir / "archive.jsonl"
    write_archive(archive, entries)
    feed = feed_of(list(articles(entries)))
    jsonl_s = timed(["ingest", "-q", str(archive)], workdir / "jsonl")
    with serve(feed) as url:
        feed_s = timed(["sync", "-q", url], workdir / "feed")
    return {
        "entries": entries,
        "feed_mb": round(len(feed) / 1e6, 2),
        "jsonl_s": round(jsonl_s, 1),
        "feed_s": round(feed_s, 1),
        "jsonl_articles_per_s": round(entries / jsonl_s, 2),
        "feed_articles_per_s": round(entries / feed_s, 2),
        "ratio": round(jsonl_s / feed_s, 3),
        "target": TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_feed", description=__doc__)
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsrag-sync-feed-") as tmp:
        print(json.dumps(measure(args.entries, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
