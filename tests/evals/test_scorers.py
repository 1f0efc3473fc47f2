"""The critical scorers: who is owed an advisor's approval before delivery, and which delivered
plans hold a product above what the client may hold."""

from __future__ import annotations

from typing import Any

import pytest
from factories import client_data

from core.settings import AllocationPolicy, CompliancePolicy
from evals.schema import Scenario
from evals.scorers import (
    Outcome,
    capacity_order,
    education_score,
    invariant_scores,
    volatility_band,
)
from tools.market.market_data import MarketData

LONG_TAIL = {"aum": 200_000, "liquidity_need": 20_000}
LOWEST = {**LONG_TAIL, "risk_level": "C1", "lowest_category": True, "goal": "preservation"}


def gate(overrides: dict[str, Any], market: MarketData, **kwargs: Any) -> tuple[bool, bool]:
    """The approval-gate score (passed, critical) for a passing plan delivered unapproved."""
    scenario = Scenario.model_validate(
        {"id": "s", "family": "t", "client": client_data(**overrides), "expect": {}}
    )
    out = Outcome(
        run={"delivery": {"plan_hash": "h", "text": ""}},
        status_before="delivered",
        compliance_before={"verdict": "pass", "findings": []},
    )
    (score,) = [
        s for s in invariant_scores(scenario, out, market, **kwargs) if s.name == "approval_gate"
    ]
    return score.passed, score.critical


@pytest.mark.parametrize(
    ("overrides", "kwargs", "passed"),
    [
        (LOWEST, {}, False),  # SYS-02 is on by default
        (LOWEST, {"policy": CompliancePolicy(lowest_category_signoff=False)}, True),
        (LONG_TAIL, {}, True),
        ({}, {}, False),  # mid-tier
    ],
    ids=["lowest-long-tail", "lowest-policy-off", "long-tail", "mid-tier"],
)
def test_an_unapproved_delivery_fails_the_gate_when_an_advisor_was_owed(
    overrides: dict[str, Any], kwargs: dict[str, Any], passed: bool, market: MarketData
) -> None:
    assert gate(overrides, market, **kwargs) == (passed, True)


def suitability(
    overrides: dict[str, Any], weights: dict[str, float], market: MarketData, delivered: bool = True
) -> list[tuple[bool, bool, str]]:
    """The unsuitable-delivery scores (passed, critical, detail) of a plan with these weights."""
    scenario = Scenario.model_validate(
        {"id": "s", "family": "t", "client": client_data(**overrides), "expect": {}}
    )
    holdings = [{"product_code": c, "weight": w} for c, w in weights.items()]
    run: dict[str, Any] = {"plan": {"holdings": holdings}, "status": "blocked"}
    if delivered:
        run.update(status="delivered", delivery={"plan_hash": "h", "text": ""})
    out = Outcome(run=run, status_before=run["status"], compliance_before=None)
    return [
        (s.passed, s.critical, s.detail)
        for s in invariant_scores(scenario, out, market)
        if s.name == "suitability"
    ]


CASH = {"511990": 0.5, "TW-MM-01": 0.3}  # R1
PROFESSIONAL = {"investor_type": "professional", "financial_assets": 5_000_000}


@pytest.mark.parametrize(
    ("overrides", "weights", "passed", "detail"),
    [
        ({}, {**CASH, "510300": 0.2}, True, "ranks [1, 1, 3] vs allowed R3"),
        ({}, {**CASH, "512480": 0.2}, False, "ranks [1, 1, 4] vs allowed R3"),
        ({"risk_level": "C2"}, {**CASH, "510300": 0.2}, False, "ranks [1, 1, 3] vs allowed R2"),
        (LOWEST, {**CASH, "511880": 0.2}, True, "ranks [1, 1, 1] vs allowed R1"),
        (LOWEST, {**CASH, "511260": 0.2}, False, "ranks [1, 1, 2] vs allowed R1"),
        # The lowest category holds R1 only, even if it meets the professional criteria.
        ({**LOWEST, **PROFESSIONAL, "investment_experience_years": 2}, {**CASH, "511260": 0.2},
         False, "ranks [1, 1, 2] vs allowed R1"),
        ({**PROFESSIONAL, "investment_experience_years": 2}, {**CASH, "TW-PF-01": 0.2}, True,
         "ranks [1, 1, 5] vs allowed R5"),
        # A professional claim without two years' experience is an ordinary C3 investor.
        ({**PROFESSIONAL, "investment_experience_years": 1}, {**CASH, "TW-PF-01": 0.2}, False,
         "vs allowed R3"),
        ({}, {**CASH, "NOT-ON-SHELF": 0.2}, False, "ranks [1, 1, 6] vs allowed R3"),
        ({}, {**CASH, "510300": 0.2, "512480": 0.0}, True, "ranks [1, 1, 3] vs allowed R3"),
    ],
    ids=["within", "above", "above-c2", "lowest-r1", "lowest-r2", "lowest-professional",
         "professional", "professional-claim", "not-on-shelf", "zero-weight"],
)  # fmt: skip
def test_a_delivered_plan_above_what_the_client_may_hold_fails_suitability(
    overrides: dict[str, Any],
    weights: dict[str, float],
    passed: bool,
    detail: str,
    market: MarketData,
) -> None:
    ((ok, critical, said),) = suitability(overrides, weights, market)
    assert (ok, critical) == (passed, True)
    assert detail in said


def test_a_plan_that_was_not_delivered_is_not_scored_for_suitability(market: MarketData) -> None:
    """Blocked or waiting, an unsuitable plan reached nobody: the gate, not this score, says so."""
    assert suitability({}, {**CASH, "512480": 0.2}, market, delivered=False) == []


