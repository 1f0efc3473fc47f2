"""The critical scorers: who is owed an advisor's approval before delivery, and which delivered
plans hold a product above what the client may hold; and the letter's scorers (issue 27): one
language, no internal ids, every holding with weight and amount, the trades, research about the
plan."""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import pytest
from factories import AS_OF, client_data

from agents.allocation import allocate_portfolio
from agents.compliance import check_compliance
from agents.profiling import profile_client
from core.schemas.client import ClientInput
from core.schemas.letter import Signature
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from evals.schema import Scenario
from evals.scorers import (
    Outcome,
    capacity_order,
    education_score,
    invariant_scores,
    letter_scores,
    volatility_band,
)
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.rulebook import shipped_rules
from tools.letter.text import signature_lines
from tools.llm.offline import OfflineModel
from tools.market.market_data import MarketData, load_market

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


def placed(
    scores: dict[str, float],
    where: float,
    level: str = "C3",
    *,
    position: float | None = None,
    reach: float | None = None,
) -> dict[str, Any]:
    """A plan's risk target: placed at `where`; its position in the band is `where` too unless
    given (one band, so they rise together), and `reach` the shelf's top when below the ceiling."""
    target = {"scores": scores, "placed": where, "reach": reach,
              "position": where if position is None else position}  # fmt: skip
    return {"risk_target": target, "level": level, "goal": "growth"}


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


def test_a_lower_shelf_reach_may_place_more_capacity_lower_but_never_its_position() -> None:
    """Two clients whose products reach different tops: the volatility is compared only at the
    same top, the position in the band always."""
    fine = capacity_order({
        "a": placed(LOW, 0.06, position=0.3), "b": placed(HIGH, 0.05, position=0.5, reach=0.08),
    })  # fmt: skip
    assert fine["a"].passed and fine["b"].passed
    wrong = capacity_order({
        "a": placed(LOW, 0.06, position=0.5), "b": placed(HIGH, 0.05, position=0.3, reach=0.08),
    })  # fmt: skip
    assert not wrong["a"].passed and not wrong["b"].passed


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


# ------------------------------------------------------------------ the letter (issue 27)
@functools.cache
def _letter_run(locale: str) -> tuple[Scenario, dict[str, Any]]:
    """A real offline letter for a C4 client who holds something: profile, allocation and the
    compliance agent's composition, as the harness would read the run."""
    market = load_market()
    data = client_data(
        locale=locale, risk_level="C4", goal="growth", horizon_years=8,
        max_drawdown_tolerance_pct=30,
    )  # fmt: skip
    client = ClientInput.model_validate(data)
    prof = profile_client(
        client, as_of=AS_OF, model=OfflineModel(), market=market, tiers=TierPolicy(),
        allocation=AllocationPolicy(), compliance=CompliancePolicy(),
    )  # fmt: skip
    plan = allocate_portfolio(
        prof, client.holdings, market=market, model=OfflineModel(), policy=AllocationPolicy(),
        constraints=[],
    )  # fmt: skip
    report = check_compliance(
        prof, plan, client_name=client.name, intent=None, market=market, model=OfflineModel(),
        fallback_model=OfflineModel(), policy=CompliancePolicy(), rules=shipped_rules(),
        evaluators=REGISTRY, current=client.holdings,
    )  # fmt: skip
    scenario = Scenario.model_validate({"id": "s", "family": "t", "client": data, "expect": {}})
    run = {"plan": plan.model_dump(mode="json"), "compliance": report.model_dump(mode="json")}
    return scenario, run


def letter(
    market: MarketData,
    locale: str,
    text: Any = None,
    plan: Any = None,
    document: Any = None,
    signature: dict[str, Any] | None = None,
) -> dict[str, bool]:
    """The letter scores of the real letter, or of a bad one made from it; `signature`, the
    delivered letter's signer."""
    scenario, run = copy.deepcopy(_letter_run(locale))
    compliance = run["compliance"]
    if signature is not None:
        run["delivery"] = {"document": {**compliance["document"], "signature": signature}}
    if text is not None:
        compliance["client_text"] = text(compliance["client_text"])
    if plan is not None:
        plan(run["plan"])
    if document is not None:
        document(compliance["document"])
    out = Outcome(run=run, status_before="delivered", compliance_before=None)
    return {s.name: s.passed for s in letter_scores(scenario, out, market)}


