"""The model port: structured completion into a pydantic model, and plain text completion.

A model writes words (rationale, education, summaries, letters) and extracts facts from free
text. It never decides a number or a verdict: callers only read the fields they allow.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from core.masking import mask_text

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Prompt:
    """A prompt template and the variables it is rendered with; its version is a content hash."""

    task: str
    template: str
    variables: dict[str, Any]

    @property
    def version(self) -> str:
        return hashlib.sha256(self.template.encode("utf-8")).hexdigest()[:12]

    def render(self) -> str:
        """The text a remote model would receive, with sensitive data masked."""
        return mask_text(self.template.format(**self.variables))


@dataclass(frozen=True)
class ModelCall:
    """The accounting record of one model call."""

    model: str
    task: str
    prompt_version: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    outcome: Literal["ok", "fallback", "replay"] = "ok"
    error: str | None = None
    cost: float | None = None
    attempts: int = 1

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class LanguageModel(Protocol):
    """What an agent may ask of a model, and the ledger of what it was asked."""

    @property
    def name(self) -> str: ...

    @property
    def calls(self) -> Sequence[ModelCall]: ...

    def record(self, call: ModelCall) -> None:
        """Add a call made on this model's behalf (a fallback) to its ledger."""
        ...

    def structured(self, prompt: Prompt, schema: type[T]) -> T: ...

    def text(self, prompt: Prompt) -> str: ...


@dataclass
class CallTimer:
    """Measures one call and appends its record to a ledger."""

    ledger: list[ModelCall]
    model: str
    prompt: Prompt
    started: float = field(default_factory=time.perf_counter)

    def done(
        self,
        tokens_in: int,
        tokens_out: int,
        outcome: Literal["ok", "fallback", "replay"] = "ok",
        *,
        error: str | None = None,
        cost: float | None = None,
        attempts: int = 1,
    ) -> None:
        elapsed = (time.perf_counter() - self.started) * 1000
        self.ledger.append(
            ModelCall(
                self.model, self.prompt.task, self.prompt.version, tokens_in, tokens_out,
                round(elapsed, 3), outcome, error, cost, attempts,
            )
        )  # fmt: skip
