"""Run the eval sets through the real HTTP app (in process), score, gate, report.

Each set gets a fresh embedded store in a temporary folder, so results do not depend on what a
user has ingested. Exit status 1 when a gate fails: a floor of ``eval/thresholds.toml``, the
paired comparison with ``eval/baseline.json``, or (under CI) a gated run that did not run.
Scoring lives in ``eval/scoring.py``, set figures in ``eval/summary.py``, the gates in
``eval/gates.py``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from newsrag.config import ChromaSettings, Settings, load_settings
from newsrag.eval.baseline import BASELINE_FILE, load_baseline, question_of, write_baseline
from newsrag.eval.dataset import Case, EvalDocument, EvalSet, load_sets
from newsrag.eval.gates import (
    Gates,
    check_floors,
    compare_with_baseline,
    effect_lines,
    in_ci,
    load_gates,
    not_run,
    targets_report,
)
from newsrag.eval.scoring import CaseResult, score_case
from newsrag.eval.summary import format_table, rate, summarise

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from newsrag.components.llm.server import LocalLLMServer

__all__ = ["CaseResult", "run", "run_cli", "run_set", "summarise"]

Sample = int | Literal["baseline"] | None

EVAL_DIR = Path(__file__).resolve().parent
# Reports are written where the eval runs, never into the installed package.
RESULTS_DIR = Path("eval-results")
NEWS_SETS = {"multihop", "rgb"}
UNGATED_SAMPLE = 40
DEFAULT_SETS = ("article", "squad", "newsroom", "multihop", "rgb", "bipia")
RAM_DIR = Path("/dev/shm")


# With a model: the sets the LLM reader is scored on (extractive answers, the model reads)
READER_SETS = frozenset({"article", "squad", "multihop", "rgb"})
LLM_MODES = frozenset({"reader", "generative"})
RUN_SUFFIX = {"extractive": "", "reader": "-llm", "generative": "-generative"}


def _eval_settings(base: Settings, data_dir: Path) -> Settings:
    # No read deadline: the eval judges what the model answers (a deadline's fallback would be
    # the fast reader's answer counted as the model's); `make bench` measures how fast it is.
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "bootstrap": False,
            "chroma": ChromaSettings(host=None, collection_prefix="newsrag-eval"),
            "api_keys": None,
            "rate_limit": None,
            "reading": base.reading.model_copy(update={"deadline_s": 0.0}),
            "llm": base.llm.model_copy(update={"write_deadline_s": 0.0}),
        }
    )


def _history_kept(client: Any, eval_set: EvalSet) -> dict[str, Any]:
    """For every document ingested with more than one text: are all its texts listed, in order,
    by ``GET /v1/documents/{id}/versions``, the last one current?"""
    texts: dict[str, list[str]] = defaultdict(list)
    for document in eval_set.documents:
        if not texts[document.document_id] or texts[document.document_id][-1] != document.text:
            texts[document.document_id].append(document.text)
    corrected = {doc_id: versions for doc_id, versions in texts.items() if len(versions) > 1}
    if not corrected:
        return {}
    kept = []
    for document_id, versions in corrected.items():
        listed = client.get(f"/v1/documents/{document_id}/versions").json()["versions"]
        old = client.get(f"/v1/documents/{document_id}/versions/1").json()
        kept.append(
            [v["version"] for v in listed] == list(range(1, len(versions) + 1))
            and listed[-1]["current"]
            and old.get("text") == versions[0]
        )
    return {"version_history_kept": rate(kept)}


def run_set(
    eval_set: EvalSet,
    base: Settings,
    mode: str = "extractive",
    extra: dict[str, Any] | None = None,
    after_case: Callable[[int], object] | None = None,
) -> list[CaseResult]:
    """Ingest the set's documents into a fresh store and ask every question over HTTP. A case
    with a ``scope`` is asked over a fresh store of its own holding only those documents.
    ``extra`` receives set-level figures (the version history kept for corrected documents)."""
    scoped = {document_id for case in eval_set.cases for document_id in case.scope}
    by_id = {document.document_id: document for document in eval_set.documents}
    with _serving(eval_set.name, base) as client:
        texts = _ingest(client, [d for d in eval_set.documents if d.document_id not in scoped])
        if extra is not None:
            extra.update(_history_kept(client, eval_set))
        results = []
        for case in eval_set.cases:
            if case.scope:
                with _serving(f"{eval_set.name}-case", base, in_memory=True) as own:
                    own_texts = _ingest(own, [by_id[document_id] for document_id in case.scope])
                    result = _ask(own, case, own_texts, mode, eval_set.name)
            else:
                result = _ask(client, case, texts, mode, eval_set.name)
            results.append(result)
            if after_case is not None:
                after_case(len(results))
    return results


@contextmanager
def _serving(name: str, base: Settings, in_memory: bool = False) -> Iterator[Any]:
    """The real app over a fresh embedded store in a temporary folder, as an HTTP client.
    ``in_memory``: in /dev/shm where there is one, for a small store per question, which on disk
    spends most of its time waiting for the store's fsyncs (RGB, 193 stores: 4.8 min on disk,
    2.0 min in memory)."""
    from fastapi.testclient import TestClient

    from newsrag.api.app import create_app

    folder = RAM_DIR if in_memory and RAM_DIR.is_dir() and os.access(RAM_DIR, os.W_OK) else None
    with (
        tempfile.TemporaryDirectory(prefix=f"newsrag-eval-{name}-", dir=folder) as tmp,
        TestClient(create_app(_eval_settings(base, Path(tmp)))) as client,
    ):
        yield client


def _ingest(client: Any, documents: list[EvalDocument]) -> dict[str, str]:
    """Ingest in order (a repeated id is a correction); the stored texts by id."""
    texts: dict[str, str] = {}
    for document in documents:
        body: dict[str, Any] = {
            "text": document.text,
            "title": document.title,
            "document_id": document.document_id,
            "source": document.source,
            "published_at": document.published_at,
            "url": document.url,
        }
        if document.metadata:
            body["metadata"] = document.metadata
        client.post("/v1/documents", json=body).raise_for_status()
        texts[document.document_id] = client.get(f"/v1/documents/{document.document_id}").json()[
            "text"
        ]
    return texts


def _ask(client: Any, case: Case, texts: dict[str, str], mode: str, set_name: str) -> CaseResult:
    """``mode``: ``extractive`` (the fast scorer reads), ``reader`` (extractive, the LLM reads)
    or ``generative``."""
    uses_llm = mode in LLM_MODES
    body: dict[str, Any] = {
        "question": case.question,
        "history": [{"role": t.role, "content": t.content} for t in case.history],
        "mode": "generative" if mode == "generative" else "extractive",
        "reader": "llm" if uses_llm else "heuristic",
    }
    if case.restrict:
        body["document_ids"] = [case.document_id]
    body.update(case.request)
    errors_before = _llm_errors(client)
    started = time.perf_counter()
    response = client.post("/v1/ask", json=body)
    latency = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    llm_failed = _llm_errors(client) > errors_before if uses_llm else None
    search_query = " ".join([t.content for t in case.history if t.role == "user"] + [case.question])
    search_body: dict[str, Any] = {"query": search_query[-2000:], "top_k": 5}
    for key in ("published_before", "published_after", "as_of"):
        if key in case.request:  # the search is planned as the question was
            search_body[key] = case.request[key]
    search = client.post("/v1/search", json=search_body).json()["results"]
    result = score_case(case, response.json(), texts, search, latency, set_name)
    result.llm_failed = llm_failed
    return result


def _llm_errors(client: Any) -> float:
    """Failed LLM calls so far, from the app's own counter (errors and fallbacks alike)."""
    return float(client.app.state.container.metrics.llm_errors._value.get())


