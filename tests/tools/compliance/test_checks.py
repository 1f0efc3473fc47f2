"""Every evaluated check rule: a failing example that fires it with its verdict, a passing one
that does not, in each jurisdiction where the rule applies; and the remedy that fixes it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest
from compliance_helpers import (
    PRO,
    client,
    context,
    fill,
    hits,
    plan,
    profile_of,
    trades,
    variant_market,
)
from pydantic import ValidationError

from core.schemas.plan import Constraint, Fallback
from core.schemas.request import RequestShaping, WishOutcome
from core.settings import CompliancePolicy, Settings
from tools.compliance.engine import RuleContext, evaluate
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.rulebook import shipped_rules
from tools.market.intent import parse_request
from tools.market.optimiser import portfolio_performance

RULES = shipped_rules()
MARKET = variant_market()
CASH = {"TW-MM-01": 0.3, "511990": 0.3}  # R1 only, under every single-product cap
GOLD = "能不能帮我买点黄金ETF？"
C4 = {"risk_level": "C4", "goal": "growth", "max_drawdown_tolerance_pct": 30}
VOLATILE = {"510300": 0.3, "510500": 0.3, "TW-MM-01": 0.2, "511990": 0.2}  # R3 at 11.9%
C3_AT_5 = {"volatility_ceiling": {"C1": 0.01, "C2": 0.04, "C3": 0.05, "C4": 0.15, "C5": 0.20}}
AVOID_CASH = "不要货币基金，不要债券，不要现金"
CONCENTRATED = {"holdings": [{"product_code": "510300", "market_value": 300_000}]}  # of 850,000
MARGIN = [{**trades(1, 1_000)[0], "side": "margin_buy"}]


@dataclass(frozen=True)
class Spec:
    """A client (factories overrides), a plan's weights and the policy and request around them."""

    weights: dict[str, float]
    client: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    request: str | None = None
    fallback: bool = False
    # Each wish target's share (before, after) as the allocation recorded it on the plan.
    shares: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    rule: str
    verdict: str
    fails: Spec
    passes: Spec
    remedy: tuple[str, str | None, float | None] | None = None  # kind, product, value
    name: str = ""


def build(spec: Spec, jurisdiction: str) -> RuleContext:
    policy = CompliancePolicy(jurisdiction=jurisdiction, **spec.policy)  # type: ignore[arg-type]
    prof = profile_of(client(**spec.client), MARKET, policy)
    fallback = Fallback(reason="infeasible", method="min_volatility") if spec.fallback else None
    pl = plan(spec.weights, prof, MARKET, fallback=fallback, request=_shaping(spec))
    return context(prof, pl, MARKET, policy, request=spec.request)


def _shaping(spec: Spec) -> RequestShaping | None:
    """The request's wishes with the shares the spec gives them, as a plan records them."""
    if not spec.shares or spec.request is None:
        return None
    wishes = parse_request(spec.request, MARKET).wishes
    outcomes = [
        WishOutcome(wish=w, done="not_done", before=spec.shares[w.target][0],
                    after=spec.shares[w.target][1], reason="limits")
        for w in wishes
    ]  # fmt: skip
    return RequestShaping(wishes=outcomes, volatility_before=0.05, volatility_after=0.05)


