"""The research corpus: the firm's house views and product notes, with their dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.schemas.vocabulary import Locale
from tools.market.assumptions import AssetClassId


class ResearchNote(BaseModel):
    """A house view or product note in the research corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    publisher: str
    as_of: date
    locale: Locale
    kind: Literal["house_view", "product_note"]
    title: str
    summary: str
    asset_classes: list[AssetClassId] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)


def load_corpus(path: Path) -> tuple[ResearchNote, ...]:
    notes = tuple(
        ResearchNote.model_validate(row) for row in yaml.safe_load(path.read_text("utf-8"))
    )
    ids = [n.id for n in notes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate note ids in {path}")
    return notes