def planned_runs(names: list[str], news_generative: set[str]) -> list[tuple[str, str]]:
    """Every (set, mode) an eval of ``names`` should run when everything is available."""
    runs = []
    for name in names:
        if name != "bipia":  # injections only matter when an LLM writes the answer
            runs.append((name, "extractive"))
        if name in READER_SETS:
            runs.append((name, "reader"))
        if name in {"article", "bipia"} | news_generative:
            runs.append((name, "generative"))
    return runs


def _cases_for(
    eval_set: EvalSet, run_name: str, sample: Sample, baseline: dict[str, Any], gates: Gates
) -> EvalSet:
    """The cases a run with a model asks: all, a seeded sample of N, or (``"baseline"``) the
    fixed case list the baseline recorded, drawn at ``[runs.RUN] cases`` when it has none."""
    if sample is None:
        return eval_set
    if sample == "baseline":
        recorded = baseline.get("sets", {}).get(run_name, {}).get("cases")
        if recorded:
            return eval_set.only([c["id"] for c in recorded])
        # a run without a list or a size is ungated (a news set's generative run): a sample
        size = gates.ci_cases(run_name) or UNGATED_SAMPLE
        return eval_set.sample(size)
    return eval_set.sample(sample)


def run(
    set_names: list[str] | None = None,
    settings: Settings | None = None,
    report_dir: Path | None = None,
    local_llm: LocalLLMServer | None = None,
    sample: Sample = None,
) -> tuple[dict[str, Any], list[str]]:
    """Every set in extractive mode; with an LLM configured, the LLM reader on the reader sets
    and generative mode on article and bipia (and on the news benchmarks when named).
    ``sample``: the runs with a model ask a seeded sample of that size, or ``"baseline"`` the
    baseline's fixed case lists."""
    base = settings or load_settings()
    gates = load_gates()
    baseline = load_baseline()
    generated_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    skipped: dict[str, str] = {}  # sets whose data is absent: name -> why
    payload: dict[str, Any] = {"generated_at": generated_at, "sets": {}, "skipped": skipped}
    summaries: dict[str, dict[str, Any]] = {}
    names = set_names or list(DEFAULT_SETS)
    planned = planned_runs(names, NEWS_SETS & set(set_names or []))
    loaded = {eval_set.name: eval_set for eval_set in load_sets(names, skipped)}
    why_not: dict[str, str] = {}
    runs: list[tuple[EvalSet, str]] = []
    for name, mode in planned:
        run_name = name + RUN_SUFFIX[mode]
        if name not in loaded:
            why_not[run_name] = skipped.get(name, "its data is not here")
        elif mode in LLM_MODES and not base.llm.configured:
            why_not[run_name] = "no LLM is configured (newsrag eval --local-llm, or NEWSRAG_LLM_*)"
        else:
            runs.append((loaded[name], mode))
    for eval_set, mode in runs:
        name = eval_set.name + RUN_SUFFIX[mode]
        extra: dict[str, Any] = {}
        restarts = local_llm.restarts if local_llm is not None else 0
        if mode in LLM_MODES:
            chosen = _cases_for(eval_set, name, sample, baseline, gates)
            if len(chosen.cases) < len(eval_set.cases):
                extra["sampled_from"] = len(eval_set.cases)
            eval_set = chosen
        results = run_set(eval_set, base, mode, extra)
        if mode in LLM_MODES:
            # a server that died and came back between two cases leaves no failed case behind
            # (an external endpoint has no supervisor here: 0)
            extra["llm_restarts"] = local_llm.restarts - restarts if local_llm else 0
        summaries[name] = {**summarise(results), **extra}
        payload["sets"][name] = {"summary": summaries[name], "cases": [asdict(r) for r in results]}
    failures = check_floors(summaries, gates.floors)
    missing = not_run(why_not, set(summaries), gates.floors)
    payload["not_run"] = missing
    if in_ci():
        failures += [f"{run_name}: not run under CI — {why}" for run_name, why in missing.items()]
    paired = compare_with_baseline(payload, baseline, gates)
    failures += [p.line() for p in paired if p.failed]
    payload["paired"] = [asdict(p) for p in paired]
    payload["regressions"] = [
        f"{p.run}/{case_id}: {question_of(payload, p.run, case_id)}"
        for p in paired
        for case_id in p.lost
    ]
    payload["effects"] = effect_lines(summaries, gates, paired)
    payload["targets"] = targets_report(summaries, gates.targets)
    payload["failures"] = failures
    out_dir = report_dir or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False))
    from newsrag.eval.report import write_html

    write_html(payload, out_dir / "report.html")
    return payload, failures


