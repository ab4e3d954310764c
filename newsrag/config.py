"""One configuration object for the whole product, read from ``NEWSRAG_*`` variables and ``.env``.

Sections are their own ``BaseSettings`` with a longer prefix, so the variable names stay those of
the API contract (``NEWSRAG_LLM_BASE_URL``, ``NEWSRAG_CHROMA_HOST``) while the code reads
``settings.llm.base_url``. Tests build ``Settings(...)`` with explicit sections instead of
patching globals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsrag.errors import SettingsError

AnswerMode = Literal["extractive", "generative"]
ReaderKind = Literal["heuristic", "llm"]


class SettingConflict(ValueError):
    """A value that contradicts another setting of its section, raised by a model validator;
    ``field`` names the value to change (a model-level error has no location of its own)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        extra="ignore",
        validate_default=True,
        # a field with its own variable names (aliases) is still set by its name in code
        populate_by_name=True,
    )


class ChromaSettings(BaseSettings):
    """Where vectors, chunks and exact document texts live."""

    model_config = _config("NEWSRAG_CHROMA_")

    host: str | None = Field(default=None, description="Chroma server host; unset = embedded.")
    port: int = Field(default=8000, ge=1, le=65535)
    ssl: bool = False
    collection_prefix: str = Field(default="newsrag", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$")


class ChunkSettings(BaseSettings):
    """Token-aware chunking (tiktoken cl100k)."""

    model_config = _config("NEWSRAG_CHUNK_")

    size: int = Field(default=256, ge=32, le=2048, description="Chunk size in tiktoken tokens.")
    overlap: int = Field(default=32, ge=0, le=512, description="Overlap in tokens.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkSettings:
        if self.overlap >= self.size:
            raise SettingConflict("overlap", "must be smaller than NEWSRAG_CHUNK_SIZE")
        return self


class EmbeddingSettings(BaseSettings):
    """Options of the embedding backend chosen by ``NEWSRAG_EMBEDDINGS``."""

    model_config = _config("NEWSRAG_EMBEDDINGS_")

    model: str = Field(default="text-embedding-3-small", description="Model for `openai`.")
    base_url: str | None = Field(default=None, description="Endpoint for `openai`.")
    batch_size: int = Field(default=64, ge=1, le=1024)
    threads: int = Field(
        default=0, ge=0, le=64, description="ONNX threads for batches (ingest); 0 = all cores."
    )
    query_cache_size: int = Field(
        default=1024,
        ge=0,
        le=1_000_000,
        description="Vectors of this many recent distinct questions kept per process; 0 = off.",
    )
    query_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="ONNX threads for one question: concurrent requests then run side by side.",
    )
    int8_compute: bool = Field(
        default=True,
        description="`local`: run the matrix products in int8 (about 2x faster; vectors within "
        "cosine 0.98 of the float path). Each path stamps its own embedder name on the store.",
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description="Where the derived int8 model is cached; default $XDG_CACHE_HOME/newsrag.",
    )


class RetrievalSettings(BaseSettings):
    """Hybrid retrieval and the extractive answerer."""

    model_config = _config("NEWSRAG_RETRIEVAL_")

    top_k: int = Field(default=5, ge=1, le=20)
    candidates: int = Field(default=30, ge=1, le=200, description="Per-retriever pool for RRF.")
    dense_in_process_max_chunks: int = Field(
        default=200_000,
        ge=0,
        description="Up to this many chunks, each process keeps their vectors (updated with the "
        "corpus index) and searches them exactly; above it, or at 0, Chroma's HNSW index answers.",
    )
    index_catch_up_wait_s: float = Field(
        default=2.0,
        ge=0.0,
        description="When another process wrote, a question waits up to this long for the "
        "corpus index to catch up (reading the changed documents only), else it is answered "
        "from the index as it was while the catch-up goes on.",
    )
    keep_index: bool = Field(
        default=True,
        description="Keep the corpus index in the data folder (`index/`) after its first build "
        "and at shutdown, so a restart reads only the documents changed since.",
    )
    rrf_k: int = Field(default=60, ge=1)
    max_answer_sentences: int = Field(default=3, ge=1, le=5)
    answer_margin: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Extra sentences score within this of the best."
    )
    # A sentence's evidence score is dense_weight * cosine + (1 - dense_weight) * IDF-weighted
    # overlap with the question, minus type_weight when it lacks the answer type the question
    # wants (a number for "how many", a time for "when").
    # Fitted by `python -m newsrag.eval.calibrate`.
    dense_weight: float = Field(default=0.4, ge=0.0, le=1.0)
    type_weight: float = Field(default=0.15, ge=0.0, le=1.0)
    fragment_weight: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Subtracted from a line without closing punctuation (headline, caption).",
    )
    negation_weight: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Subtracted from a sentence without negation when the question is negated "
        '(at 1.0 only a negated sentence can answer "What is not …?").',
    )
    refusal_threshold: float = Field(
        default=0.33,
        description="Evidence score below which the answer is refused (see eval/calibrate.py).",
    )


