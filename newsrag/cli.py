"""The ``newsrag`` command: serve, ingest, sync, ask, docs, eval, llm, models.

Every failure the user can act on prints one line (``newsrag: error: …``) and a non-zero exit
code; a traceback would only mean a bug.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from newsrag.config import Settings
from newsrag.console import run_reporting
from newsrag.errors import NewsragError

if TYPE_CHECKING:
    from newsrag.api.container import Container
    from newsrag.components.llm.server import LocalLLMServer


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from newsrag.api.app import create_app
    from newsrag.api.container import Container
    from newsrag.api.logs import configure_logging

    configure_logging(settings.log_json, getattr(logging, args.log_level.upper(), logging.INFO))
    # build the container here, not in the app's lifespan, so that a model that fails to load or
    # a store built with another embedder stops start-up with one line, not a traceback
    local_llm = _start_local_llm(settings, quiet=False)
    try:
        container = Container(settings, local_llm=local_llm)
        if not container.settings.chroma.host:
            _ = container.services  # the embedded store opens now (a mismatch is reported here)
        app = create_app(container.settings, container)
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_config=None,  # keep our handlers: JSON lines and request ids
            access_log=False,  # newsrag.access logs each request with its id instead
            timeout_graceful_shutdown=10,
        )
    finally:
        if local_llm is not None:
            local_llm.stop()
    return 0


def _start_local_llm(settings: Settings, *, quiet: bool) -> LocalLLMServer | None:
    """The supervised local model when one is configured (see NEWSRAG_LLM_LOCAL), started."""
    from newsrag.components.llm.server import LocalLLMServer, resolve_local_model

    choice = resolve_local_model(settings)
    if choice is None:
        return None
    if not quiet:
        print(f"newsrag: starting the local model {choice.alias} …", file=sys.stderr, flush=True)
    server = LocalLLMServer(choice, settings.llm)
    server.start()
    return server


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from newsrag.api.container import Container
    from newsrag.ingest.formats.item import ParsedItem
    from newsrag.ingest.loaders import count_articles, iter_files, load_items
    from newsrag.ingest.newsroom import ingest_items

    container = Container(settings)
    files = list(iter_files(Path(p) for p in args.paths))
    if not files:
        print(
            "newsrag: error: no .txt, .md, .html, .xml, .json or .jsonl files found",
            file=sys.stderr,
        )
        return 1
    # counts articles, not files: a .jsonl file's lines are counted up front (so that the rate
    # and the ETA hold from the start); a .json array corrects the total when it is read
    expected = {path: count_articles(path) for path in files}
    progress = tqdm(total=sum(expected.values()), unit="article", desc="ingest", disable=args.quiet)

    def items() -> Iterator[tuple[str, ParsedItem | Exception]]:
        for path in files:
            try:
                parsed = load_items(path)
                found = len(parsed)
            except NewsragError as exc:
                parsed, found = [], 1  # the failure counts as one
                yield str(path), exc
            if found != expected[path] and progress.total is not None:
                progress.total += found - expected[path]
                progress.refresh()
            for number, item in enumerate(parsed):
                yield (str(path) if len(parsed) == 1 else f"{path}[{number}]"), item

    # a folder's kills are applied after its stories, whatever the file names
    report = ingest_items(container.services.ingestor, items(), on_progress=progress.update)
    progress.close()
    for label, reason in report.failures:
        print(f"failed: {label}: {reason}", file=sys.stderr)
    withdrawn = report.count("withdrawn")
    print(
        f"created {report.count('created')}, updated {report.count('updated')}, "
        f"unchanged {report.count('unchanged')}, failed {len(report.failures)}"
        + (f", withdrawn {withdrawn}" if withdrawn else "")
    )
    return 1 if report.failures else 0


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from newsrag.api.container import Container
    from newsrag.ingest.sources.sync import SyncContext, is_url, sync

    container = Container(settings)
    progress = tqdm(total=None, unit="item", desc="sync", disable=args.quiet)

    def total(count: int) -> None:
        progress.total = count
        progress.refresh()

    services = container.services
    # a registered source: its validators (conditional GET) and last result are used and kept
    registered = services.sources.source_id_of(args.source) if is_url(args.source) else None
    if registered is not None:
        synced = services.sources.sync_source(registered, total, progress.update)
        if synced is None:
            progress.close()
            print(f"newsrag: error: {args.source} is being synced by another process now")
            return 1
        report = synced[1]
    else:
        context = SyncContext(
            services.ingestor, settings.sources, on_total=total, on_progress=progress.update
        )
        report = sync(args.source, context)
    progress.close()
    print(report.line())
    for ref, reason in report.rejected:
        print(f"rejected: {ref}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from newsrag.api.container import Container

    generative = (args.mode or settings.answer_mode) == "generative"
    local_llm = _start_local_llm(settings, quiet=args.json) if generative else None
    try:
        container = Container(settings, local_llm=local_llm)
        container.bootstrap()
        return _ask(container, args)
    finally:
        if local_llm is not None:
            local_llm.stop()


def _ask(container: Container, args: argparse.Namespace) -> int:
    from newsrag.schemas import AskRequest, ShortAnswerSpan

    request = AskRequest(
        question=args.question,
        top_k=args.top_k,
        mode=args.mode,
        document_ids=args.document or None,
    )
    response = container.services.ask.ask(request)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    short = response.short_answer
    if short is not None:
        where = f" [{short.citation}]" if isinstance(short, ShortAnswerSpan) else ""
        print(f"Short answer: {short.text}{where}\n")
    print(response.answer)
    if response.note:
        print(f"\nnote: {response.note}")
    for citation in response.citations:
        print(
            f"\n[{citation.id}] {citation.title} ({citation.document_id}, "
            f"chars {citation.start}-{citation.end})\n    “{citation.quote}”"
        )
    return 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    from newsrag.api.container import Container

    container = Container(settings)
    store = container.services.store
    if args.docs_command == "list":
        for document in sorted(store.list_documents(), key=lambda d: d.document_id):
            state = f" (withdrawn {document.withdrawn_at})" if document.withdrawn_at else ""
            print(f"{document.document_id}\t{document.chunks} chunks{state}\t{document.title}")
    elif args.docs_command == "show":
        document = store.get_document(args.document_id)
        print(json.dumps(dataclasses.asdict(document), ensure_ascii=False, indent=2))
    elif args.docs_command == "versions":
        for version in store.versions(args.document_id):
            state = "current" if version.superseded_at is None else f"until {version.superseded_at}"
            print(f"v{version.version}\t{version.ingested_at}\t{state}\t{version.chars} chars")
    else:
        store.delete_document(args.document_id)
        print(f"deleted {args.document_id}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from newsrag.eval.cli import run_from_args

    return run_from_args(args, settings)


def cmd_llm(args: argparse.Namespace, settings: Settings) -> int:
    from newsrag.components.llm.server import serve_local_llm

    return serve_local_llm(settings, args.host, args.port)


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from newsrag.components.llm import models as local_models

    base = settings.embedding.model_cache_dir
    if args.models_command == "list":
        for model in local_models.CATALOGUE.values():
            default = " (default)" if model.name == settings.llm.local_model else ""
            state = local_models.status(model, base)
            print(f"{model.name}{default}\t{model.size / 1e9:.2f} GB\t{model.licence}\t{state}")
            print(f"    {local_models.model_path(model, base)}\n    from {model.provenance}")
        return 0
    model = local_models.lookup(args.name or settings.llm.local_model)
    verb = "verify" if args.models_command == "verify" else "assemble"
    with tqdm(total=model.size, unit="B", unit_scale=True, desc=f"{verb} {model.name}") as bar:
        if args.models_command == "verify":
            path = local_models.verify(model, base, bar.update)
        else:
            path = local_models.pull(model, base, bar.update)
    print(f"{model.name}: {path} ({model.size:,} bytes, sha256 {model.sha256} verified)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from newsrag.eval.cli import add_arguments as add_eval_arguments

    parser = argparse.ArgumentParser(
        prog="newsrag", description="Answers questions about news articles with exact citations."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the HTTP service and web UI")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=cmd_serve)

    ingest = sub.add_parser("ingest", help="ingest files or folders of articles")
    ingest.add_argument("paths", nargs="+", help=".txt .md .html .json .jsonl files or folders")
    ingest.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(handler=cmd_ingest)

    sync = sub.add_parser(
        "sync", help="ingest a feed URL, a folder or a file; new and changed stories only"
    )
    sync.add_argument("source", help="an RSS/Atom feed URL (http/https), a folder or a file")
    sync.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sync.set_defaults(handler=cmd_sync)

    ask = sub.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the /v1/ask response body")
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--mode", choices=["extractive", "generative"], default=None)
    ask.add_argument("--document", action="append", help="restrict to this document id")
    ask.set_defaults(handler=cmd_ask)

    docs = sub.add_parser("docs", help="list, show, list versions of or delete stored documents")
    docs_sub = docs.add_subparsers(dest="docs_command", required=True)
    docs_sub.add_parser("list")
    for name in ("show", "versions", "delete"):
        docs_sub.add_parser(name).add_argument("document_id")
    docs.set_defaults(handler=cmd_docs)

    evaluate = sub.add_parser("eval", help="run the eval sets; non-zero exit below thresholds")
    add_eval_arguments(evaluate)
    evaluate.set_defaults(handler=cmd_eval)

    llm = sub.add_parser("llm", help="serve the local model alone (OpenAI-compatible)")
    llm.add_argument("--host", default="127.0.0.1")
    llm.add_argument("--port", type=int, default=8081)
    llm.set_defaults(handler=cmd_llm)

    models = sub.add_parser("models", help="list, pull (assemble) or verify the local models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_sub.add_parser("list")
    for name in ("pull", "verify"):
        models_sub.add_parser(name).add_argument("name", nargs="?", default=None)
    models.set_defaults(handler=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    return run_reporting(lambda settings: handler(args, settings))


if __name__ == "__main__":
    sys.exit(main())
