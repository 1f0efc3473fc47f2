"""Building a plan: trades, the equal-weight baseline and a rationale for target weights, then
sealed."""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np

from core.schemas.client import Holding
from core.schemas.plan import Baseline, Constraint, Fallback, Plan, PlanHolding, Trade, seal
from core.schemas.profile import ClientProfile
from core.schemas.request import RequestShaping
from core.settings import AllocationPolicy
from tools.compliance.text_checks import PROMISES, prohibited, ungrounded
from tools.llm.fallback import usable_text
from tools.llm.offline import OfflineModel
from tools.llm.port import LanguageModel, Prompt
from tools.market.assumptions import sleeve_weights
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData
from tools.market.optimiser import portfolio_performance

RATIONALE_PROMPT = """Explain this portfolio to a {risk_level} client in {locale}, in one plain
paragraph, in their own terms: their goal ({goal}), their horizon ({horizon_years} years), the
money they need at hand (the liquidity reserve, reserve_amount in CNY) and, if they made one,
their request. Quote only the figures below; say that estimates are model estimates, not actual
returns; promise nothing. Compare with "an equal mix of the products you could hold" (the
baseline), never "1/N"; write no id and no model name.
{figures}"""


def trades_for(
    weights: dict[str, float], holdings: list[Holding], aum: float, min_trade: float
) -> list[Trade]:
    """Trades that move current holdings to the target weights; sells first."""
    current: dict[str, float] = {}
    for h in holdings:
        current[h.product_code] = current.get(h.product_code, 0.0) + h.market_value
    trades = []
    for code in sorted(set(current) | set(weights)):
        delta = weights.get(code, 0.0) * aum - current.get(code, 0.0)
        if abs(delta) >= max(min_trade, 0.01):
            trades.append(
                Trade(
                    product_code=code,
                    side="buy" if delta > 0 else "sell",
                    amount=round(abs(delta), 2),
                )
            )
    return sorted(trades, key=lambda t: (t.side != "sell", t.product_code))