class ReadingSettings(BaseSettings):
    """The LLM reader: what the model reads, when it is skipped, and its calibrated refusal."""

    model_config = _config("NEWSRAG_READING_")

    sentences: int = Field(
        default=8, ge=1, le=40, description="Candidate sentences the model reads, best first."
    )
    skip_below: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Cascade: when the fast scorer's best sentence scores under this, refuse "
        "without asking the model.",
    )
    skip_above: float = Field(
        default=1.0,
        ge=0.0,
        le=2.0,
        description="Cascade: when the fast scorer's best sentence scores at least this, answer "
        "with its sentences without asking the model (above 1: never).",
    )
    # The confidence that the passages answer is a logistic function of the model's verdict (its
    # probability of `answerable: true`),
    # the fast scorer's best score and whether the model chose the fast scorer's best sentence;
    # a question naming what the chosen articles' passages never name is refused regardless.
    # Fitted by `python -m newsrag.eval.calibrate_reader` (see docs/evaluation.md).
    bias: float = -2.811
    model_weight: float = 3.215
    score_weight: float = 0.616
    agree_weight: float = 0.704
    threshold: float = Field(default=0.40, ge=0.0, le=1.0)
    concurrency: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Model reads at once; a question beyond them is answered by the fast reader "
        "at once instead of queueing past its deadline (0 = no limit).",
    )
    deadline_s: float = Field(
        default=10.0,
        ge=0.0,
        le=600.0,
        validation_alias=AliasChoices("NEWSRAG_READ_DEADLINE_S", "NEWSRAG_READING_DEADLINE_S"),
        description="A model read (or verdict) not answered within this many seconds is dropped "
        "and the fast reader answers (`reading.model` false, `note` says so); 0 = no deadline.",
    )


class NewsroomSettings(BaseSettings):
    """Wire copies and questions about time."""

    model_config = _config("NEWSRAG_NEWSROOM_")

    wire_threshold: float = Field(
        default=0.25,
        gt=0.0,
        le=1.0,
        description="Estimated Jaccard similarity of word 5-shingles at which two documents are "
        "copies of one story (see eval/calibrate_wire.py).",
    )
    prefer_sources: str = Field(
        default="",
        description="Comma-separated sources cited first among copies of one story; copies "
        "from other sources are ordered by first ingestion.",
    )
    latest_margin: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="For 'latest' questions: a newer article wins when its best sentence scores "
        "within this of the best overall.",
    )

    @property
    def preferred_sources(self) -> list[str]:
        return [name.strip().casefold() for name in self.prefer_sources.split(",") if name.strip()]


