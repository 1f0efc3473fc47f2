"""Public request and response schemas of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import Locale


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=1, max_length=64)
    request: str | None = Field(default=None, max_length=2000)
    locale: Locale | None = None


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "revise", "reject"]
    plan_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    comment: str | None = Field(default=None, max_length=2000)
    weights: dict[str, float] | None = None


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class Page(BaseModel):
    items: list[dict[str, Any]]
    next: str | None = None


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