# fmt: off
CASES = [
    Case("CN-CLS-03", "pass", Spec(fill({}), {"investor_type": "professional"}),
         Spec(fill({}), PRO)),
    Case("CN-CLS-05", "pass",
         Spec(fill({}), {"investor_type": "professional", "financial_assets": 4_000_000,
                         "investment_experience_years": 1}),
         Spec(fill({}), {"investor_type": "professional", "annual_income": 200_000})),
    # 24 months to the day is still valid; a day more is stale (AS_OF is 2026-11-25).
    Case("CN-C-04", "block", Spec(fill({}), {"assessed_on": "2024-11-24"}),
         Spec(fill({}), {"assessed_on": "2024-11-25"})),
    # The plan as a service: 40% R4 + 60% R1 is R3 overall (> C2); 40% R3 + 60% R1 is R2.
    Case("CN-R-03", "revise", Spec({**CASH, "MATCH-R4": 0.4}, {"risk_level": "C2"}),
         Spec({**CASH, "MATCH-R3": 0.4}, {"risk_level": "C2"})),
    # 11.9% is above C3's 10% and within C4's 15%; 5.7% is above a firm's own 5% for C3.
    Case("TW-VOL-01", "revise", Spec(VOLATILE), Spec(VOLATILE, C4), ("max_volatility", None, 0.10)),
    Case("TW-VOL-01", "revise", Spec(fill({"510300": 0.3}), policy=C3_AT_5),
         Spec(fill({"510300": 0.3})), ("max_volatility", None, 0.05), "policy"),
    Case("CN-R-04", "block", Spec(fill({"NOT-ON-SHELF": 0.2})), Spec(fill({"510300": 0.2}))),
    Case("CN-MIS-01", "revise", Spec(fill({"TW-AM-01": 0.2})),
         Spec(fill({"TW-AM-01": 0.2}), {"financial_assets": 3_000_000}),
         ("exclude", "TW-AM-01", None), "qualified"),
    Case("CN-MIS-01", "revise", Spec(fill({"PRO-ONLY": 0.2})), Spec(fill({"PRO-ONLY": 0.2}), PRO),
         ("exclude", "PRO-ONLY", None), "professional"),
    Case("CN-MIS-03", "revise", Spec(fill({"512480": 0.2})), Spec(fill({"512480": 0.2}), C4),
         ("exclude", "512480", None)),
    Case("CN-MIS-05", "block",
         Spec({**CASH, "511260": 0.4}, {"risk_level": "C1", "lowest_category": True}),
         Spec({**CASH, "511880": 0.4}, {"risk_level": "C1", "lowest_category": True})),
    Case("CN-MIS-06", "escalate", Spec(fill({}), {"risk_level": "C2"}, request="我想买512480"),
         Spec(fill({}), {"risk_level": "C2"}, request="我想买511260")),
    # In words: no gold product is within C2; a C3 client may have some.
    Case("CN-MIS-06", "escalate", Spec(fill({}), {"risk_level": "C2"}, request=GOLD),
         Spec(fill({}), {"risk_level": "C3"}, request=GOLD), name="gold"),
    Case("CN-MIS-06", "escalate",
         Spec(fill({}), {"risk_level": "C4"}, request="I'd like some private equity funds."),
         Spec(fill({}), {"risk_level": "C4"}, request="No private equity funds for me, please."),
         name="avoid"),
    # The lowest category: the request is refused and the refusal goes to an advisor.
    Case("CN-MIS-05", "escalate",
         Spec(CASH | {"511880": 0.4}, {"risk_level": "C1", "lowest_category": True},
              request="我想买沪深300ETF。"),
         Spec(CASH | {"511880": 0.4}, {"risk_level": "C1", "lowest_category": True},
              request="多配点货币基金"), name="request"),
    # The plan holds half of 850,000 in cash (FILLER): 100,000 is covered, 500,000 is not.
    Case("TW-REQ-03", "escalate", Spec(fill({}), request="下个月要用50万"),
         Spec(fill({}), request="下个月要用10万")),
    # Issue 26: 不要货币基金，不要债券，不要现金 went out with cash from 8% to 48.7%. A move
    # against a wish within TIERWISE_COMPLIANCE__REQUEST_AGAINST_MAX (5 points) passes.
    Case("TW-REQ-04", "escalate",
         Spec(fill({}), request=AVOID_CASH, shares={"cash": (0.08, 0.487), "bond": (0.38, 0.0)}),
         Spec(fill({}), request=AVOID_CASH, shares={"cash": (0.08, 0.08), "bond": (0.38, 0.38)})),
    Case("TW-REQ-04", "escalate",
         Spec(fill({}), request="多配债券", shares={"bond": (0.30, 0.20)}),
         Spec(fill({}), request="多配债券", shares={"bond": (0.30, 0.26)}), name="more"),
    Case("TW-REQ-04", "escalate",
         Spec(fill({}), request="少配股票", shares={"equity": (0.30, 0.33)},
              policy={"request_against_max": 0.02}),
         Spec(fill({}), request="少配股票", shares={"equity": (0.30, 0.33)}), name="policy"),
    Case("TW-REQ-01", "escalate", Spec(fill({}), request="我想买比特币"),
         Spec(fill({}), request="希望多配一些债券，少一点股票，稳一点。")),
    Case("TW-REQ-01", "escalate", Spec(fill({}), request="I'd like to buy 600519."),
         Spec(fill({}), request="I'd like to buy 510300."), name="unknown code"),
    Case("CN-MIS-07", "escalate", Spec(fill({"512480": 0.2}), C4),
         Spec(fill({"512480": 0.2}), {**C4, **PRO})),
    Case("CN-IA-01", "block", Spec(fill({}), {"advisor_id": None}),
         Spec(fill({}), {"advisor_id": None, "aum": 200_000, "liquidity_need": 20_000})),
    Case("CN-IA-02", "escalate", Spec(fill({}), {**C4, "max_drawdown_tolerance_pct": 5}),
         Spec(fill({}), {**C4, "max_drawdown_tolerance_pct": 20})),
    Case("CN-AI-04", "escalate", Spec(fill({}), policy={"kill_switch": True}), Spec(fill({}))),
    Case("EU-SUIT-05", "block", Spec({}), Spec(fill({}))),
    Case("EU-SUIT-09", "escalate", Spec(fill({})),
         Spec(fill({}), {"sustainability_preference": "无特别偏好"})),
    Case("EU-CLS-01", "pass", Spec(fill({}), {**PRO, "trades": []}), Spec(fill({}), PRO)),
    Case("DIV-P-01", "escalate", Spec(fill({"STK-A": 0.15})), Spec(fill({"STK-A": 0.10}))),
    Case("DIV-P-02", "revise", Spec(fill({"STK-A": 0.08, "STK-B": 0.08})),
         Spec(fill({"STK-A": 0.07, "STK-B": 0.07})), ("cap", "STK-A", 0.075)),
    Case("DIV-P-03", "revise", Spec(fill({"512480": 0.25}), C4), Spec(fill({"512480": 0.2}), C4),
         ("cap", "512480", 0.20)),
    # Two sector ETFs of one sector (semiconductor) together over 30%.
    Case("DIV-P-04", "revise", Spec(fill({"512480": 0.2, "SEMI-2": 0.15}), C4),
         Spec(fill({"512480": 0.15, "SEMI-2": 0.15}), C4), ("cap", "512480", 0.3 * 0.2 / 0.35)),
    Case("DIV-P-05", "revise",
         Spec({"TW-MM-01": 0.05, "511260": 0.35, "511010": 0.3, "510300": 0.3}),
         Spec({"TW-MM-01": 0.12, "511260": 0.28, "511010": 0.3, "510300": 0.3}),
         ("min_reserve", None, 100_000 / 850_000)),
    Case("DIV-P-06", "revise", Spec(fill({"LOCK-400": 0.1}), {"horizon_years": 1}),
         Spec(fill({"LOCK-400": 0.1}), {"horizon_years": 2}), ("exclude", "LOCK-400", None)),
    Case("DIV-P-07", "revise", Spec(fill({"LOCK-365": 0.25})), Spec(fill({"LOCK-365": 0.2})),
         ("cap", "LOCK-365", 0.2)),
    Case("DIV-P-07", "revise", Spec(fill({"LOCK-365": 0.25})),
         Spec(fill({"LOCK-365": 0.25}), PRO), name="professional"),
    # Age 66 with R4; age 66 with 15% illiquid; age 71 with a lock-up over 3 years.
    Case("DIV-P-08", "escalate", Spec(fill({"512480": 0.1}), {**C4, "birth_year": 1960}),
         Spec(fill({"512480": 0.1}), {**C4, "birth_year": 1962}), name="senior-R4"),
    Case("DIV-P-08", "escalate", Spec(fill({"LOCK-400": 0.15}), {"birth_year": 1960}),
         Spec(fill({"LOCK-400": 0.1}), {"birth_year": 1960}), name="senior-illiquid"),
    Case("DIV-P-08", "escalate", Spec(fill({"LOCK-1200": 0.05}), {"birth_year": 1955}),
         Spec(fill({"LOCK-1000": 0.05}), {"birth_year": 1955}), name="elderly-lockup"),
    Case("DIV-P-09", "block", Spec(fill({"LEV-1": 0.1})), Spec(fill({"LEV-1": 0.1}), C4)),
    # 12-month turnover 5.5x plus this plan's 1x is over 6x; 4.5x plus 1x is not.
    Case("DIV-P-10", "escalate", Spec(fill({}), {"trades": trades(11, 425_000)}),
         Spec(fill({}), {"trades": trades(9, 425_000)})),
    Case("TW-PLAN-01", "revise", Spec({"TW-MM-01": 0.3, "511260": 0.3, "510300": 0.3}),
         Spec({"TW-MM-01": 0.4, "511260": 0.3, "510300": 0.3})),
    Case("TW-CONC-01", "revise", Spec(fill({"510300": 0.45})), Spec(fill({"510300": 0.4})),
         ("cap", "510300", 0.40)),
    Case("TW-CONC-01", "revise", Spec(fill({"510300": 0.3}), policy={"max_single_product": 0.2}),
         Spec(fill({"510300": 0.2}), policy={"max_single_product": 0.2}), ("cap", "510300", 0.2),
         "policy"),
    Case("TW-ALLOC-01", "escalate", Spec(fill({}), fallback=True), Spec(fill({}))),
    # 510300 is 35.29% of the client's assets today (a concentration flag and its lesson): a
    # plan at 40% raises it, one at 35% does not; the cap is today's share on the weight grid.
    Case("TW-EDU-01", "revise", Spec(fill({"510300": 0.40}), CONCENTRATED),
         Spec(fill({"510300": 0.35}), CONCENTRATED), ("cap", "510300", 0.3529)),
    # A leveraged product beside the leverage lesson; the same plan for a client with no flag.
    Case("TW-EDU-02", "revise", Spec(fill({"LEV-4": 0.1}), {**C4, "trades": MARGIN}),
         Spec(fill({"LEV-4": 0.1}), C4), ("exclude", "LEV-4", None)),
]
# fmt: on


