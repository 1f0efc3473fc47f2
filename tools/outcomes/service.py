"""Measuring delivered plans on stored prices, and keeping their stored outcomes current.

Every caller (the API, the inbox, the CLI) goes through here: one run measured on demand
(`measure`), and every delivered run's stored outcome brought up to the latest prices
(`refresh`), which the aggregates, breaches and flags read (core/services/outcomes.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from core.database import session_scope
from core.errors import NotMeasurable, RunNotDelivered
from core.schemas.client import STORED, ClientInput
from core.schemas.profile import ClientProfile
from core.services import deliveries, outcomes, prices
from core.tables import Run
from tools.compliance.disclosures import load_wording
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData
from tools.outcomes.measure import CASH, Pricing, measurable_window, outcome

log = logging.getLogger("tierwise.outcomes")
PAGE = 200  # delivered runs measured per transaction by refresh


def disclosure(locale: str) -> str:
    """The past-performance disclosure (REQ-06) every figure carries."""
    wording = load_wording()["REQ-06"]["ALL"]
    return str(wording.get(locale) or wording["en"])


def cash_codes(market: MarketData) -> frozenset[str]:
    """What grows at the stated cash yield when it has no prices: money-market products and
    the part of a client's assets not held in any product."""
    return frozenset({p.code for p in market.shelf if p.category == "money_market"} | {CASH})


def pricing(session: Session, market: MarketData, codes: set[str]) -> Pricing:
    cash = next(a for a in market.cma.asset_classes if a.id == "cash")
    return Pricing(
        series=prices.series(session, codes),
        cash_codes=cash_codes(market),
        cash_rate=cash.expected_return,
        cash_basis=f"capital-market assumptions {market.cma.version}, cash ({cash.basis})",
    )


def portfolios(run: Run, market: MarketData) -> dict[str, dict[str, float]]:
    """The delivered weights, the client's holdings before the plan (with uninvested assets as
    cash) and the plan's 1/N baseline over the products the client could hold."""
    plan = {h["product_code"]: float(h["weight"]) for h in (run.plan or {}).get("holdings", [])}
    client = ClientInput.model_validate(run.client_snapshot, context=STORED)
    holdings: dict[str, float] = {}
    if client.aum > 0:
        for held in client.holdings:
            code = held.product_code
            holdings[code] = holdings.get(code, 0.0) + held.market_value / client.aum
        rest = 1.0 - sum(holdings.values())
        if rest > 1e-9:
            holdings[CASH] = rest
    profile = ClientProfile.model_validate(run.profile)
    universe = [p.code for p in eligible_products(profile, market)]
    equal = {code: 1.0 / len(universe) for code in universe} if universe else {}
    return {"plan": plan, "holdings": holdings, "equal_weight": equal}


def _delivered(session: Session, run: Run) -> None:
    delivery = deliveries.get(session, run.id)
    if delivery is None or run.status != "delivered":
        raise RunNotDelivered(f"run {run.id} has not delivered a plan ({run.status})")
    if run.plan is None or delivery.plan_hash != run.plan.get("plan_hash"):
        raise NotMeasurable(f"run {run.id}: the stored plan is not the plan delivered")


def measure(
    session: Session,
    run: Run,
    market: MarketData,
    *,
    to: date | None = None,
    pricing_: Pricing | None = None,
    last: date | None = None,
) -> dict[str, Any]:
    """The outcome of a delivered run from its as_of to `to` (or the last price day)."""
    _delivered(session, run)
    start = date.fromisoformat(run.as_of)
    if to is not None and to <= start:
        raise NotMeasurable(f"to {to.isoformat()} is not after the run's as_of {run.as_of}")
    last = last if last is not None else prices.last_day(session)
    window = measurable_window(start, last, to)
    if window is None:
        shown = last.isoformat() if last else "none"
        raise NotMeasurable(
            f"no prices after the run's as_of {run.as_of} (last price day: {shown}); "
            "import prices with `tierwise prices import` or PUT /v1/prices"
        )
    weights = portfolios(run, market)
    codes = set().union(*weights.values())
    used = pricing_ if pricing_ is not None else pricing(session, market, codes)
    return outcome(
        run_id=run.id,
        plan=weights["plan"],
        holdings=weights["holdings"],
        equal_weight=weights["equal_weight"],
        tolerance_pct=float(run.client_snapshot["objectives"]["max_drawdown_tolerance_pct"]),
        pricing=used,
        window=window,
        disclosure=disclosure(run.locale),
    )


def _unmeasured(run: Run, reason: str, locale: str) -> dict[str, Any]:
    """The stored outcome of a delivered plan that cannot be measured: it still counts."""
    return {
        "run_id": run.id,
        "from": run.as_of,
        "to": run.as_of,
        "months": 0,
        "coverage": 0.0,
        "annualised": False,
        "client_facing": False,
        "plan": None,
        "baselines": None,
        "excess": None,
        "tolerance": float(run.client_snapshot["objectives"]["max_drawdown_tolerance_pct"]) / 100,
        "drawdown_breach": False,
        "cash_yield": None,
        "unmeasured": reason,
        "disclosure": disclosure(locale),
    }


def refresh(
    engine: Engine,
    market: MarketData,
    *,
    on_page: Callable[[int, int], None] | None = None,
) -> int:
    """Measure every delivered run whose stored outcome is missing or on older prices, a page
    per transaction; returns how many were measured. `on_page(done, total)` reports progress."""
    with session_scope(engine) as session:
        version = prices.version(session)
        total = outcomes.stale_count(session, version)
        last = prices.last_day(session)
        shared = pricing(session, market, set(market.products))  # prices are for shelf codes
    done = 0
    while done < total:
        with session_scope(engine) as session:
            page = outcomes.stale_runs(session, version, PAGE)
            if not page:
                break
            for run in page:
                try:
                    doc = measure(session, run, market, pricing_=shared, last=last)
                except (NotMeasurable, RunNotDelivered) as exc:
                    doc = _unmeasured(run, exc.detail, run.locale)
                except Exception as exc:  # one bad record must not stop every other outcome
                    log.exception("run %s: outcome not measured", run.id)
                    doc = _unmeasured(run, f"{type(exc).__name__}: {exc}", run.locale)
                outcomes.save(session, run, doc, version)
        done += len(page)
        if on_page is not None:
            on_page(done, total)
    return done