class LLMSettings(BaseSettings):
    """An OpenAI-compatible chat endpoint for generative mode."""

    model_config = _config("NEWSRAG_LLM_")

    base_url: str | None = None
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = Field(default=None, validation_alias="NEWSRAG_LLM_API_KEY")
    # The key of last resort, never a switch: an OPENAI_API_KEY exported for other tools must
    # not send questions to openai.com; only NEWSRAG_LLM_* settings choose a remote model.
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    timeout_s: float = Field(default=120.0, gt=0, le=600)
    max_retries: int = Field(default=2, ge=0, le=10)
    context_tokens: int = Field(default=1500, ge=100, le=100_000)
    max_tokens: int = Field(default=300, ge=16, le=8192)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    on_error: Literal["extractive", "error"] = Field(
        default="extractive", description="LLM unreachable: answer extractively, or 503."
    )
    on_unsupported: Literal["extractive", "refuse"] = Field(
        default="extractive", description="No generated sentence verified: fallback or refusal."
    )
    support_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    reader_sentences: int = Field(
        default=12, ge=1, le=60, description="Sentences the model reads (best first, in budget)."
    )
    json_schema: bool = Field(
        default=False,
        description="Send the reply's JSON schema in response_format (llama.cpp, vLLM); else "
        "plain JSON mode. The supervised local server always gets the schema.",
    )
    evidence_floor: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Generative mode: the model reads the passages when the best sentence's "
        "evidence score reaches this (below the extractive refusal threshold: the model can "
        "refuse by itself), and a generated sentence may rest on a sentence scoring at least this.",
    )
    recite: bool = Field(
        default=True,
        description="Attach an uncited or mis-cited sentence to the retrieved sentence that "
        "supports it (still verified); false drops it.",
    )
    local: Literal["auto", "true", "false"] = Field(
        default="auto",
        description="Serve a local model with llama.cpp as a supervised child process: `auto` "
        "when no base_url is set and the model and llama.cpp are installed, `true` always "
        "(start-up fails without them), `false` never.",
    )
    local_model: str = Field(
        default="qwen2.5-coder-1.5b-instruct",
        pattern=r"^[a-z0-9][a-z0-9._-]{1,80}$",
        description="Catalogue name of the local model (`newsrag models list`).",
    )
    model_path: Path | None = Field(
        default=None, description="A GGUF file of your own to serve instead of the catalogue's."
    )
    local_threads: int = Field(default=0, ge=0, le=256, description="0 = all cores.")
    local_context: int = Field(default=4096, ge=512, le=131072, description="llama.cpp n_ctx.")
    local_startup_timeout_s: float = Field(default=180.0, gt=0, le=3600)
    write_deadline_s: float = Field(
        default=30.0,
        ge=0.0,
        le=600.0,
        description="Generative mode: an answer not written within this many seconds is dropped "
        "and the extractive answer given, with a note; 0 = no deadline.",
    )
    local_parallel: int = Field(
        default=2, ge=1, le=32, description="llama-server slots: questions read at once."
    )

    @property
    def configured(self) -> bool:
        return bool(self.base_url) or self.api_key is not None

    @property
    def key(self) -> SecretStr | None:
        """The key sent to the endpoint: NEWSRAG_LLM_API_KEY, else OPENAI_API_KEY."""
        return self.api_key or self.openai_api_key


class SourceSettings(BaseSettings):
    """Feeds and pages fetched on request (``newsrag sync``, ``/v1/sources``): the bounds of a
    fetch and the hosts that may resolve to private addresses."""

    model_config = _config("NEWSRAG_SOURCE_")

    allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts fetched even though they resolve to a loopback, "
        "private or link-local address (e.g. an intranet CMS); every other such host is refused.",
    )
    max_bytes: int = Field(
        default=10_000_000, ge=1024, description="A feed or page larger than this is refused."
    )
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Whole fetch of one feed or page, redirects too."
    )
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_entries: int = Field(
        default=10_000, ge=1, description="Entries read from one feed; the rest are left out."
    )
    poll: bool = Field(
        default=True, description="The server polls registered sources when they are due."
    )
    poll_interval_s: float = Field(
        default=30.0, gt=0, le=3600, description="How often the server looks for due sources."
    )
    lease_s: float = Field(
        default=600.0,
        ge=10,
        le=86_400,
        description="How long a replica holds a source it polls (a longer sync can be joined).",
    )

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return frozenset(
            host.strip().lower().strip("[]") for host in self.allow_hosts.split(",") if host.strip()
        )