def _params(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(case, j, id=f"{case.rule}{'-' + case.name if case.name else ''}-{j}")
        for case in cases
        for j in RULES.get(case.rule).jurisdictions
    ]


def test_every_evaluated_check_rule_has_a_case() -> None:
    evaluated = {r.id for r in RULES.rules if r.evaluated and r.kind == "check"}
    assert evaluated == {c.rule for c in CASES}


@pytest.mark.parametrize(("case", "jurisdiction"), _params(CASES))
def test_failing_example_fires_with_its_verdict(case: Case, jurisdiction: str) -> None:
    assert hits(RULES, build(case.fails, jurisdiction)).get(case.rule) == case.verdict


@pytest.mark.parametrize(("case", "jurisdiction"), _params(CASES))
def test_passing_example_does_not_fire(case: Case, jurisdiction: str) -> None:
    assert case.rule not in hits(RULES, build(case.passes, jurisdiction))


ELSEWHERE = [
    pytest.param(case, j, id=f"{case.rule}-{j}")
    for case in CASES
    for j in ("CN", "US", "EU")
    if j not in RULES.get(case.rule).jurisdictions and not case.name
]


@pytest.mark.parametrize(("case", "jurisdiction"), ELSEWHERE)
def test_rule_is_silent_outside_its_jurisdictions(case: Case, jurisdiction: str) -> None:
    assert case.rule not in hits(RULES, build(case.fails, jurisdiction))


