"""The benchmark's markdown report (stdout, pasteable into the README)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.ingest_bench import FloorRun, IngestRun
from bench.query_bench import ColdStart, ServerRun

STAGE_ORDER = (
    "interpreter start/exit",
    "imports",
    "model load",
    "store open",
    "split",
    "sentences",
    "chunking",
    "embed",
    "pool vectors",
    "store read",
    "store write",
    "other (ingest)",
)
PIPELINE_LABELS = {
    "stock": "stock LangChain: from_tiktoken_encoder → HuggingFaceEmbeddings → Chroma",
    "newsrag": "newsrag: Ingestor.ingest_many, as `newsrag ingest` (int8 ONNX, sentence vectors)",
}


@dataclass(frozen=True, slots=True)
class CorpusFacts:
    size: int
    quick: bool
    documents: int
    chars: int
    cl100k_tokens: int


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """A markdown table; ``align`` has one of ``l``/``r`` per column (default: first left)."""
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if a == "l" else cell.rjust(width)
            for cell, width, a in zip(cells, widths, align, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        "-" * (width - 1) + ":" if a == "r" else "-" * width
        for width, a in zip(widths, align, strict=True)
    ]
    return [line(header), line(rule), *(line(row) for row in rows)]


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def ingest_section(corpus: CorpusFacts, runs: dict[str, IngestRun]) -> list[str]:
    stock = runs.get("stock")
    rows = []
    for kind, run in runs.items():
        if stock is None or kind == "stock":
            versus = "1.00" if kind == "stock" else "—"
        else:
            ratio = run.seconds / stock.seconds
            versus = f"{ratio:.2f} ({1 / ratio:.2f}× {'faster' if ratio < 1 else 'as fast'})"
        rows.append(
            [
                PIPELINE_LABELS.get(kind, kind),
                _s(run.seconds),
                _n(corpus.chars / run.seconds),
                _n(corpus.cl100k_tokens / run.seconds),
                _n(run.chunks),
                _n(run.embedded_texts),
                versus,
            ]
        )
    out = [
        "## 1. Ingest: whole process per pipeline (fresh subprocess, fresh temporary store)",
        "",
        *table(
            [
                "pipeline",
                "seconds",
                "chars/s",
                "cl100k tokens/s",
                "chunks",
                "texts embedded",
                "time newsrag/stock",
            ],
            rows,
        ),
        "",
        "Where the time goes (seconds, measured inside each process; "
        "`interpreter start/exit` = wall time not covered by the in-process clock):",
        "",
    ]
    stage_rows = []
    names = [name for name in STAGE_ORDER if any(name in r.stages for r in runs.values())]
    names += sorted({k for r in runs.values() for k in r.stages} - set(names))
    for name in names:
        stage_rows.append(
            [name, *(_s(r.stages[name]) if name in r.stages else "—" for r in runs.values())]
        )
    stage_rows.append(["**total (wall)**", *(f"**{_s(r.seconds)}**" for r in runs.values())])
    out += table(["stage", *runs], stage_rows)
    return out


def floor_section(corpus: CorpusFacts, floor: FloorRun) -> list[str]:
    def row(label: str, load_s: float, seconds: float) -> list[str]:
        return [
            label,
            _s(load_s),
            _s(seconds),
            _n(floor.texts / seconds, 1),
            _n(floor.wordpiece_tokens / seconds),
            _n(corpus.cl100k_tokens * share / seconds),
        ]

    share = floor.texts / max(floor.chunks_in_corpus, 1)  # of the corpus's chunks embedded
    sample = ""
    if floor.texts < floor.chunks_in_corpus:
        sample = f" (an evenly spaced sample of the corpus's {_n(floor.chunks_in_corpus)})"
    return [
        "## 2. Embedding floor: the model alone on the stock splitter's chunks",
        "",
        f"{_n(floor.texts)} chunk texts{sample}, {_n(floor.wordpiece_tokens)} word-piece tokens "
        "(truncated at 256); model load and a warm-up batch are not counted. "
        "cl100k tokens/s: the corpus's cl100k tokens (pro rata when sampled) over the embed time.",
        "",
        *table(
            [
                "model path",
                "load s",
                "embed s",
                "chunks/s",
                "word-piece tokens/s",
                "cl100k tokens/s",
            ],
            [
                row(
                    "ONNX int8 compute (default): OnnxMiniLMEmbedder().embed "
                    "(batch 64, length-sorted)",
                    floor.onnx_load_s,
                    floor.onnx_s,
                ),
                row(
                    "ONNX float compute: OnnxMiniLMEmbedder(int8_compute=False).embed",
                    floor.onnx_float_load_s,
                    floor.onnx_float_s,
                ),
                row(
                    f"sentence-transformers fp32: encode(batch_size=32), "
                    f"{floor.torch_threads} torch threads",
                    floor.st_load_s,
                    floor.st_s,
                ),
            ],
        ),
        "",
        f"Agreement ONNX int8 compute vs sentence-transformers fp32 per chunk: cosine min "
        f"{floor.cosine_min:.4f}, "
        f"mean {floor.cosine_mean:.4f}.",
    ]


def query_section(server: ServerRun, cold: ColdStart | None) -> list[str]:
    rows = []
    for path, seq in server.sequential.items():
        conc = server.concurrent[path]
        label = f"`{path}`" + (" (extractive)" if path.endswith("ask") else "")
        rows.append(
            [
                label,
                _n(seq.p50_ms, 1),
                _n(seq.p95_ms, 1),
                f"{seq.errors}/{seq.requests}",
                _n(conc.requests_per_s, 1),
                _n(conc.p50_ms, 1),
                _n(conc.p95_ms, 1),
                f"{conc.errors}/{conc.requests}"
                + (f" {conc.error_kinds}" if conc.error_kinds else ""),
            ]
        )
    any_conc = next(iter(server.concurrent.values()))
    any_seq = next(iter(server.sequential.values()))
    out = [
        "## 3. Queries: `newsrag serve` (local ONNX embedder, embedded Chroma)",
        "",
        f"{server.documents} documents ({_n(server.document_chars)} chars) ingested over HTTP; "
        f"{server.questions} fixed questions; 1 client: {any_seq.requests} requests per endpoint; "
        f"{any_conc.concurrency} concurrent clients: {any_conc.requests} requests per endpoint. "
        "The question-vector cache is off (`NEWSRAG_EMBEDDINGS_QUERY_CACHE_SIZE=0`): every request "
        "embeds its question.",
        "",
        *table(
            [
                "endpoint",
                "1 client p50 ms",
                "p95 ms",
                "errors",
                f"{any_conc.concurrency} clients req/s",
                "p50 ms",
                "p95 ms",
                "errors",
            ],
            rows,
        ),
        "",
        f"- server start to `/readyz` 200: {_s(server.server_ready_s)} s",
        f"- HTTP ingest (`POST /v1/documents`, one at a time): {_s(server.http_ingest_s)} s, "
        f"{_n(server.document_chars / server.http_ingest_s)} chars/s, "
        f"{_n(server.http_ingest_chunks)} chunks, {server.http_ingest_errors} errors",
        f"- first request after the ingest: `/v1/search` {_n(server.first_search_ms, 1)} ms, "
        f"then `/v1/ask` {_n(server.first_ask_ms, 1)} ms",
    ]
    if server.server_peak_rss_mb is not None:
        out.append(f"- server peak RSS: {_n(server.server_peak_rss_mb)} MB")
    if cold is not None:
        runs = ", ".join(_s(s) for s in cold.runs_s)
        out += [
            f'- cold start of `newsrag ask "{cold.question}"` (new process, store holds the '
            f"bundled article): median **{_s(cold.median_s)} s** ({runs}); its first run on an "
            f"empty store (bootstraps the article): {_s(cold.first_run_s)} s",
            f"  - answer: {cold.answer_head}",
        ]
    return out


def render(
    command: str,
    machine: dict[str, Any],
    corpus: CorpusFacts,
    ingest: dict[str, IngestRun],
    floor: FloorRun | None,
    server: ServerRun | None,
    cold: ColdStart | None,
    elapsed_s: float,
) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [
        "# newsrag benchmark",
        "",
        f"- command: `{command}`",
        f"- machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), "
        f"Python {machine['python']}, {machine['platform']}",
        f"- versions: {versions}",
        f"- load average at start: {machine['load_start']}, at end: {machine['load_end']}",
        f"- corpus (size {corpus.size}{', quick' if corpus.quick else ''}): "
        f"{_n(corpus.documents)} documents, {_n(corpus.chars)} chars, "
        f"{_n(corpus.cl100k_tokens)} cl100k tokens; model all-MiniLM-L6-v2 everywhere; "
        "chunks of 256 tokens with 32 overlap",
        f"- benchmark wall time: {_s(elapsed_s)} s",
        "",
    ]
    if ingest:
        lines += [*ingest_section(corpus, ingest), ""]
    if floor is not None:
        lines += [*floor_section(corpus, floor), ""]
    if server is not None:
        lines += [*query_section(server, cold), ""]
    return "\n".join(lines)
