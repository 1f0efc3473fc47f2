"""Public request and response schemas of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas.vocabulary import Locale


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


class ErrorBody(BaseModel):
    """Every error: the error class and what happened, for a person."""

    error: str
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in [
        (401, "No valid bearer token"),
        (403, "The role may not do this"),
        (404, "Unknown id, or another advisor's client"),
        (409, "Conflict: already decided, stale plan_hash, reused Idempotency-Key, …"),
        (413, "Body over 1 MiB"),
        (422, "Invalid input; every bad field is named"),
    ]
}


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