WITH_REMEDY = [c for c in CASES if c.remedy]


@pytest.mark.parametrize(("case", "jurisdiction"), _params(WITH_REMEDY))
def test_revise_finding_carries_the_constraint_that_fixes_it(case: Case, jurisdiction: str) -> None:
    ctx = build(case.fails, jurisdiction)
    found = [f for f in evaluate(RULES, REGISTRY, ctx) if f.rule_id == case.rule]
    kind, code, value = case.remedy or ("", None, None)
    remedies = {(f.remedy.kind, f.remedy.product_code): f.remedy for f in found if f.remedy}
    remedy = remedies[(kind, code)]
    assert remedy.rule_id == case.rule
    assert remedy.value == (None if value is None else pytest.approx(value, abs=1e-9))
    fixed = apply(case.fails.weights, [f.remedy for f in found if f.remedy])
    assert case.rule not in hits(RULES, build(replace(case.fails, weights=fixed), jurisdiction))


def test_every_revise_check_rule_names_its_remedy() -> None:
    """CN-R-03 has none of its own: a plan above the client is so through a product above the
    client, which CN-MIS-03 excludes. TW-PLAN-01 guards the allocator's own arithmetic."""
    revise = {c.rule for c in CASES if c.verdict == "revise"}
    assert revise - {c.rule for c in WITH_REMEDY} == {"CN-R-03", "TW-PLAN-01"}
    (case,) = [c for c in CASES if c.rule == "CN-R-03"]
    found = evaluate(RULES, REGISTRY, build(case.fails, "CN"))
    assert [f.remedy.kind for f in found if f.rule_id == "CN-MIS-03" and f.remedy] == ["exclude"]