ALL_PASS = {
    "letter_language": True,
    "letter_no_ids": True,
    "letter_holdings": True,
    "letter_trades": True,
    "letter_research": True,
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_offline_letter_passes_every_letter_scorer(market: MarketData, locale: str) -> None:
    _, run = _letter_run(locale)
    assert run["compliance"]["document"]["trades"] and run["compliance"]["document"]["research"]
    assert letter(market, locale) == ALL_PASS


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("zh-CN", "Relevant research: gold looks fine to us."),
        ("en", "相关研究观点：黄金配置价值仍在。"),
        ("en", "About your plan: 本方案已审核"),
    ],
    ids=["english-in-zh", "chinese-in-en", "mixed-line-en"],
)
def test_a_letter_in_two_languages_fails(market: MarketData, locale: str, line: str) -> None:
    got = letter(market, locale, text=lambda t: f"{t}\n{line}")
    assert got == {**ALL_PASS, "letter_language": False}


def test_proper_names_in_the_other_language_are_allowed(market: MarketData) -> None:
    """A client's name and a fund's registered name are not a second language."""
    line = "王芳 holds the Huatai-PineBridge CSI 300 ETF, which suits her plan."
    assert letter(market, "en", text=lambda t: f"{t}\n王芳, 华泰柏瑞沪深300ETF")["letter_language"]
    assert not letter(market, "zh-CN", text=lambda t: f"{t}\n{line}")["letter_language"]
    zh = "您持有Huatai-PineBridge CSI 300 ETF。"
    assert letter(market, "zh-CN", text=lambda t: f"{t}\n{zh}")["letter_language"]


def test_the_advisor_who_signed_is_a_proper_name_in_either_language(market: MarketData) -> None:
    """An en letter signed by 李明 of 上海陆家嘴营业部 is in one language; the same words in its
    body, without that signature, are not."""
    signer = {"name": "李明", "registration": "S0980120010001",
              "contact": "上海陆家嘴营业部 021-6888 0001", "on": "2026-11-25"}  # fmt: skip
    lines = "\n".join(signature_lines(Signature.model_validate(signer), "en"))
    lines = "\n\n" + lines
    assert letter(market, "en", text=lambda t: t + lines, signature=signer)["letter_language"]
    assert not letter(market, "en", text=lambda t: t + lines)["letter_language"]


@pytest.mark.parametrize(
    "line",
    [
        "投资顾问：adv-li",
        "复核人 sup-zhao",
        "参考 TW-HV-2611-01",
        "由offline-v1撰写",
        "等权（1/N）",
    ],
    ids=["advisor-login", "supervisor-login", "note-id", "model-id", "1/N"],
)
def test_a_letter_with_an_internal_identifier_fails(market: MarketData, line: str) -> None:
    got = letter(market, "zh-CN", text=lambda t: f"{t}\n{line}")
    assert got == {**ALL_PASS, "letter_no_ids": False}


def test_the_model_id_may_stand_in_the_ai_disclosure_only(market: MarketData) -> None:
    _, run = _letter_run("zh-CN")
    assert "（模型：offline-v1）" in run["compliance"]["client_text"]  # REQ-05
    assert letter(market, "zh-CN")["letter_no_ids"]


def _drop_line(code: str) -> Any:
    return lambda t: "\n".join(line for line in t.splitlines() if f"（{code}）：" not in line)


def test_a_letter_missing_a_holding_or_its_amount_fails(market: MarketData) -> None:
    _, run = _letter_run("zh-CN")
    last = run["plan"]["holdings"][-1]["product_code"]
    assert not letter(market, "zh-CN", text=_drop_line(last))["letter_holdings"]
    no_amount = lambda t: re.sub(r"金额[\d,]+元", "", t)  # noqa: E731
    assert not letter(market, "zh-CN", text=no_amount)["letter_holdings"]


def test_a_letter_without_the_trades_fails_when_the_client_holds_something(
    market: MarketData,
) -> None:
    _, run = _letter_run("en")
    text = run["compliance"]["client_text"]
    trades = next(b for b in text.split("\n\n") if "From what you" in b)
    got = letter(market, "en", text=lambda t: t.replace(trades + "\n\n", ""))
    assert got == {**ALL_PASS, "letter_trades": False}


def test_a_note_about_nothing_the_plan_holds_fails(market: MarketData) -> None:
    _, run = _letter_run("en")
    held = {h["product_code"] for h in run["plan"]["holdings"]}
    classes = {market.products[c].asset_class for c in held}
    off = next(
        n
        for n in market.corpus
        if not set(n.products) & held and not set(n.asset_classes) & classes
    )

    def add(document: dict[str, Any]) -> None:
        note = {"title": off.title.en, "publisher": off.publisher.en, "as_of": "2026-01-01"}
        document["research"].append({**note, "summary": off.one_line("en")})

    assert letter(market, "en", document=add) == {**ALL_PASS, "letter_research": False}

    def four(document: dict[str, Any]) -> None:
        document["research"] = document["research"] * 2

    assert not letter(market, "en", document=four)["letter_research"]
