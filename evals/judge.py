"""An optional LLM judge of the client letter, pinned to a model of its own (not the generator)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.settings import Settings
from evals.scorers import Score
from tools.llm.offline import OfflineModel
from tools.llm.openai import OpenAIModel
from tools.llm.port import LanguageModel, Prompt

RUBRIC = """Grade this letter from a securities firm to its client from 1 (poor) to 5 (excellent)
on clarity, fair and balanced tone (no promises, no hype), and whether it explains the plan's
risks in plain words. Answer with the score and one sentence of rationale.
Letter:
{letter}"""
PASS_MARK = 3


class Judgement(BaseModel):
    score: int = Field(ge=1, le=5)
    rationale: str = Field(max_length=500)


def judge_model(settings: Settings, model: str) -> LanguageModel:
    """The judge: the configured endpoint, but always the named model."""
    pinned = settings.model_copy(update={"model": model, "llm": "openai"})
    return OpenAIModel(pinned, fallback=OfflineModel())


def judge_letter(letter: str, judge: LanguageModel) -> Score:
    """A non-critical score; the judge's rationale is kept as the detail."""
    verdict = judge.structured(Prompt("judge_letter", RUBRIC, {"letter": letter}), Judgement)
    return Score("judge", verdict.score >= PASS_MARK, f"{verdict.score}/5: {verdict.rationale}")
