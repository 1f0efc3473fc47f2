"""Building a plan: trades, the equal-weight baseline and a rationale for target weights, then
sealed."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from core.schemas.client import Holding
from core.schemas.plan import (
    Baseline,
    Constraint,
    Doubled,
    Fallback,
    Plan,
    PlanHolding,
    ShelfChoice,
    Trade,
    seal,
)
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


LOT = 100  # exchange-traded funds trade in lots of 100 units
HUNDRED = 100.0  # fund orders are placed in whole hundreds of yuan


def lot_price(code: str, market: MarketData, closes: Mapping[str, float]) -> float | None:
    """The close a product is bought in lots at: exchange-traded, with a stored last close."""
    product = market.products.get(code)
    if product is None or not product.exchange_traded:
        return None
    return closes.get(code)


def buyable(amount: float, price: float | None = None) -> tuple[float, int | None]:
    """An amount rounded down to what an order can be placed for, and its units: whole lots of
    100 units at `price`, else whole hundreds of yuan (units None)."""
    if price is None:
        return float(math.floor(amount / HUNDRED + 1e-9) * HUNDRED), None
    units = math.floor(amount / (price * LOT) + 1e-9) * LOT
    return round(units * price, 2), units


def holding(
    code: str, weight: float, profile: ClientProfile, market: MarketData, price: float | None
) -> PlanHolding:
    """One target holding with the amount a client can buy of its weight."""
    product = market.products.get(code)
    amount, units = buyable(weight * profile.aum, price)
    return PlanHolding(
        product_code=code,
        weight=weight,
        risk_rating=product.risk_rating.value if product else "unknown",
        asset_class=product.asset_class if product else "unknown",
        amount=amount,
        rounding="lots" if units is not None else "hundreds",
        units=units,
        price=price if units is not None else None,
    )


def trades_for(
    targets: list[PlanHolding], holdings: list[Holding], min_trade: float
) -> list[Trade]:
    """Trades that move current holdings to the target amounts; sells first. A position the plan
    leaves out is sold whole; every other order is rounded down, as its holding is, to whole lots
    at the holding's price or whole hundreds of yuan, so no order overshoots its target."""
    current: dict[str, float] = {}
    for h in holdings:
        current[h.product_code] = current.get(h.product_code, 0.0) + h.market_value
    by_code = {h.product_code: h for h in targets if h.weight > 0}
    trades = []
    for code in sorted(set(current) | set(by_code)):
        target = by_code.get(code)
        delta = (target.amount if target else 0.0) - current.get(code, 0.0)
        if target is None:
            amount, units, price = round(abs(delta), 2), None, None
        else:
            price = target.price if target.rounding == "lots" else None
            amount, units = buyable(abs(delta), price)
        if amount >= max(min_trade, 0.01):
            side: Literal["buy", "sell"] = "buy" if delta > 0 else "sell"
            trades.append(
                Trade(product_code=code, side=side, amount=amount, units=units, price=price)
            )
    return sorted(trades, key=lambda t: (t.side != "sell", t.product_code))


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
    closes: Mapping[str, float] | None = None,
    shelf: ShelfChoice | None = None,
    doubled: list[Doubled] | None = None,
) -> Plan:
    """A sealed plan from target weights: performance, 1/N baseline, amounts, trades, rationale.

    Amounts are in CNY: whole lots of 100 units at the last stored close (`closes`, on or before
    the run's day) for an exchange-traded product, whole hundreds of yuan for any other.

    The rationale is the model's if it promises nothing and quotes only the plan's figures;
    otherwise the offline model's, built from the same figures (tools/llm/fallback.py).
    """
    known = [c for c in weights if c in market.products]
    exp_return, exp_vol = _performance(market, {c: weights[c] for c in known})
    universe = [p.code for p in eligible_products(profile, market)] or known
    base_return, base_vol = _performance(market, {c: 1 / len(universe) for c in universe})
    plan_holdings = [
        holding(code, weight, profile, market, lot_price(code, market, closes or {}))
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
        trades=trades_for(plan_holdings, holdings, policy.min_trade_cny),
        rationale=rationale.text,
        source=source,
        method=method,
        target_volatility=round(target, 6),
        feasible_volatility=(round(span[0], 6), round(span[1], 6)),
        fallback=fallback,
        constraints=constraints or [],
        cma_version=market.cma.version,
        request=request,
        shelf=shelf or ShelfChoice(house_products=policy.house_products),
        doubled=doubled or [],
    )
    return seal(plan)
