"""The LLM reader: a model reads the best sentences of the retrieved passages and decides.

It is shown the candidate sentences, numbered, under a line naming each article, and replies in
JSON constrained by a schema: whether they answer the question, which sentence numbers are the
evidence (from several articles when the question needs them), and the answer in a few words
copied from them. Generative mode asks for its own answer in the same reply, after the decision.

Whether to answer is not the model's yes alone: a logistic function of its verdict, the fast
scorer's best evidence score and whether it chose the fast scorer's best sentence gives a
confidence, compared with a threshold fitted on labelled questions (``calibrate_reader``); and a
question naming someone or something (a name, a number, a year) that no retrieved passage of the
chosen articles names is refused whatever the confidence.
The cascade skips the model when the fast scorer is sure: nothing relevant at all (refuse) or,
when configured, a clearly answering sentence (the fast path answers).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from newsrag.answering.verification import names_and_numbers_in, parse_claims
from newsrag.components.llm.client import LLMClient, Messages, Token
from newsrag.components.store.chroma import SentenceRow
from newsrag.config import ReadingSettings
from newsrag.errors import ModelBusy
from newsrag.prompts import render, text
from newsrag.retrieval.hybrid import Passage
from newsrag.text.chunking import ENCODING_NAME

if TYPE_CHECKING:
    import tiktoken

    from newsrag.answering.extractive import ExtractiveAnswerer

Candidate = tuple[SentenceRow, Passage]
NOT_IN_DOCUMENTS = "NOT_IN_DOCUMENTS"

READ_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answerable": {"type": "boolean"},
        "sentences": {"type": "array", "items": {"type": "integer"}, "maxItems": 4},
        "short_answer": {"type": "string", "maxLength": 120},
    },
    "required": ["answerable", "sentences", "short_answer"],
}
# Writing: the answer comes before the short answer, so the words the model writes first are
# its answer's (as in the prompt).
WRITE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answerable": {"type": "boolean"},
        "sentences": {"type": "array", "items": {"type": "integer"}},
        "answer": {"type": "string"},
        "short_answer": {"type": "string", "maxLength": 120},
    },
    "required": ["answerable", "sentences", "answer", "short_answer"],
}


VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["verdict"],
}


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)


@dataclass(frozen=True, slots=True)
class Reply:
    """The model's reply, parsed: its verdict, the sentence numbers, its short and long answer."""

    answerable: bool
    sentences: list[int]
    short_answer: str = ""
    answer: str = ""
    prose: bool = False  # not JSON: an endpoint without JSON mode answered in prose


@dataclass(frozen=True, slots=True)
class Reading:
    """The reader's decision. ``evidence`` are the candidates the model chose (in its order);
    ``numbers`` index ``candidates`` from 1, as the model saw them."""

    answerable: bool
    score: float
    threshold: float
    model: bool
    candidates: list[Candidate] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    short_answer: str = ""
    answer: str = ""
    features: dict[str, float] = field(default_factory=dict)  # what the confidence weighed

    @property
    def evidence(self) -> list[Candidate]:
        return [self.candidates[n - 1] for n in self.numbers]


def parse_reply(raw: str) -> Reply:
    """The reply as a :class:`Reply`. The schema constrains it on servers that take one; an
    endpoint in plain JSON mode may still answer in prose (``[n]`` markers, NOT_IN_DOCUMENTS)."""
    if NOT_IN_DOCUMENTS in raw:
        return Reply(False, [])
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if raw.lstrip().startswith("{") and not isinstance(data, dict):
        return Reply(False, [])  # JSON cut short (the token limit): nothing to trust
    if not isinstance(data, dict):
        return Reply(bool(raw.strip()), [], "", raw.strip(), prose=True)
    numbers = data.get("sentences")
    sentences = [n for n in numbers if type(n) is int] if isinstance(numbers, list) else []
    short, answer = data.get("short_answer"), data.get("answer")
    return Reply(
        answerable=data.get("answerable") is True,
        sentences=list(dict.fromkeys(sentences)),
        short_answer=short.strip() if isinstance(short, str) else "",
        answer=answer.strip() if isinstance(answer, str) else "",
    )


