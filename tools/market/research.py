"""The research corpus: the firm's house views and product notes, with their dates.

Every note exists in both languages the firm writes to clients in (zh-CN and en): its
publisher, title and summary. A letter shows a note in the client's language only, as its title,
publisher, date and one line: the summary's first sentence.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.schemas.vocabulary import Locale
from tools.market.assumptions import AssetClassId


class Words(BaseModel):
    """One text in both languages; `in_` picks the client's."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    zh: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    def in_(self, locale: Locale | str) -> str:
        return self.zh if locale == "zh-CN" else self.en


# A sentence ends at 。！？ (zh) or at . ! ? followed by a space or the end (en); "T+0." and
# "5.3%" hold no sentence end.
_SENTENCE_END = re.compile(r"[。！？]|[.!?](?=\s|$)")


def first_sentence(text: str) -> str:
    """A note's one line: its summary up to and including the first sentence end."""
    match = _SENTENCE_END.search(text)
    return text[: match.end()].strip() if match else text.strip()


class ResearchNote(BaseModel):
    """A house view or product note in the research corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    publisher: Words
    as_of: date
    kind: Literal["house_view", "product_note"]
    title: Words
    summary: Words
    asset_classes: list[AssetClassId] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)

    def one_line(self, locale: Locale | str) -> str:
        return first_sentence(self.summary.in_(locale))


def load_corpus(path: Path) -> tuple[ResearchNote, ...]:
    notes = tuple(
        ResearchNote.model_validate(row) for row in yaml.safe_load(path.read_text("utf-8"))
    )
    ids = [n.id for n in notes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate note ids in {path}")
    return notes
