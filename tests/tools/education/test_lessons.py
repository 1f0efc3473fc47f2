"""Lessons: one per flag the client has, in their language, citing their own evidence; the
lessons file refuses a flag without a lesson, a number not from the evidence, or a bad template."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from compliance_helpers import client, context, fill, plan, profile_of
from factories import AS_OF

from agents.compliance import TEXT_RULES
from core.schemas.letter import Lesson
from core.schemas.plan import Plan
from core.schemas.profile import BehaviourFlag, ClientProfile, Flag
from core.schemas.vocabulary import Locale
from tools.compliance.engine import evaluate
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.rulebook import shipped_rules
from tools.education.lessons import (
    LESSONS_FILE,
    LessonError,
    lessons_for,
    load_catalogue,
    shipped_catalogue,
)
from tools.market.market_data import MarketData

CJK = re.compile(r"[\u4e00-\u9fff]")


def _trade(days: int, side: str = "buy", amount: float = 1_000, **kw: Any) -> dict[str, Any]:
    day = (AS_OF - timedelta(days=days)).isoformat()
    return {"date": day, "product_code": "510300", "side": side, "amount": amount, **kw}


# Every flag at once: 18 trades in 90 days, 2 buys after a 20% rise, 2 sells after a 12% fall,
# one margin buy, and 510300 at 300,000 of 850,000 (35.3%).
EVERY_FLAG: dict[str, Any] = {
    "risk_level": "C4",
    "goal": "growth",
    "max_drawdown_tolerance_pct": 30,
    "holdings": [{"product_code": "510300", "market_value": 300_000}],
    "trades": [_trade(d) for d in range(1, 13)]
    + [_trade(d, prior_return_20d=0.2) for d in (20, 30)]
    + [_trade(d, "sell", prior_return_20d=-0.12) for d in (40, 50)]
    + [_trade(60, "margin_buy")],
}


def every_flag(market: MarketData, locale: Locale = "zh-CN") -> ClientProfile:
    return profile_of(client(**EVERY_FLAG, locale=locale), market)


def held_at(prof: ClientProfile, market: MarketData, weight: float | None) -> Plan:
    """A plan holding 510300 at weight (none at all when None), from today's holdings."""
    weights = fill({} if weight is None else {"510300": weight})
    return plan(weights, prof, market, holdings=client(**EVERY_FLAG).holdings)


def test_every_flag_has_a_lesson_in_every_locale() -> None:
    catalogue = shipped_catalogue()
    assert set(catalogue.lessons) == set(get_args(Flag))
    for lessons in catalogue.lessons.values():
        for locale in get_args(Locale):
            text = lessons.text(locale)
            assert text.title and text.body and text.source
    assert all("http" not in repr(lessons) for lessons in catalogue.lessons.values())


def test_a_client_with_no_flag_gets_no_lesson(market: MarketData) -> None:
    quiet = profile_of(client(), market)
    assert quiet.behaviour_flags == []
    assert lessons_for(quiet, plan(fill({}), quiet, market), "zh-CN") == []


def test_one_lesson_per_flag_the_client_has_and_none_for_another(market: MarketData) -> None:
    prof = every_flag(market)
    flags = [f.flag for f in prof.behaviour_flags]
    assert sorted(flags) == sorted(get_args(Flag))
    assert [x.flag for x in lessons_for(prof, held_at(prof, market, 0.3), "zh-CN")] == flags
    only = prof.model_copy(update={"behaviour_flags": prof.behaviour_flags[:1]})
    assert [x.flag for x in lessons_for(only, held_at(prof, market, 0.3), "en")] == flags[:1]


@pytest.mark.parametrize(
    ("flag", "zh", "en"),
    [
        (
            "overtrading",
            "近90天内，您的账户共交易17笔",
            "Your trade count over the last 90 days was 17",
        ),
        (
            "chasing_rallies",
            "近365天内，您有2笔买入发生在该产品20日涨幅达15%以上之后",
            "In the last 365 days, 2 of your buys came after the product had risen 15% or more "
            "over 20 days",
        ),
        (
            "panic_selling",
            "您有2笔卖出发生在该产品20日跌幅达10%以上之后",
            "2 of your sells came after the product had fallen 10% or more over 20 days",
        ),
        (
            "concentration",
            "您持有的510300目前约占您在本公司资产的35.3%，高于我们对单一产品设定的30%关注线",
            "510300 makes up about 35.3% of the assets you hold with us, above the 30%",
        ),
        (
            "leverage",
            "您的账户有1笔融资买入或融券卖出（融资买入1笔，融券卖出0笔）",
            "your account made 1 margin buy or short sale (1 margin, 0 short)",
        ),
    ],
)
def test_a_lesson_cites_the_clients_own_evidence_in_their_language(
    market: MarketData, flag: str, zh: str, en: str
) -> None:
    for locale, cited in (("zh-CN", zh), ("en", en)):
        prof = every_flag(market, locale)  # type: ignore[arg-type]
        [lesson] = [
            x for x in lessons_for(prof, held_at(prof, market, 0.3), locale) if x.flag == flag
        ]  # type: ignore[arg-type]
        assert cited in lesson.body
        text = f"{lesson.title}{lesson.body}{lesson.source}"
        if locale == "zh-CN":
            assert CJK.search(text) and not re.search(r"[A-Za-z]{3,}", text)
        else:
            assert text.isascii()
        sentences = re.findall(r"[。！？]|[.!?](?=\s|$)", lesson.body)
        assert 2 <= len(sentences) <= 4


