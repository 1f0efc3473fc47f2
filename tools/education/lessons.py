"""Investor-education lessons: one per behaviour flag the client has, citing their own evidence.

The lessons are data (data/lessons.yaml), in zh-CN and en, each with the investor-education
material it draws on. A lesson's numbers all come from the client's measured evidence through
placeholders (a lesson template holds no digit of its own), so every figure a client reads is
theirs and the letter's number rule can ground it.
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.schemas.letter import Lesson
from core.schemas.plan import Plan
from core.schemas.profile import (
    BehaviourFlag,
    ClientProfile,
    ConcentratedPosition,
    ConcentrationEvidence,
    Flag,
    FlagEvidence,
    LeverageEvidence,
    MoveEvidence,
    OvertradingEvidence,
)
from core.schemas.vocabulary import Locale

LESSONS_FILE = Path(__file__).resolve().parent / "data" / "lessons.yaml"
FLAGS: tuple[Flag, ...] = get_args(Flag)
LOCALES: tuple[Locale, ...] = get_args(Locale)
SENTENCE_END = re.compile(r"[。！？]|[.!?](?=\s|$)")


class LessonError(ValueError):
    """The lessons file is malformed, or a lesson cannot be written for a flag."""


class PlanSentence(BaseModel):
    """A closing sentence on the flagged product in the plan: held (with its weight) or not."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    holds: str = Field(min_length=1)
    drops: str = Field(min_length=1)


class LessonText(BaseModel):
    """One lesson in one language: title, body template with placeholders, source."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=1)
    body: str = Field(min_length=1)
    source: str = Field(min_length=1)
    plan: PlanSentence | None = None


class FlagLessons(BaseModel):
    """A flag's lesson in every locale, and whether its source is a titled publication or an
    investor-education programme named with its topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cites: Literal["title", "programme"]
    zh_cn: LessonText = Field(alias="zh-CN")
    en: LessonText

    def text(self, locale: Locale) -> LessonText:
        return self.zh_cn if locale == "zh-CN" else self.en


class Catalogue(BaseModel):
    """Every flag's lessons, versioned; a flag of the Flag literal without one is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    lessons: dict[Flag, FlagLessons]

    @model_validator(mode="after")
    def _every_flag(self) -> Catalogue:
        missing = [f for f in FLAGS if f not in self.lessons]
        if missing:
            raise ValueError(f"no lesson for flags {missing}")
        for flag, lessons in self.lessons.items():
            for locale in LOCALES:
                check_text(flag, locale, lessons.text(locale))
        return self


# One example of each flag's evidence: a template is written out with it when the file loads,
# so an unknown placeholder or a bad format is refused then, not in a client's letter.
SAMPLES: dict[Flag, FlagEvidence] = {
    "overtrading": OvertradingEvidence(
        trades=18, window_days=90, trades_limit=15, turnover=5.2, turnover_limit=4.0
    ),
    "chasing_rallies": MoveEvidence(
        flag="chasing_rallies",
        trades=6,
        window_days=365,
        move_days=20,
        move=0.15,
        trades_limit=2,
        largest_share=0.12,
        share_limit=0.10,
    ),
    "panic_selling": MoveEvidence(
        flag="panic_selling",
        trades=3,
        window_days=365,
        move_days=20,
        move=0.10,
        trades_limit=2,
        largest_share=0.05,
        share_limit=0.10,
    ),
    "concentration": ConcentrationEvidence(
        positions=[ConcentratedPosition(product_code="511260", share=1 / 3, limit=0.30)]
    ),
    "leverage": LeverageEvidence(trades=3, margin_buys=2, short_sells=1, window_days=365),
}


def fields(measured: FlagEvidence, plan_share: float | None = None) -> dict[str, Any]:
    """The placeholders a lesson may use: the evidence's numbers, `<count>_s` for an English
    plural, and for a concentration the largest position and its weight in the plan."""
    values: dict[str, Any] = measured.model_dump(exclude={"flag", "positions"})
    if isinstance(measured, ConcentrationEvidence):
        top = measured.largest
        values |= {"product_code": top.product_code, "share": top.share, "limit": top.limit}
        values |= {"others": len(measured.positions) - 1, "plan_share": plan_share or 0.0}
    for key, value in list(values.items()):
        if isinstance(value, int):
            values[f"{key}_s"] = "" if value == 1 else "s"
    return values


def _fill(template: str, values: dict[str, Any], where: str) -> str:
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError) as e:
        raise LessonError(f"{where}: cannot fill the template ({type(e).__name__}: {e})") from e


def check_text(flag: Flag, locale: Locale, text: LessonText) -> None:
    """A lesson's templates fill from its flag's evidence, hold no digit of their own, and
    make 2-4 sentences; only a concentration lesson speaks of the plan."""
    where = f"lessons.yaml {flag} {locale}"
    templates = {"title": text.title, "body": text.body, "source": text.source}
    if text.plan is not None:
        if flag != "concentration":
            raise LessonError(f"{where}: only a concentration lesson has a plan sentence")
        templates |= {"plan.holds": text.plan.holds, "plan.drops": text.plan.drops}
    sample = fields(SAMPLES[flag], plan_share=0.30)
    for name, template in templates.items():
        literal = "".join(part for part, *_ in string.Formatter().parse(template))
        if re.search(r"\d", literal):
            raise LessonError(f"{where} {name}: a number must come from a placeholder")
        _fill(template, sample, f"{where} {name}")
    body = _fill(text.body, sample, where)
    count = len(SENTENCE_END.findall(body)) + (1 if text.plan is not None else 0)
    if not 2 <= count <= 4:
        raise LessonError(f"{where}: the body has {count} sentences; a lesson has 2-4")


def load_catalogue(path: Path = LESSONS_FILE) -> Catalogue:
    """The lessons at path, validated; any fault is a LessonError naming the file and flag."""
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
        return Catalogue.model_validate(raw)
    except ValidationError as e:
        raise LessonError(f"{path.name}: {e}") from e


@cache
def shipped_catalogue() -> Catalogue:
    """The shipped lessons, loaded once."""
    return load_catalogue()


def lesson(
    flag: BehaviourFlag, plan: Plan, locale: Locale, catalogue: Catalogue | None = None
) -> Lesson:
    """One flag's lesson in the client's language, filled with what was measured."""
    if flag.measured is None:
        raise LessonError(f"the {flag.flag} flag has no measurements: profile the client again")
    text = (catalogue or shipped_catalogue()).lessons[flag.flag].text(locale)
    plan_share = None
    if isinstance(flag.measured, ConcentrationEvidence):
        plan_share = plan.weights().get(flag.measured.largest.product_code, 0.0)
    values = fields(flag.measured, plan_share)
    where = f"{flag.flag} {locale}"
    body = _fill(text.body, values, where)
    if text.plan is not None:
        closing = text.plan.holds if plan_share else text.plan.drops
        body += (" " if locale == "en" else "") + _fill(closing, values, where)
    return Lesson(
        flag=flag.flag,
        title=_fill(text.title, values, where),
        body=body,
        source=_fill(text.source, values, where),
    )


def lessons_for(
    profile: ClientProfile, plan: Plan, locale: Locale, catalogue: Catalogue | None = None
) -> list[Lesson]:
    """One lesson per behaviour flag the client has, in their order; none without a flag."""
    return [lesson(f, plan, locale, catalogue) for f in profile.behaviour_flags]
