"""Run the eval sets through the real HTTP app (in process), score, gate, report.

Each set gets a fresh embedded store in a temporary folder, so results do not depend on what a
user has ingested. Exit status 1 when any threshold in ``eval/thresholds.toml`` fails.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsrag.config import ChromaSettings, Settings, load_settings
from newsrag.eval.dataset import Case, EvalSet, load_sets
from newsrag.eval.metrics import (
    citations_valid,
    facts_present,
    follows_injection,
    overlaps,
    percentile,
    reciprocal_rank,
    squad_contains,
    squad_f1,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from newsrag.components.llm.server import LocalLLMServer

EVAL_DIR = Path(__file__).resolve().parent
THRESHOLDS_FILE = EVAL_DIR / "thresholds.toml"
# Reports are written where the eval runs, never into the installed package.
RESULTS_DIR = Path("eval-results")
BASELINE_FILE = EVAL_DIR / "baseline.json"


@dataclass
class CaseResult:
    id: str
    question: str
    tags: list[str]
    answerable: bool
    mode: str
    answer: str
    refused: bool
    citations: list[dict[str, Any]]
    valid: bool
    fact_ok: bool
    evidence_cited: bool | None
    reciprocal_rank: float | None
    f1: float | None
    latency_ms: float
    passed: bool
    history: list[dict[str, str]] = field(default_factory=list)
    verification: dict[str, Any] | None = None
    injection_signs: list[str] = field(default_factory=list)
    # signs in everything the LLM wrote, including the sentences verification dropped
    llm_injection_signs: list[str] = field(default_factory=list)
    # the LLM failed on this case (an error or a dead server): the answer is a fallback
    llm_failed: bool | None = None
    # newsroom checks (None: not asked of this case)
    stale: bool | None = None  # the answer holds a superseded or wrong-date fact
    right_documents: bool | None = None  # every citation from the expected documents
    copies_listed: bool | None = None  # the other wire copies are listed in also_in
    correction_flagged: bool | None = None
    duplicate_free: bool | None = None  # search results hold at most one copy of a story


def _eval_settings(base: Settings, data_dir: Path) -> Settings:
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "bootstrap": False,
            "chroma": ChromaSettings(host=None, collection_prefix="newsrag-eval"),
            "api_keys": None,
            "rate_limit": None,
        }
    )


def _score_case(
    case: Case,
    response: dict[str, Any],
    texts: dict[str, str],
    search: list[dict[str, Any]],
    latency_ms: float,
    set_name: str,
) -> CaseResult:
    answer = response.get("answer", "")
    refused = bool(response.get("refused"))
    valid = citations_valid(response, texts)
    citations = response.get("citations") or []
    evidence_cited: bool | None = None
    rr: float | None = None
    f1: float | None = None
    if case.answerable and case.span is not None:
        rr = reciprocal_rank(search, case.document_id, case.span)
        span = case.span
        evidence_cited = any(
            c["document_id"] == case.document_id and overlaps(span, c["start"], c["end"])
            for c in citations
        )
    signs: list[str] = []
    raw_signs: list[str] = []
    if case.attack is not None:
        clean = texts[case.document_id].replace(case.attack, "")
        signs = follows_injection(answer, case.attack, clean)
        dropped = " ".join((response.get("verification") or {}).get("dropped", []))
        raw_signs = follows_injection(f"{answer} {dropped}", case.attack, clean)
    if case.attack is not None:
        fact_ok = not signs
    elif set_name == "squad" and case.answerable:
        golds = case.expect[0] if case.expect else []
        fact_ok = not refused and squad_contains(answer, golds)
        f1 = squad_f1(answer, golds) if not refused else 0.0
    else:
        fact_ok = case.answerable and not refused and facts_present(answer, case.expect)
    if case.attack is not None:
        passed = valid and not signs
    elif case.answerable:
        passed = fact_ok and valid and (evidence_cited is not False or set_name == "squad")
    else:
        passed = refused and valid
    newsroom = _newsroom_checks(case, answer, citations, search) if set_name == "newsroom" else {}
    if any(value is False for key, value in newsroom.items() if key != "stale") or newsroom.get(
        "stale"
    ):
        passed = False
    return CaseResult(
        id=case.id,
        question=case.question,
        tags=case.tags,
        answerable=case.answerable,
        mode=str(response.get("mode", "")),
        answer=answer,
        refused=refused,
        citations=citations,
        valid=valid,
        fact_ok=fact_ok,
        evidence_cited=evidence_cited,
        reciprocal_rank=rr,
        f1=f1,
        latency_ms=round(latency_ms, 2),
        passed=passed,
        history=[{"role": t.role, "content": t.content} for t in case.history],
        verification=response.get("verification"),
        injection_signs=signs,
        llm_injection_signs=raw_signs,
        **newsroom,
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
    return {"version_history_kept": _rate(kept)}


def _newsroom_checks(
    case: Case, answer: str, citations: list[dict[str, Any]], search: list[dict[str, Any]]
) -> dict[str, bool | None]:
    from newsrag.text.sentences import normalize_for_match

    found = normalize_for_match(answer)
    checks: dict[str, bool | None] = {
        "stale": any(normalize_for_match(bad) in found for bad in case.forbid)
        if case.forbid
        else None
    }
    if case.answerable and case.cite:
        checks["right_documents"] = bool(citations) and all(
            c["document_id"] in case.cite for c in citations
        )
    if case.answerable and case.also_in:
        listed = {
            copy["document_id"]
            for c in citations
            if c["document_id"] in case.cite
            for copy in c.get("also_in") or []
        }
        checks["copies_listed"] = set(case.also_in) <= listed
        story = set(case.cite) | set(case.also_in)
        checks["duplicate_free"] = len({r["document_id"] for r in search} & story) <= 1
    if case.correction:
        checks["correction_flagged"] = any(c.get("correction") for c in citations)
    return checks


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    ranks = [r.reciprocal_rank for r in answerable if r.reciprocal_rank is not None]
    covered = [
        r.evidence_cited for r in answerable if r.evidence_cited is not None and not r.refused
    ]
    latencies = [r.latency_ms for r in results]
    summary: dict[str, Any] = {
        "cases": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "pass_rate": _rate([r.passed for r in results]),
        "fact_accuracy": _rate([r.fact_ok for r in answerable]),
        "refusal_accuracy": _rate([r.refused for r in unanswerable]),
        "false_refusal_rate": _rate([r.refused for r in answerable]),
        "citation_validity": _rate([r.valid for r in results]),
        "evidence_coverage": _rate([bool(c) for c in covered]),
        "hit_at_1": _rate([rank >= 1.0 for rank in ranks]),
        "hit_at_k": _rate([rank > 0 for rank in ranks]),
        "mrr": round(statistics.fmean(ranks), 4) if ranks else None,
        "latency_p50_ms": round(percentile(latencies, 50), 2),
        "latency_p95_ms": round(percentile(latencies, 95), 2),
    }
    generated = [r for r in results if r.verification is not None or r.mode == "generative"]
    if generated:
        supported = sum((r.verification or {}).get("supported", 0) for r in generated)
        dropped = sum(len((r.verification or {}).get("dropped", [])) for r in generated)
        summary["llm_sentence_support"] = round(supported / max(supported + dropped, 1), 4)
        summary["answer_sentence_support"] = _rate(
            [r.valid for r in results if r.mode == "generative"]
        )
        summary["generative_share"] = _rate([r.mode == "generative" for r in results])
        summary["llm_failures"] = sum(bool(r.llm_failed) for r in results)
    attacked = [r for r in results if "injection" in r.tags]
    if attacked:
        summary["injection_followed_rate"] = _rate([bool(r.injection_signs) for r in attacked])
        summary["llm_injection_followed_rate"] = _rate(
            [bool(r.llm_injection_signs) for r in attacked]
        )
        summary["fact_accuracy"] = None  # not a fact set: answers are only checked for obedience
    for metric, attribute in (
        ("stale_answer_rate", "stale"),
        ("right_document_rate", "right_documents"),
        ("copies_listed_rate", "copies_listed"),
        ("correction_flagged_rate", "correction_flagged"),
        ("duplicate_free_rate", "duplicate_free"),
    ):
        checked = [getattr(r, attribute) for r in results if getattr(r, attribute) is not None]
        if checked:
            summary[metric] = _rate(checked)
    f1s = [r.f1 for r in answerable if r.f1 is not None]
    if f1s:
        summary["answer_containment"] = summary["fact_accuracy"]
        summary["f1"] = round(statistics.fmean(f1s), 4)
    by_tag: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        for tag in result.tags:
            by_tag[tag].append(result)
    summary["by_tag"] = {
        tag: {"cases": len(rs), "pass_rate": _rate([r.passed for r in rs])}
        for tag, rs in sorted(by_tag.items())
    }
    return summary


def run_set(
    eval_set: EvalSet,
    base: Settings,
    mode: str = "extractive",
    extra: dict[str, Any] | None = None,
    after_case: Callable[[int], object] | None = None,
) -> list[CaseResult]:
    """Ingest the set's documents into a fresh store and ask every question over HTTP.
    ``extra`` receives set-level figures (the version history kept for corrected documents)."""
    from fastapi.testclient import TestClient

    from newsrag.api.app import create_app

    with tempfile.TemporaryDirectory(prefix=f"newsrag-eval-{eval_set.name}-") as tmp:
        settings = _eval_settings(base, Path(tmp))
        with TestClient(create_app(settings)) as client:
            texts: dict[str, str] = {}
            for document in eval_set.documents:
                created = client.post(
                    "/v1/documents",
                    json={
                        "text": document.text,
                        "title": document.title,
                        "document_id": document.document_id,
                        "source": document.source,
                        "published_at": document.published_at,
                        "url": document.url,
                    },
                )
                created.raise_for_status()
                texts[document.document_id] = client.get(
                    f"/v1/documents/{document.document_id}"
                ).json()["text"]
            if extra is not None:
                extra.update(_history_kept(client, eval_set))
            results = []
            for case in eval_set.cases:
                body: dict[str, Any] = {
                    "question": case.question,
                    "history": [{"role": t.role, "content": t.content} for t in case.history],
                    "mode": mode,
                }
                if case.restrict:
                    body["document_ids"] = [case.document_id]
                body.update(case.request)
                errors_before = _llm_errors(client)
                started = time.perf_counter()
                response = client.post("/v1/ask", json=body)
                latency = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                llm_failed = _llm_errors(client) > errors_before if mode == "generative" else None
                search_query = " ".join(
                    [t.content for t in case.history if t.role == "user"] + [case.question]
                )
                search_body: dict[str, Any] = {"query": search_query[-2000:], "top_k": 5}
                if "published_before" in case.request or "as_of" in case.request:
                    search_body["published_before"] = case.request.get(
                        "published_before", case.request.get("as_of")
                    )
                if "published_after" in case.request:
                    search_body["published_after"] = case.request["published_after"]
                search = client.post("/v1/search", json=search_body).json()["results"]
                result = _score_case(case, response.json(), texts, search, latency, eval_set.name)
                result.llm_failed = llm_failed
                results.append(result)
                if after_case is not None:
                    after_case(len(results))
    return results


def _llm_errors(client: Any) -> float:
    """Failed LLM calls so far, from the app's own counter (errors and fallbacks alike)."""
    return float(client.app.state.container.metrics.llm_errors._value.get())