def concentration(lessons: list[Lesson]) -> Lesson:
    [found] = [x for x in lessons if x.flag == "concentration"]
    return found


def test_the_concentration_lesson_gives_the_holdings_weight_in_the_plan(
    market: MarketData,
) -> None:
    prof = every_flag(market)
    kept = concentration(lessons_for(prof, held_at(prof, market, 0.3), "zh-CN"))
    assert kept.body.endswith("本方案中510300的目标占比为30.0%。")
    sold = concentration(lessons_for(prof, held_at(prof, market, None), "en"))
    assert sold.body.endswith(" This plan no longer holds 510300.")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("weight", [0.3, None], ids=["holds", "drops"])
def test_every_lesson_in_a_letter_passes_the_text_rules(
    market: MarketData, locale: Locale, weight: float | None
) -> None:
    """Its numbers are the client's (TW-NUM-01), it promises and forecasts nothing (LANG-*),
    and the product it names is one the plan holds or sells (TW-TXT-01)."""
    prof = every_flag(market, locale)
    pl = held_at(prof, market, weight)
    ctx = context(prof, pl, market)
    for lesson in lessons_for(prof, pl, locale):
        assert lesson.body in ctx.client_text
    found = [f"{f.rule_id}: {f.evidence}" for f in evaluate(shipped_rules(), REGISTRY, ctx)]
    assert [f for f in found if TEXT_RULES.match(f.split(":")[0])] == []


def test_a_flag_stored_without_measurements_gets_no_made_up_lesson(market: MarketData) -> None:
    prof = every_flag(market)
    old = prof.model_copy(
        update={"behaviour_flags": [BehaviourFlag(flag="leverage", evidence="1 margin trade")]}
    )
    with pytest.raises(LessonError, match="leverage flag has no measurements"):
        lessons_for(old, held_at(prof, market, 0.3), "zh-CN")


def _broken(tmp_path: Path, change: Any) -> Path:
    raw = yaml.safe_load(LESSONS_FILE.read_text("utf-8"))
    change(raw["lessons"])
    path = tmp_path / "lessons.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def _set(flag: str, locale: str, key: str, value: str) -> Any:
    return lambda lessons: lessons[flag][locale].__setitem__(key, value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda lessons: lessons.pop("leverage"), r"no lesson for flags \['leverage'\]"),
        (lambda lessons: lessons["panic_selling"].pop("en"), "panic_selling.en"),
        (lambda lessons: lessons.__setitem__("gambling", lessons["leverage"]), "gambling"),
        (_set("overtrading", "en", "body", "You made {trade} trades. Fewer is better."),
         r"overtrading en body: cannot fill the template \(KeyError: 'trade'\)"),
        (_set("leverage", "zh-CN", "body", "近{window_days}天有融资交易。请控制在30%以内。"),
         "leverage zh-CN body: a number must come from a placeholder"),
        (_set("chasing_rallies", "en", "body", "You chased {trades} rallies."),
         "chasing_rallies en: the body has 1 sentences; a lesson has 2-4"),
        (_set("overtrading", "zh-CN", "source", ""), "source"),
        (lambda lessons: lessons["leverage"]["en"].__setitem__(
            "plan", {"holds": "Held.", "drops": "Dropped."}),
         "leverage en: only a concentration lesson has a plan sentence"),
        (lambda lessons: lessons["leverage"].__setitem__("cites", "hearsay"), "cites"),
    ],
)  # fmt: skip
def test_a_bad_lessons_file_is_refused_naming_what_is_wrong(
    tmp_path: Path, change: Any, message: str
) -> None:
    with pytest.raises(LessonError, match=message):
        load_catalogue(_broken(tmp_path, change))
