"""Calibrate the LLM reader's decision to answer, with a held-out check.

``python -m newsrag.eval.calibrate_reader`` starts the local model, asks the reader every
question of the article set and a seeded sample of the SQuAD 2.0 set, and records what its
confidence weighs (the model's verdict, the fast scorer's best score, whether the model chose
the fast scorer's best sentence) and the gate (whether the chosen articles' passages name every
name and number of the question) with whether the question is answerable. It fits a logistic
regression on half of the questions (seeded, stratified by set and answerability), picks the
threshold that refuses most unanswerable questions while wrongly refusing at most ``--max-false-
refusal`` of the answerable ones, and reports both halves; then fits on all and prints the
``NEWSRAG_READING_*`` values.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np

from newsrag.config import ChromaSettings, Settings, load_settings
from newsrag.eval.dataset import EvalSet, load_sets
from newsrag.schemas import AskRequest, Message

FEATURES = ("verdict", "best", "agree")
# "verdict" is the model's graded verdict (its probability of `answerable: true`) where the
# server gives token probabilities; "said" is its plain yes/no, kept to compare the two (AUC).
COMPARED = ("said", "verdict", "best")
# Not weighed but a gate: a question naming someone or something (a name, a number, a year) that
# no retrieved passage of the chosen articles names is refused whatever the score.
GATE = "covers"
Row = dict[str, float | str | bool]


def collect(eval_set: EvalSet, base: Settings) -> list[Row]:
    from newsrag.api.container import Container
    from newsrag.models import Article

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = base.model_copy(
            update={
                "data_dir": Path(tmp),
                "bootstrap": False,
                "chroma": ChromaSettings(host=None, collection_prefix="newsrag-calibrate"),
            }
        )
        services = Container(settings).services
        for document in eval_set.documents:
            services.ingestor.ingest(
                Article(document.text, document.title, document.document_id, source=document.source)
            )
        ask, reader = services.ask, services.ask.reader
        if reader is None:
            raise SystemExit("no LLM reader: the local model is not available")
        for case in eval_set.cases:
            request = AskRequest(
                question=case.question,
                history=[Message(role=t.role, content=t.content) for t in case.history],  # type: ignore[arg-type]
            )
            retrieval = ask.retrieve(request)
            grounding = ask.grounding(request, retrieval)
            question = retrieval.query.question if not case.history else retrieval.query.text
            reading = reader.read(question, retrieval.passages, grounding.relevance)
            row: Row = {"set": eval_set.name, "id": case.id, "answerable": case.answerable}
            names = (*FEATURES, GATE, "said", "graded")
            row.update({name: reading.features.get(name, 0.0) for name in names})
            rows.append(row)
            print(f"{eval_set.name} {len(rows):4} {rows[-1]}", flush=True)
    return rows


def fit(rows: list[Row], l2: float = 0.1) -> np.ndarray:
    """Logistic regression (bias first) by Newton's method with a small L2 penalty."""
    x = np.array([[1.0, *(float(r[f]) for f in FEATURES)] for r in rows])
    y = np.array([float(bool(r["answerable"])) for r in rows])
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + l2 * np.r_[0.0, w[1:]]
        hessian = (x.T * (p * (1 - p))) @ x + l2 * np.diag(np.r_[0.0, np.ones(len(w) - 1)])
        w -= np.linalg.solve(hessian, gradient)
    return w


def scores(rows: list[Row], w: np.ndarray) -> np.ndarray:
    x = np.array([[1.0, *(float(r[f]) for f in FEATURES)] for r in rows])
    result: np.ndarray = 1.0 / (1.0 + np.exp(-(x @ w)))
    return result


def figures(rows: list[Row], w: np.ndarray, threshold: float) -> tuple[float, float]:
    """(refusal accuracy on unanswerable, false-refusal rate on answerable)."""
    s = scores(rows, w)
    answerable = np.array([bool(r["answerable"]) for r in rows])
    refused = (s < threshold) | np.array([not r[GATE] for r in rows])
    refusal = float(refused[~answerable].mean()) if (~answerable).any() else 1.0
    false_refusal = float(refused[answerable].mean()) if answerable.any() else 0.0
    return refusal, false_refusal


