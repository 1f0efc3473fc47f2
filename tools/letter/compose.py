"""The letter's sections that code writes: every holding, the trades, and the research notes
about what the plan holds. Figures come from the plan and the shelf, names in the client's
language (Product.name), notes by title and publisher, never by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.schemas.client import Holding
from core.schemas.letter import HoldingLine, NoteLine, TradeLine
from core.schemas.plan import Plan
from core.schemas.profile import ClientProfile
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData
from tools.market.research import ResearchNote

MAX_NOTES = 3


def _name(code: str, market: MarketData, locale: str) -> str:
    product = market.products.get(code)
    return product.name(locale) if product is not None else code


def holding_lines(plan: Plan, market: MarketData, locale: str) -> list[HoldingLine]:
    """Every holding of the plan with a weight, largest first, as the client reads it."""
    return [
        HoldingLine(
            code=h.product_code,
            name=_name(h.product_code, market, locale),
            risk_rating=h.risk_rating,
            weight=h.weight,
            amount=h.amount,
            rounding=h.rounding,
            units=h.units,
            price=h.price,
            house_product=h.product_code in market.products
            and market.products[h.product_code].house_product,
        )
        for h in plan.holdings
        if h.weight > 0
    ]


def whole_hundreds(amount: float) -> float:
    """A buy as a fund order can be placed: rounded down to whole hundreds of yuan."""
    return float(int(amount // 100) * 100)


def trade_lines(
    plan: Plan, current: Sequence[Holding], market: MarketData, locale: str
) -> list[TradeLine]:
    """The steps from what the client holds today to the plan: sells, then buys.

    None for a client who holds nothing: buying the plan is the holdings table itself. A buy is
    rounded down to whole hundreds of yuan like the table's amounts; a sell is the amount held
    above the plan, to the yuan.
    """
    if not current:
        return []
    lines = []
    for t in plan.trades:
        amount = whole_hundreds(t.amount) if t.side == "buy" else round(t.amount)
        if amount > 0:
            name = _name(t.product_code, market, locale)
            lines.append(TradeLine(side=t.side, code=t.product_code, name=name, amount=amount))
    return lines


def plan_notes(profile: ClientProfile, plan: Plan, market: MarketData) -> list[ResearchNote]:
    """At most three notes about what the plan holds, chosen after allocation.

    A note counts for the plan's weight in the products it is about, and otherwise for the
    plan's weight in its asset classes; each next note counts only holdings the notes before it
    did not cover, so three notes speak of three parts of the plan. A note about a product the
    client may not hold is never shown. Ties go to the newer note.
    """
    eligible = {p.code for p in eligible_products(profile, market)}
    weights = {h.product_code: h.weight for h in plan.holdings if h.weight > 0}
    classes: dict[str, float] = {}
    for h in plan.holdings:
        if h.weight > 0:
            classes[h.asset_class] = classes.get(h.asset_class, 0.0) + h.weight
    candidates = [
        n
        for n in market.corpus
        if set(n.products) <= eligible
        and (set(n.products) & set(weights) or set(n.asset_classes) & set(classes))
    ]
    chosen: list[ResearchNote] = []
    covered: set[str] = set()
    uncovered_classes = dict(classes)

    def score(n: ResearchNote, covered: set[str], classes: dict[str, float]) -> tuple[Any, ...]:
        by_product = sum(weights[c] for c in n.products if c in weights and c not in covered)
        by_class = sum(classes.get(c, 0.0) for c in n.asset_classes)
        return (by_product, by_class, n.as_of.isoformat(), n.id)

    while candidates and len(chosen) < MAX_NOTES:
        best = max(candidates, key=lambda n: score(n, covered, uncovered_classes))
        if score(best, covered, uncovered_classes)[:2] == (0.0, 0.0):
            break
        chosen.append(best)
        candidates.remove(best)
        covered |= set(best.products)
        for c in best.asset_classes:
            uncovered_classes.pop(c, None)
    return chosen


def note_lines(notes: Sequence[ResearchNote], locale: str) -> list[NoteLine]:
    """Each note as the client reads it: title, publisher, date and one line, in their language."""
    return [
        NoteLine(
            title=n.title.in_(locale),
            publisher=n.publisher.in_(locale),
            as_of=n.as_of,
            summary=n.one_line(locale),
        )
        for n in notes
    ]