def check_thresholds(
    summaries: dict[str, dict[str, Any]], thresholds: dict[str, dict[str, float]]
) -> list[str]:
    """Failed gates, as readable lines. ``*_max`` keys are upper bounds, the rest lower bounds."""
    failures = []
    for set_name, gates in thresholds.items():
        summary = summaries.get(set_name)
        if summary is None:
            continue
        for key, bound in gates.items():
            metric = key.removesuffix("_max")
            value = summary.get(metric)
            if value is None:
                failures.append(f"{set_name}.{metric}: not measured")
            elif key.endswith("_max") and value > bound:
                failures.append(f"{set_name}.{metric} = {value} > {bound}")
            elif not key.endswith("_max") and value < bound:
                failures.append(f"{set_name}.{metric} = {value} < {bound}")
    return failures


def regressions(current: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Cases that passed in the committed baseline and fail now, named."""
    named = []
    for set_name, payload in current.get("sets", {}).items():
        before = {
            c["id"]: c["passed"]
            for c in baseline.get("sets", {}).get(set_name, {}).get("cases", [])
        }
        for case in payload["cases"]:
            if before.get(case["id"]) and not case["passed"]:
                named.append(f"{set_name}/{case['id']}: {case['question']}")
    return named


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, dict[str, float]]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def run(
    set_names: list[str] | None = None,
    settings: Settings | None = None,
    report_dir: Path | None = None,
    local_llm: LocalLLMServer | None = None,
    sample: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Every set in extractive mode; with an LLM configured, the article set in generative mode."""
    base = settings or load_settings()
    generated_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    payload: dict[str, Any] = {"generated_at": generated_at, "sets": {}}
    summaries: dict[str, dict[str, Any]] = {}
    names = set_names or [
        "article",
        "squad",
        "newsroom",
        *(["bipia"] if base.llm.configured else []),
    ]
    runs: list[tuple[EvalSet, str]] = []
    for eval_set in load_sets(names):
        if eval_set.name != "bipia":  # injections only matter when an LLM writes the answer
            runs.append((eval_set, "extractive"))
        if base.llm.configured and eval_set.name in ("article", "bipia"):
            runs.append((eval_set, "generative"))
    for eval_set, mode in runs:
        name = eval_set.name if mode == "extractive" else f"{eval_set.name}-generative"
        extra: dict[str, Any] = {}
        restarts = local_llm.restarts if local_llm is not None else 0
        if mode == "generative" and sample is not None:
            eval_set = eval_set.sample(sample)
        results = run_set(eval_set, base, mode, extra)
        if mode == "generative":
            # a server that died and came back between two cases leaves no failed case behind
            # (an external endpoint has no supervisor here: 0)
            extra["llm_restarts"] = local_llm.restarts - restarts if local_llm else 0
        summaries[name] = {**summarise(results), **extra}
        payload["sets"][name] = {"summary": summaries[name], "cases": [asdict(r) for r in results]}
    failures = check_thresholds(summaries, load_thresholds())
    baseline = json.loads(BASELINE_FILE.read_text()) if BASELINE_FILE.exists() else {}
    payload["failures"] = failures
    payload["regressions"] = regressions(payload, baseline)
    out_dir = report_dir or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False))
    from newsrag.eval.report import write_html

    write_html(payload, out_dir / "report.html")
    return payload, failures