def choose_threshold(rows: list[Row], w: np.ndarray, max_false_refusal: float) -> float:
    """The highest threshold whose false-refusal rate stays within the target in every set."""
    sets = sorted({str(r["set"]) for r in rows})
    for threshold in np.arange(0.95, 0.04, -0.01):
        if all(
            figures([r for r in rows if r["set"] == name], w, float(threshold))[1]
            <= max_false_refusal
            for name in sets
        ):
            return round(float(threshold), 2)
    return 0.05


def split(rows: list[Row], seed: int = 7) -> tuple[list[Row], list[Row]]:
    rng = random.Random(seed)
    fit_half: list[Row] = []
    check_half: list[Row] = []
    for key in sorted({(str(r["set"]), bool(r["answerable"])) for r in rows}):
        group = [r for r in rows if (r["set"], r["answerable"]) == key]
        rng.shuffle(group)
        fit_half += group[: len(group) // 2]
        check_half += group[len(group) // 2 :]
    return fit_half, check_half


def auc(rows: list[Row], feature: str) -> float | None:
    """How well ``feature`` alone ranks answerable above unanswerable questions (ties count
    half); None when a set has only one kind."""
    yes = [float(r.get(feature, 0.0)) for r in rows if r["answerable"]]
    no = [float(r.get(feature, 0.0)) for r in rows if not r["answerable"]]
    if not yes or not no:
        return None
    wins = sum((a > b) + 0.5 * (a == b) for a in yes for b in no)
    return wins / (len(yes) * len(no))


def report_auc(rows: list[Row], w: np.ndarray) -> None:
    for name in sorted({str(r["set"]) for r in rows}):
        part = [r for r in rows if r["set"] == name]
        confidence = [
            {**r, "confidence": float(s)} for r, s in zip(part, scores(part, w), strict=True)
        ]
        figures_ = {f: auc(part, f) for f in COMPARED} | {
            "confidence": auc(confidence, "confidence")
        }
        shown = " ".join(f"{k}={v:.3f}" for k, v in figures_.items() if v is not None)
        graded = sum(bool(r.get("graded")) for r in part)
        print(f"  AUC {name:8} {shown} (graded {graded}/{len(part)})")


def report(rows: list[Row], w: np.ndarray, threshold: float, label: str) -> None:
    for name in sorted({str(r["set"]) for r in rows}):
        refusal, false_refusal = figures([r for r in rows if r["set"] == name], w, threshold)
        print(f"  {label:10} {name:8} refusal={refusal:.3f} false_refusal={false_refusal:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-false-refusal", type=float, default=0.1)
    parser.add_argument("--squad-sample", type=int, default=80)
    parser.add_argument("--rgb-sample", type=int, default=60)
    parser.add_argument("--cache", type=Path, default=None, help="reuse collected features")
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        rows: list[Row] = json.loads(args.cache.read_text())
    else:
        from newsrag.components.llm.server import running_local_llm, with_endpoint

        loaded = load_settings()  # no read deadline: what the model says, however long it takes
        base = loaded.model_copy(
            update={"reading": loaded.reading.model_copy(update={"deadline_s": 0.0})}
        )
        rows = []
        with running_local_llm(base) as server:
            settings = base.model_copy(update={"llm": with_endpoint(base.llm, server)})
            for eval_set in load_sets(["article", "squad", "rgb"]):
                if eval_set.name == "squad":
                    eval_set = eval_set.sample(args.squad_sample)
                if eval_set.name == "rgb":
                    eval_set = eval_set.sample(args.rgb_sample)
                rows += collect(eval_set, settings)
        if args.cache:
            args.cache.write_text(json.dumps(rows))
    fit_half, check_half = split(rows)
    w = fit(fit_half)
    threshold = choose_threshold(fit_half, w, args.max_false_refusal)
    print(f"fitted on half: weights={np.round(w, 3).tolist()} threshold={threshold}")
    report(fit_half, w, threshold, "fit half")
    report(check_half, w, threshold, "held out")
    w = fit(rows)
    threshold = choose_threshold(rows, w, args.max_false_refusal)
    print("fitted on all:")
    report(rows, w, threshold, "all")
    report_auc(rows, w)
    names = ["BIAS", *(f"{f.upper()}_WEIGHT" for f in ("model", "score", "agree"))]
    for name, value in zip(names, w, strict=True):
        print(f"NEWSRAG_READING_{name}={value:.3f}")
    print(f"NEWSRAG_READING_THRESHOLD={threshold}")


if __name__ == "__main__":
    main()