def apply(weights: dict[str, float], remedies: list[Constraint]) -> dict[str, float]:
    """The weights with each constraint applied; freed weight goes to R1 money-market funds."""
    out, freed = dict(weights), 0.0
    for r in remedies:
        if r.kind == "exclude":
            freed += out.pop(r.product_code or "", 0.0)
        elif r.kind == "cap" and r.value is not None and out.get(r.product_code, 0.0) > r.value:
            freed += out[r.product_code] - r.value
            out[r.product_code] = r.value
        elif r.kind == "max_volatility" and r.value is not None:
            out = under(out, r.value)
        elif r.kind == "min_reserve" and r.value is not None:
            reserve = sum(
                w for c, w in out.items() if MARKET.products[c].liquidity_reserve_eligible
            )
            largest = max(out, key=out.__getitem__)
            out[largest] -= r.value - reserve
            freed += r.value - reserve
    for code in ("511880", "TW-MM-02"):
        out[code] = out.get(code, 0.0) + freed / 2
    return out


def under(weights: dict[str, float], ceiling: float) -> dict[str, float]:
    """The weights with every weight outside the reserve cut by the same factor, step by step,
    and what it frees in R1 money-market funds, until the volatility is under the ceiling."""
    risky = [c for c in weights if not MARKET.products[c].liquidity_reserve_eligible]
    for step in range(200):
        out = {c: w * 0.98**step if c in risky else w for c, w in weights.items()}
        freed = 1.0 - sum(out.values())
        for code in ("511880", "TW-MM-02"):
            out[code] = out.get(code, 0.0) + freed / 2
        mu, cov = MARKET.product_returns_and_covariance(list(out))
        if portfolio_performance(np.array(list(out.values())), mu, cov)[1] <= ceiling:
            return out
    raise AssertionError(f"no mix with cash is under {ceiling}")


@pytest.mark.parametrize("value", ["0", "0.001", "1.5", "-0.1"])
def test_the_request_against_limit_refuses_nonsense(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Below a point a share's rounding would escalate plans; above 1 nothing ever would."""
    monkeypatch.setenv("TIERWISE_COMPLIANCE__REQUEST_AGAINST_MAX", value)
    with pytest.raises(ValidationError, match="request_against_max"):
        Settings()
    monkeypatch.setenv("TIERWISE_COMPLIANCE__REQUEST_AGAINST_MAX", "0.1")
    assert Settings().compliance.request_against_max == 0.1