def listing(candidates: list[Candidate]) -> str:
    """Numbered sentences under a line naming each article (title, source, date)."""
    lines: list[str] = []
    current = None
    for number, (row, passage) in enumerate(candidates, start=1):
        document = passage.document
        if document.document_id != current:
            current = document.document_id
            byline = ", ".join(p for p in (document.source, document.published_at) if p)
            lines.append(
                render(
                    "passage",
                    title=document.title or document.document_id,
                    byline=f" ({byline})" if byline else "",
                )
            )
        lines.append(f"[{number}] {row.text}")
    return "\n".join(lines)


def answerable_probability(tokens: list[Token]) -> float | None:
    """The model's probability that the sentences answer: at the token where it writes the
    ``answerable`` value, the weight of ``true`` against ``false`` among its top alternatives
    (None when the server gave no probabilities)."""
    written = ""
    for token in tokens:
        if token.text.strip() and '"answerable"' in written and written.rstrip().endswith(":"):
            yes = sum(p for t, p in token.top.items() if _starts("true", t))
            no = sum(p for t, p in token.top.items() if _starts("false", t))
            return yes / (yes + no) if yes + no > 0 else None
        written += token.text
    return None


def _starts(word: str, token: str) -> bool:
    """``token`` begins ``word`` ("t", "tr", " true"), not another word ("the", "to")."""
    piece = token.strip().lower()
    return bool(piece) and word.startswith(piece)


def covers_question(question: str, numbers: list[int], candidates: list[Candidate]) -> bool:
    """Every name and number the question asks about is in a retrieved passage of an article
    the answer rests on: "What did Angela Merkel say?" is not answered by an article that never
    names her, nor "revenue in 2021" by a report on 2023."""
    documents = {
        candidates[n - 1][1].document.document_id for n in numbers if 1 <= n <= len(candidates)
    } or {passage.document.document_id for _, passage in candidates}
    texts = [
        f"{p.document.source or ''}\n{p.document.title}\n{p.chunk.text}"
        for _, p in candidates
        if p.document.document_id in documents
    ]
    asked = question[:1].lower() + question[1:]  # "What", "Who": not names
    return bool(texts) and names_and_numbers_in(asked, *texts)


