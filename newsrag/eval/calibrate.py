"""Calibrate the extractive evidence score and refusal threshold on the eval sets.

``python -m newsrag.eval.calibrate`` ingests each set into a temporary store, records for every
question the features of its best candidate sentences, then searches the score weights and the
refusal threshold that maximise refusal of unanswerable questions while keeping wrong refusals of
answerable ones at or under a target. It prints the chosen values and, to show they are not fitted
to one text, the figures when fitted on one SQuAD article and applied to the other."""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from newsrag.answering.answer_types import expectation, is_fragment
from newsrag.config import ChromaSettings, RetrievalSettings, Settings, load_settings
from newsrag.eval.dataset import EvalSet, load_sets
from newsrag.eval.metrics import facts_present, squad_contains
from newsrag.schemas import AskRequest, Message


@dataclass(frozen=True, slots=True)
class Candidate:
    dense: float
    lexical: float
    type_ok: bool
    correct: bool
    fragment: bool = False
    polarity_ok: bool = True


@dataclass(frozen=True, slots=True)
class Sample:
    set_name: str
    document_id: str
    answerable: bool
    candidates: list[Candidate]


def collect(eval_set: EvalSet, base: Settings) -> list[Sample]:
    from newsrag.api.container import Container
    from newsrag.models import Article

    samples: list[Sample] = []
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
        extractive = services.ask._extractive
        lexical = services.retriever.index
        lexical.refresh()
        for case in eval_set.cases:
            request = AskRequest(
                question=case.question,
                history=[Message(role=t.role, content=t.content) for t in case.history],  # type: ignore[arg-type]
            )
            retrieval = services.ask.retrieve(request)
            scored = extractive.score(
                retrieval.query, extractive.candidate_sentences(retrieval.passages)
            )
            expected = expectation(case.question)
            candidates = []
            for sentence in sorted(scored, key=lambda s: -(s.dense + s.lexical))[:8]:
                text = sentence.row.text
                if eval_set.name == "squad":
                    correct = case.answerable and squad_contains(text, case.expect[0])
                else:
                    correct = case.answerable and facts_present(text, case.expect)
                candidates.append(
                    Candidate(
                        sentence.dense,
                        sentence.lexical,
                        expected.holds(text),
                        correct,
                        is_fragment(text),
                        expected.polarity_matches(text),
                    )
                )
            samples.append(
                Sample(
                    eval_set.name,
                    case.document_id,
                    case.answerable,
                    candidates,
                )
            )
    return samples


MARGIN = 0.1
# held at their defaults, not searched
FRAGMENT_WEIGHT = RetrievalSettings().fragment_weight
NEGATION_WEIGHT = RetrievalSettings().negation_weight


Params = tuple[float, float, float]  # dense weight, type weight, refusal threshold


def evaluate(samples: list[Sample], params: Params, keep: int) -> tuple[float, float, float]:
    """(answer accuracy on answerable, refusal accuracy, false refusal rate) for one setting."""
    dense_w, type_w, threshold = params
    correct = refused_ok = false_refusals = answerable = unanswerable = 0
    for sample in samples:
        scores = [
            dense_w * c.dense
            + (1 - dense_w) * c.lexical
            - (0 if c.type_ok else type_w)
            - (FRAGMENT_WEIGHT if c.fragment else 0)
            - (0 if c.polarity_ok else NEGATION_WEIGHT)
            for c in sample.candidates
        ]
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        refuse = not scores or scores[order[0]] < threshold
        if sample.answerable:
            answerable += 1
            false_refusals += refuse
            floor = max(threshold, scores[order[0]] - MARGIN) if scores else 0.0
            kept = [i for i in order[:keep] if scores[i] >= floor]
            correct += not refuse and any(sample.candidates[i].correct for i in kept)
        else:
            unanswerable += 1
            refused_ok += refuse
    return (
        correct / max(answerable, 1),
        refused_ok / max(unanswerable, 1),
        false_refusals / max(answerable, 1),
    )


def search(samples: list[Sample], max_false_refusal: float, keep: int) -> Params:
    """The setting with the best mean (accuracy + refusal accuracy) over the sets, among those
    whose false-refusal rate stays at or under the target in every set."""
    sets = sorted({s.set_name for s in samples})
    by_set = {name: [s for s in samples if s.set_name == name] for name in sets}
    best: tuple[float, Params] | None = None
    for dense_w, type_w in itertools.product(
        [0.3, 0.4, 0.5, 0.6, 0.7], [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
    ):
        for step in range(0, 60):
            params = (dense_w, type_w, round(0.15 + step * 0.01, 3))
            figures = [evaluate(by_set[name], params, keep) for name in sets]
            if any(false_refusal > max_false_refusal for _, _, false_refusal in figures):
                continue
            objective = sum(accuracy + refusal for accuracy, refusal, _ in figures) / len(sets)
            if best is None or objective > best[0]:
                best = (objective, params)
    if best is None:
        raise SystemExit("no setting keeps false refusals under the target")
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-false-refusal", type=float, default=0.1)
    parser.add_argument("--keep", type=int, default=3, help="sentences per answer")
    parser.add_argument("--cache", type=Path, default=None, help="reuse collected features")
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        raw = json.loads(args.cache.read_text())
        samples = [
            Sample(
                s["set_name"],
                s["document_id"],
                s["answerable"],
                [Candidate(**c) for c in s["candidates"]],
            )
            for s in raw
        ]
    else:
        base = load_settings()
        samples = [
            s for eval_set in load_sets(["article", "squad"]) for s in collect(eval_set, base)
        ]
        if args.cache:
            from dataclasses import asdict

            args.cache.write_text(json.dumps([asdict(s) for s in samples]))
    chosen = search(samples, args.max_false_refusal, args.keep)
    print(f"chosen: dense_weight={chosen[0]} type_weight={chosen[1]} refusal_threshold={chosen[2]}")
    for name in ("article", "squad"):
        subset = [s for s in samples if s.set_name == name]
        accuracy, refusal, false_refusal = evaluate(subset, chosen, args.keep)
        print(
            f"  {name:8} accuracy={accuracy:.3f} refusal={refusal:.3f} "
            f"false_refusal={false_refusal:.3f}"
        )
    squad_docs = sorted({s.document_id for s in samples if s.set_name == "squad"})
    for held_out in squad_docs:
        fit = [s for s in samples if s.document_id != held_out]
        test = [s for s in samples if s.document_id == held_out]
        params = search(fit, args.max_false_refusal, args.keep)
        accuracy, refusal, false_refusal = evaluate(test, params, args.keep)
        print(
            f"  fitted without {held_out}: {params} -> on it accuracy={accuracy:.3f} "
            f"refusal={refusal:.3f} false_refusal={false_refusal:.3f}"
        )


if __name__ == "__main__":
    main()