def run_cli(
    set_names: list[str] | None,
    report_dir: Path | None,
    settings: Settings,
    local_llm: bool,
    sample: Sample = None,
    rebaseline: bool = False,
) -> int:
    if local_llm:
        from newsrag.components.llm.server import running_local_llm, with_endpoint

        with running_local_llm(settings) as server:
            llm = with_endpoint(settings.llm, server)
            served = settings.model_copy(update={"llm": llm})
            result = run(set_names, served, report_dir, server, sample)
    else:
        off = settings.model_copy(
            update={"llm": settings.llm.model_copy(update={"local": "false"})}
        )
        result = run(set_names, off, report_dir, None, sample)
    status = _report(result, report_dir)
    if rebaseline:
        if status:
            print("baseline not written: the run failed its gates", file=sys.stderr)
        elif local_llm and sample != "baseline":
            # a model's runs keep the case lists make test can afford (--llm-sample baseline)
            print("baseline not written: use --llm-sample baseline with a model", file=sys.stderr)
        else:
            write_baseline(result[0])
            print(f"baseline written: {BASELINE_FILE}")
    return status


def _report(result: tuple[dict[str, Any], list[str]], report_dir: Path | None) -> int:
    from newsrag.eval.report import paired_line

    payload, failures = result
    print(format_table(payload))
    out_dir = report_dir or RESULTS_DIR
    print(f"\nreport: {out_dir / 'report.html'}\nresults: {out_dir / 'latest.json'}")
    print(
        "\npaired with the baseline (a run with a model fails on a significant net loss, one "
        "without on any case lost):"
    )
    for paired in payload["paired"]:
        print(f"  {paired_line(paired)}")
    for line in payload["regressions"]:
        print(f"  lost: {line}")
    print("\nwhat each gate can see (80 % power, one-sided 5 %):")
    for line in payload["effects"]:
        print(f"  {line}")
    if payload["targets"]:
        print("\ntargets (reported, not gated):")
        for line in payload["targets"]:
            print(f"  {line}")
    for run_name, why in payload["not_run"].items():
        print(f"NOT RUN: {run_name} — {why}")
    for line in failures:
        print(f"GATE FAILED: {line}", file=sys.stderr)
    if not failures:
        print(
            "all gates met" + (" (some runs did not run: see above)" if payload["not_run"] else "")
        )
    return 1 if failures else 0