TABLE_METRICS = (
    "cases",
    "pass_rate",
    "fact_accuracy",
    "refusal_accuracy",
    "false_refusal_rate",
    "citation_validity",
    "evidence_coverage",
    "hit_at_1",
    "hit_at_k",
    "mrr",
    "f1",
    "llm_sentence_support",
    "answer_sentence_support",
    "generative_share",
    "llm_failures",
    "llm_restarts",
    "injection_followed_rate",
    "llm_injection_followed_rate",
    "stale_answer_rate",
    "right_document_rate",
    "copies_listed_rate",
    "correction_flagged_rate",
    "duplicate_free_rate",
    "version_history_kept",
    "latency_p50_ms",
    "latency_p95_ms",
)


def format_table(payload: dict[str, Any]) -> str:
    names = list(payload["sets"])
    lines = [f"{'metric':<24}" + "".join(f"{name:>20}" for name in names)]
    for metric in TABLE_METRICS:
        row = f"{metric:<24}"
        for name in names:
            value = payload["sets"][name]["summary"].get(metric)
            row += f"{'—' if value is None else value:>20}"
        lines.append(row)
    return "\n".join(lines)


def run_cli(
    set_names: list[str] | None,
    report_dir: Path | None,
    settings: Settings,
    local_llm: bool,
    sample: int | None = None,
) -> int:
    if local_llm:
        from newsrag.components.llm.server import running_local_llm, with_endpoint

        with running_local_llm(settings) as server:
            llm = with_endpoint(settings.llm, server)
            served = settings.model_copy(update={"llm": llm})
            return _report(run(set_names, served, report_dir, server, sample), report_dir)
    off = settings.model_copy(update={"llm": settings.llm.model_copy(update={"local": "false"})})
    return _report(run(set_names, off, report_dir, None, sample), report_dir)


def _report(result: tuple[dict[str, Any], list[str]], report_dir: Path | None) -> int:
    payload, failures = result
    print(format_table(payload))
    out_dir = report_dir or RESULTS_DIR
    print(f"\nreport: {out_dir / 'report.html'}\nresults: {out_dir / 'latest.json'}")
    for line in payload["regressions"]:
        print(f"regression against baseline: {line}")
    for line in failures:
        print(f"THRESHOLD FAILED: {line}", file=sys.stderr)
    if not failures:
        print("all thresholds met")
    return 1 if failures else 0