def buyable(amount: float) -> float:
    """An amount rounded down to whole hundreds of yuan, what a fund order can be placed for."""
    return float(int(amount // 100) * 100)


def _performance(market: MarketData, weights: dict[str, float]) -> tuple[float, float]:
    """Expected return and volatility of shelf-product weights; zero for an empty plan."""
    if not weights:
        return 0.0, 0.0
    mu, cov = market.product_returns_and_covariance(list(weights))
    return portfolio_performance(np.array(list(weights.values())), mu, cov)


def rationale_problems(text: str, figures: dict[str, Any]) -> list[str]:
    """What makes a rationale unusable: a promise, jargon the client cannot read ("1/N"), or a
    figure the plan does not hold. The plan's figures are its shares (each holding's weight, the
    broad kinds' sums, the estimates) and its amounts in CNY (each holding's, the reserve, the
    assets, a cash need's)."""
    fractions = [
        figures[k]
        for k in (
            "expected_return",
            "expected_volatility",
            "baseline_return",
            "baseline_volatility",
            "target_volatility",
            "reserve_share",
        )
    ]
    fractions += [h["weight"] for h in figures["holdings"]]
    fractions += list(figures["sleeves"].values())
    request = figures.get("request") or {}
    fractions += [request[k] for k in ("volatility_before", "volatility_after") if k in request]
    plain = [figures["reserve_amount"], figures["aum"], figures["horizon_years"]]
    plain += [h["amount"] for h in figures["holdings"]]
    plain += [n["amount"] for n in figures["cash_needs"] if n.get("amount")]
    plain += [n["within_years"] for n in figures["cash_needs"] if n.get("within_years")]
    names = sorted({n for h in figures["holdings"] for n in (h["name"], h["code"])}, key=len)
    scrubbed = text
    for name in reversed(names):
        scrubbed = scrubbed.replace(name, " ")
    promises = [f"{rule} {hit}" for rule in PROMISES for hit in prohibited(text, rule)]
    jargon = ["jargon: 1/N"] if "1/N" in text else []
    figures_not_held = ungrounded(scrubbed, fractions, plain, tolerance_pp=0.1)
    return promises + jargon + [f"figure not in the plan: {n}" for n in figures_not_held]


def build_plan(
    weights: dict[str, float],
    profile: ClientProfile,
    holdings: list[Holding],
    *,
    market: MarketData,
    model: LanguageModel,
    policy: AllocationPolicy,
    method: str,
    target: float,
    span: tuple[float, float],
    fallback: Fallback | None = None,
    constraints: list[Constraint] | None = None,
    source: Literal["allocation", "advisor"] = "allocation",
    offline: LanguageModel | None = None,
    request: RequestShaping | None = None,
) -> Plan:
    """A sealed plan from target weights: performance, 1/N baseline, trades and rationale.

    The rationale is the model's if it promises nothing and quotes only the plan's figures;
    otherwise the offline model's, built from the same figures (tools/llm/fallback.py).
    """
    known = [c for c in weights if c in market.products]
    exp_return, exp_vol = _performance(market, {c: weights[c] for c in known})
    universe = [p.code for p in eligible_products(profile, market)] or known
    base_return, base_vol = _performance(market, {c: 1 / len(universe) for c in universe})
    plan_holdings = [
        PlanHolding(
            product_code=code,
            weight=weight,
            risk_rating=market.products[code].risk_rating.value
            if code in market.products
            else "unknown",
            asset_class=market.products[code].asset_class if code in market.products else "unknown",
            amount=buyable(weight * profile.aum),
        )
        for code, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    figures = {
        "holdings": [
            {
                "code": h.product_code,
                "weight": h.weight,
                "risk_rating": h.risk_rating,
                "asset_class": h.asset_class,
                "name": market.products[h.product_code].name(profile.locale)
                if h.product_code in market.products
                else h.product_code,
                "amount": h.amount,
            }
            for h in plan_holdings
        ],
        "sleeves": sleeve_weights((h.asset_class, h.weight) for h in plan_holdings),
        "risk_level": profile.risk_level,
        "goal": profile.goal,
        "horizon_years": profile.horizon_years,
        "aum": profile.aum,
        "reserve_amount": profile.liquidity_reserve,
        "cash_needs": [e.model_dump() for e in profile.facts.liquidity_events],
        # Whether the client asked for anything, and what asking for less risk changed.
        "request": {
            "made": True,
            **(
                request.model_dump(
                    mode="json", include={"risk", "volatility_before", "volatility_after"}
                )
                if request is not None
                else {}
            ),
        }
        if profile.request_intent is not None
        else None,
        "expected_return": round(exp_return, 4),
        "expected_volatility": round(exp_vol, 4),
        "baseline_return": round(base_return, 4),
        "baseline_volatility": round(base_vol, 4),
        "target_volatility": round(target, 4),
        "reserve_share": round(profile.liquidity_reserve_share, 4),
        "fallback": fallback.reason if fallback else None,
        "source": source,
    }
    prompt = Prompt(
        "rationale",
        RATIONALE_PROMPT,
        {
            "risk_level": profile.risk_level,
            "locale": profile.locale,
            "goal": profile.goal,
            "horizon_years": profile.horizon_years,
            "figures": json.dumps(figures, ensure_ascii=False),
            "data": figures,
        },
    )
    rationale = usable_text(
        model, prompt, lambda text: rationale_problems(text, figures), offline or OfflineModel()
    )
    plan = Plan(
        holdings=plan_holdings,
        expected_return=round(exp_return, 6),
        expected_volatility=round(exp_vol, 6),
        baseline=Baseline(
            products=len(universe),
            expected_return=round(base_return, 6),
            expected_volatility=round(base_vol, 6),
        ),
        trades=trades_for(weights, holdings, profile.aum, policy.min_trade_cny),
        rationale=rationale.text,
        source=source,
        method=method,
        target_volatility=round(target, 6),
        feasible_volatility=(round(span[0], 6), round(span[1], 6)),
        fallback=fallback,
        constraints=constraints or [],
        cma_version=market.cma.version,
        request=request,
    )
    return seal(plan)
