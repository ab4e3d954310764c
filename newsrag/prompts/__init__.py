"""Prompt files; nothing is inlined in Python. Rendered with LangChain's ``PromptTemplate``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from langchain_core.prompts import PromptTemplate

PROMPT_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=16)
def prompt(name: str) -> PromptTemplate:
    """The template in ``prompts/<name>.txt`` (f-string placeholders)."""
    return PromptTemplate.from_template((PROMPT_DIR / f"{name}.txt").read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    return prompt(name).format(**values).strip()


def text(name: str) -> str:
    """A prompt file with no placeholders, as is."""
    return (PROMPT_DIR / f"{name}.txt").read_text(encoding="utf-8").strip()