class Settings(BaseSettings):
    """Top-level settings; every variable is prefixed ``NEWSRAG_``."""

    model_config = _config("NEWSRAG_")

    data_dir: Path = Path("./data")
    answer_mode: AnswerMode = "extractive"
    reader: Literal["auto", "heuristic", "llm"] = Field(
        default="auto",
        description="Who reads the passages: `llm` (a model: the local one or "
        "NEWSRAG_LLM_BASE_URL), `heuristic` (the fast scorer), `auto` (llm when a model is "
        "available).",
    )
    embeddings: Literal["local", "openai", "fake"] = Field(
        default="local", description="`fake` is a hashing embedder for unit tests only."
    )
    bootstrap: bool = True
    api_keys: SecretStr | None = Field(
        default=None, description='"key1:rw,key2:ro" or the path of a file with one per line.'
    )
    rate_limit: str | None = Field(default=None, description='e.g. "60/minute"; unset = none.')
    max_document_chars: int = Field(default=2_000_000, ge=1)
    max_body_bytes: int = Field(default=2_200_000, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)
    log_json: bool = False
    model_name: str = Field(default="newsrag", description="Model id of /v1/chat/completions.")

    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    newsroom: NewsroomSettings = Field(default_factory=NewsroomSettings)
    reading: ReadingSettings = Field(default_factory=ReadingSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    sources: SourceSettings = Field(default_factory=SourceSettings)

    @model_validator(mode="after")
    def _cascade_within_refusal(self) -> Settings:
        """The cascade's "sure enough to answer" must not be a score the fast scorer refuses."""
        if self.reading.skip_above < self.retrieval.refusal_threshold:
            raise SettingConflict(
                "NEWSRAG_READING_SKIP_ABOVE",
                "must be at least NEWSRAG_RETRIEVAL_REFUSAL_THRESHOLD "
                f"({self.retrieval.refusal_threshold})",
            )
        return self

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate(cls, value: str | None) -> str | None:
        if value:
            from limits import parse

            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(f"not a rate like '60/minute': {value!r}") from exc
        return value or None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


_SECTION_PREFIX = {
    "chroma": "NEWSRAG_CHROMA_",
    "chunk": "NEWSRAG_CHUNK_",
    "embedding": "NEWSRAG_EMBEDDINGS_",
    "retrieval": "NEWSRAG_RETRIEVAL_",
    "newsroom": "NEWSRAG_NEWSROOM_",
    "reading": "NEWSRAG_READING_",
    "llm": "NEWSRAG_LLM_",
    "sources": "NEWSRAG_SOURCE_",
}


def describe_validation_error(exc: ValidationError, prefix: str = "NEWSRAG_") -> str:
    """One line naming the environment variable and the problem."""
    first = exc.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    name = loc[-1] if loc else "?"
    message = str(first.get("msg", "invalid value"))
    conflict = (first.get("ctx") or {}).get("error")
    if isinstance(conflict, SettingConflict):
        name, message = conflict.field, str(conflict)
    if name.upper().startswith(("NEWSRAG_", "OPENAI_")):
        variable = name.upper()
    else:
        variable = f"{prefix}{name}".upper()
    return f"invalid configuration: {variable}: {message}"


def load_settings() -> Settings:
    """Read the environment; raise :class:`SettingsError` with one clear line on a bad value."""
    sections: dict[str, BaseSettings] = {}
    section_types: dict[str, type[BaseSettings]] = {
        "chroma": ChromaSettings,
        "chunk": ChunkSettings,
        "embedding": EmbeddingSettings,
        "retrieval": RetrievalSettings,
        "newsroom": NewsroomSettings,
        "reading": ReadingSettings,
        "llm": LLMSettings,
        "sources": SourceSettings,
    }
    for name, section_type in section_types.items():
        try:
            sections[name] = section_type()
        except ValidationError as exc:
            raise SettingsError(describe_validation_error(exc, _SECTION_PREFIX[name])) from None
    try:
        settings = Settings(**sections)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
    return settings