def band_score(plan: dict[str, Any], level: str = "C4") -> tuple[bool, str]:
    """The volatility-band score (passed, detail) of a delivered plan of a client at `level`."""
    out = Outcome(
        run={"plan": plan, "profile": {"risk_level": level}},
        status_before="delivered",
        compliance_before=None,
    )
    score = volatility_band(out, AllocationPolicy())
    assert score is not None
    return score.passed, score.detail


def band_plan(vol: float, **extra: Any) -> dict[str, Any]:
    target = {"lowered_by": [], "scores": {}, "placed": vol}
    return {
        "holdings": [{"product_code": "510300", "weight": 1.0}],
        "expected_volatility": vol,
        "feasible_volatility": [0.003, 0.14],
        "risk_target": target,
        **extra,
    }


@pytest.mark.parametrize(
    ("plan", "passed"),
    [
        (band_plan(0.10), True),  # C4's band is [5%, 15%]
        (band_plan(0.16), False),  # above the ceiling, whatever lowered it
        (band_plan(0.03), False),  # below the floor, and nothing recorded why
        (band_plan(0.03, risk_target={"lowered_by": ["drawdown"]}), True),
        (band_plan(0.03, request={"wishes": []}), True),  # the client asked
        (band_plan(0.03, feasible_volatility=[0.001, 0.02]), True),  # the shelf stops short
        (band_plan(0.03, fallback={"reason": "x", "method": "min_volatility"}), True),
    ],
    ids=["inside", "above", "below", "drawdown", "request", "shelf", "fallback"],
)
def test_a_plan_outside_its_levels_band_fails_the_band_score(
    plan: dict[str, Any], passed: bool
) -> None:
    ok, detail = band_score(plan)
    assert ok is passed, detail
    assert "[0.0500, 0.1500]" in detail


def test_no_plan_no_band_score() -> None:
    run: dict[str, Any] = {"plan": None, "profile": {}}
    out = Outcome(run=run, status_before="blocked", compliance_before=None)
    assert volatility_band(out, AllocationPolicy()) is None


def placed(scores: dict[str, float], where: float, level: str = "C3") -> dict[str, Any]:
    return {"risk_target": {"scores": scores, "placed": where}, "level": level, "goal": "growth"}


LOW = {"horizon": 0.2, "age": 0.5, "liquidity": 0.9, "income": 0.3, "elsewhere": 0.0}
HIGH = {**LOW, "horizon": 0.8}  # more horizon, everything else equal


def test_more_capacity_placed_lower_fails_both_of_the_pair() -> None:
    got = capacity_order({"a": placed(LOW, 0.07), "b": placed(HIGH, 0.06), "c": placed(LOW, 0.1)})
    assert not got["a"].passed and not got["b"].passed
    assert "'b'" in got["a"].detail
    # c has as much capacity as a (equal), less than b, and is placed above b: out of order too.
    assert not got["c"].passed


def test_more_capacity_placed_higher_passes_and_other_levels_are_not_compared() -> None:
    got = capacity_order({
        "a": placed(LOW, 0.06), "b": placed(HIGH, 0.07), "x": placed(HIGH, 0.01, level="C5"),
        "y": placed({**LOW, "age": 1.0, "horizon": 0.1}, 0.02),  # neither more nor less
    })  # fmt: skip
    assert got["a"].passed and got["b"].passed
    assert "x" not in got and "y" not in got


def education(
    flags: list[str], *, taught: list[str] | None = None, text: str = "", locale: str = "zh-CN"
) -> tuple[bool, str]:
    """The education score (passed, detail) of a letter with these lessons (as the letter's
    document) or, when taught is None, of this client text."""
    report: dict[str, Any] = {"verdict": "pass", "findings": [], "client_text": text}
    if taught is not None:
        report["document"] = {
            "education": [{"flag": f, "title": "t", "body": "b", "source": "s"} for f in taught]
        }
    profile = {"locale": locale, "behaviour_flags": [{"flag": f, "evidence": "e"} for f in flags]}
    score = education_score({"profile": profile, "compliance": report})
    assert score is not None and score.name == "education"
    return score.passed, score.detail


@pytest.mark.parametrize(
    ("flags", "taught", "passed", "detail"),
    [
        ([], [], True, "lessons [] for flags []"),
        (["concentration"], ["concentration"], True, "lessons ['concentration']"),
        ([], ["concentration"], False, "no flag: concentration"),
        (["overtrading", "leverage"], ["overtrading"], False, "no lesson: leverage"),
        (["leverage"], ["leverage", "leverage"], False, "twice: leverage"),
    ],
    ids=["none", "one", "lesson-without-flag", "flag-without-lesson", "twice"],
)
def test_education_only_with_a_flag_and_every_flag_taught(
    flags: list[str], taught: list[str], passed: bool, detail: str
) -> None:
    ok, said = education(flags, taught=taught)
    assert ok is passed and detail in said


def test_education_is_read_from_the_text_by_lesson_titles_without_a_document() -> None:
    zh = "【集中持仓的风险】您持有的511260目前约占……"
    assert education(["concentration"], text=zh) == (
        True,
        "lessons ['concentration'] for flags ['concentration']",
    )
    assert education([], text=zh) == (False, "no flag: concentration")
    en = "The risk of a concentrated holding: 511260 makes up about 33.3% ..."
    assert education(["concentration"], text=en, locale="en")[0]
    # The old heading with topic titles teaches nothing a flag asked for.
    old = "投资者教育：结合您近期的交易情况，建议您了解以下内容：\n• 分散投资的意义"
    assert education(["concentration"], text=old) == (False, "no lesson: concentration")


def test_no_education_score_before_there_is_a_letter() -> None:
    assert education_score({"profile": {"behaviour_flags": [{"flag": "leverage"}]}}) is None