class LLMReader:
    def __init__(
        self,
        llm: LLMClient,
        extractive: ExtractiveAnswerer,
        settings: ReadingSettings,
        context_tokens: int,
    ) -> None:
        self._llm = llm
        self._extractive = extractive
        self.settings = settings
        self._budget = context_tokens
        self._deadline_s = settings.deadline_s or None
        # on 2 cores, four reads at once all missed a 10 s deadline and two at once 14 of 15
        # (make bench): a read the machine cannot finish in time is not started
        limit = settings.concurrency
        self._reads = threading.BoundedSemaphore(limit) if limit else None
        self._write_deadline_s = llm.settings.write_deadline_s or None

    @contextmanager
    def _admitted(self) -> Iterator[None]:
        """A model read, if one is free; :class:`ModelBusy` at once otherwise."""
        if self._reads is None:
            yield
            return
        if not self._reads.acquire(blocking=False):
            raise ModelBusy(f"the model is busy with {self.settings.concurrency} other questions")
        try:
            yield
        finally:
            self._reads.release()

    def candidates(
        self, passages: list[Passage], relevance: dict[tuple[str, int], float], limit: int
    ) -> list[Candidate]:
        """The sentences the model reads: the most relevant by the fast scorer, within the token
        budget, shown in article order (so a position says nothing about a score, and a
        quotation stays after its attribution)."""
        seen: dict[tuple[str, int], Candidate] = {}
        for row, passage in self._extractive.candidate_sentences(passages):
            seen.setdefault((row.document_id, row.index), (row, passage))
        ranked = sorted(seen.items(), key=lambda item: (-relevance.get(item[0], 0.0), item[0]))
        chosen: list[Candidate] = []
        used = 0
        for _, (row, passage) in ranked[:limit]:
            cost = len(_encoding().encode(row.text)) + 4
            if chosen and used + cost > self._budget:
                break
            chosen.append((row, passage))
            used += cost
        order: dict[str, int] = {}
        for n, p in enumerate(passages):
            order.setdefault(p.document.document_id, n)
        chosen.sort(key=lambda item: (order[item[0].document_id], item[0].index))
        return chosen

    def confidence(self, verdict: float, best: float, agree: bool = False) -> float:
        """How sure the reader is that the passages answer: a logistic function of the model's
        verdict (its probability of ``answerable: true`` where the server gives token
        probabilities, else 0 or 1), the fast scorer's best score and whether the model chose
        the fast scorer's best sentence (fitted by ``calibrate_reader``)."""
        s = self.settings
        z = s.bias + s.model_weight * verdict + s.score_weight * best + s.agree_weight * agree
        return 1.0 / (1.0 + math.exp(-z))

    def read(
        self,
        question: str,
        passages: list[Passage],
        relevance: dict[tuple[str, int], float],
        *,
        write: bool = False,
        limit: int | None = None,
        asked: str | None = None,
    ) -> Reading:
        """Ask the model. ``asked`` is the question in the user's own words, for the gate on
        names and numbers (``question`` may carry words of earlier turns). Raises
        :class:`~newsrag.errors.LLMUnavailable` when the model cannot answer."""
        best = max(relevance.values(), default=0.0)
        threshold = self.settings.threshold
        candidates = self.candidates(passages, relevance, limit or self.settings.sentences)
        if not candidates:
            return Reading(False, self.confidence(False, best), threshold, model=False)
        messages: Messages = [
            {"role": "system", "content": text("system" if write else "reader")},
            {
                "role": "user",
                "content": render("answer", sentences=listing(candidates), question=question),
            },
        ]
        with self._admitted():
            raw = self._llm.chat_json(
                messages,
                WRITE_SCHEMA if write else READ_SCHEMA,
                deadline_s=self._write_deadline_s if write else self._deadline_s,
                # graded where the server is llama.cpp's (json_schema: the supervised one); a
                # remote model may refuse logprobs outright
                top_logprobs=5 if self._llm.settings.json_schema else 0,
            )
        reply = parse_reply(raw.text)
        numbers = [n for n in reply.sentences if 1 <= n <= len(candidates)]
        if not numbers:  # an endpoint without JSON mode: the answer's [n] markers
            marked = [m for claim in parse_claims(reply.answer) for m in claim.markers]
            numbers = [n for n in dict.fromkeys(marked) if 1 <= n <= len(candidates)]
        covers = covers_question(asked or question, numbers, candidates)
        grounded = bool(numbers) or (write and reply.prose)  # prose is verified claim by claim
        top = max(relevance, key=relevance.__getitem__, default=None)
        agree = any(
            (candidates[n - 1][0].document_id, candidates[n - 1][0].index) == top for n in numbers
        )
        graded = answerable_probability(raw.tokens)
        said = float(reply.answerable) if graded is None else graded
        verdict = said if grounded else 0.0
        score = self.confidence(verdict, best, agree)
        # The threshold was fitted on reading; when the model writes, its own verdict decides
        # (measured: the fitted threshold refused answers the writer got right).
        decided = reply.answerable if write else score >= threshold
        return Reading(
            answerable=covers and grounded and decided,
            score=round(score, 4),
            threshold=threshold,
            model=True,
            candidates=candidates,
            numbers=numbers,
            short_answer=reply.short_answer,
            answer=reply.answer,
            features={
                "verdict": verdict,
                "said": float(reply.answerable and grounded),
                "graded": float(graded is not None),
                "best": best,
                "covers": float(covers),
                "agree": float(agree),
            },
        )

    def judge(self, question: str, groups: list[tuple[str, list[str]]]) -> str | None:
        """The model's yes or no on ``question`` over each part's sentences (``groups``: what
        the part asks, its cited sentences); None when the reply is neither. Raises
        :class:`~newsrag.errors.LLMUnavailable` when the model cannot answer."""
        listed = "\n\n".join(
            f"Part {n}: {asks}\n" + "\n".join(f"- {sentence}" for sentence in sentences)
            for n, (asks, sentences) in enumerate(groups, start=1)
        )
        messages: Messages = [
            {"role": "system", "content": text("verdict")},
            {
                "role": "user",
                "content": render("verdict_question", groups=listed, question=question),
            },
        ]
        with self._admitted():
            raw = self._llm.chat_json(messages, VERDICT_SCHEMA, deadline_s=self._deadline_s).text
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        verdict = data.get("verdict") if isinstance(data, dict) else None
        return verdict.strip().lower() if isinstance(verdict, str) else None
