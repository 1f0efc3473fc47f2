"""Measuring delivered plans on stored prices, and keeping their stored outcomes current.

Every caller (the API, the inbox, the CLI) goes through here: one run measured on demand
(`measure`), and every delivered run's stored outcome brought up to the latest prices
(`refresh`), which the aggregates, breaches and flags read (core/services/outcomes.py).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from core.database import session_scope
from core.errors import NotMeasurable, RunNotDelivered
from core.schemas.client import STORED, ClientInput
from core.schemas.profile import ClientProfile
from core.services import deliveries, outcomes, price_imports, prices
from core.settings import Settings
from core.tables import Delivery, Outcome, Run
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


def disclosures() -> str:
    """The disclosure in both languages, for figures that are not one client's."""
    return f"{disclosure('zh-CN')} {disclosure('en')}"


def cash_codes(market: MarketData) -> frozenset[str]:
    """What grows at the stated cash yield when it has no prices: money-market products and
    the part of a client's assets not held in any product."""
    return frozenset({p.code for p in market.shelf if p.category == "money_market"} | {CASH})


def pricing(session: Session, market: MarketData, codes: set[str] | None) -> Pricing:
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


def _delivered(session: Session, run: Run, sent: str | None) -> None:
    """Refuse a run that delivered nothing, or whose stored plan is not the one delivered
    (`sent`: the delivered plan's hash, if the caller has read it already)."""
    if sent is None:
        delivery = deliveries.get(session, run.id)
        sent = delivery.plan_hash if delivery is not None else None
    if sent is None or run.status != "delivered":
        raise RunNotDelivered(f"run {run.id} has not delivered a plan ({run.status})")
    if run.plan is None or sent != run.plan.get("plan_hash"):
        raise NotMeasurable(f"run {run.id}: the stored plan is not the plan delivered")


def measure(
    session: Session,
    run: Run,
    market: MarketData,
    *,
    to: date | None = None,
    pricing_: Pricing | None = None,  # the closes of every stored code, to measure many runs
    sent: str | None = None,
    for_client: bool = False,
) -> dict[str, Any]:
    """The outcome of a delivered run from its as_of to `to`, or to the last close of any of
    the products it and its baselines hold (a product whose closes stop earlier is missing;
    with none priced, the last price day of any product). `for_client`: refused for a period
    under six months, the display rules' floor for a figure shown to a client."""
    _delivered(session, run, sent)
    start = date.fromisoformat(run.as_of)
    if to is not None and to <= start:
        raise NotMeasurable(f"to {to.isoformat()} is not after the run's as_of {run.as_of}")
    weights = portfolios(run, market)
    codes = set().union(*weights.values())
    used = pricing_ if pricing_ is not None else pricing(session, market, codes)
    closes = [used.arrays[c][0][-1] for c in codes if c in used.arrays]
    # Nothing it holds has prices (all at the cash yield, or missing): the last price day of
    # any product, which a `pricing_` of every stored code (refresh's) already knows.
    if closes:
        last: date | None = date.fromordinal(int(max(closes)))
    else:
        last = used.last_day if pricing_ is not None else prices.last_day(session)
    window = measurable_window(start, last, to)
    if window is None:
        shown = last.isoformat() if last else "none"
        raise NotMeasurable(
            f"no prices after the run's as_of {run.as_of} (last close of its products: "
            f"{shown}); import prices with `tierwise prices import` or PUT /v1/prices"
        )
    found = outcome(
        run_id=run.id,
        plan=weights["plan"],
        holdings=weights["holdings"],
        equal_weight=weights["equal_weight"],
        tolerance_pct=float(run.client_snapshot["objectives"]["max_drawdown_tolerance_pct"]),
        pricing=used,
        window=window,
        disclosure=disclosure(run.locale),
    )
    if for_client and not found["client_facing"]:
        raise NotMeasurable(
            f"{found['from']} to {found['to']} is under six months: no figure is shown to a "
            "client for so short a period"
        )
    return found


def _unmeasured(run: Run, reason: str) -> dict[str, Any]:
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
        "disclosure": disclosure(run.locale),
    }


@dataclass(frozen=True)
class Refreshed:
    measured: int  # outcomes measured by this call
    pending: int  # delivered plans still to measure on the latest prices
    busy: bool = False  # another process holds the refresh lease


def pending(engine: Engine) -> int:
    """Delivered plans whose stored outcome is missing or measured on older prices."""
    with session_scope(engine) as session:
        return outcomes.stale_count(session, prices.version(session))


def refresh(
    engine: Engine,
    market: MarketData,
    *,
    inline_limit: int | None = None,
    lease_seconds: float = 60.0,
    on_page: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Refreshed:
    """Measure every delivered run whose stored outcome is missing or on older prices, a page
    per transaction, under the one refresh lease (renewed with each page).

    With `inline_limit`, a reader's call: it measures only when no more than that many are
    stale, and otherwise leaves them to the background refresher (api/app.py), so a read after
    a large import answers at once, from the stored outcomes, saying how many are pending.
    `stop` is asked between pages (a server shutting down). What a page changed is credited
    to the price import that made the prices it is measured on, and a breach that appears is
    labelled with it (core/services/price_imports.py); an import landing meanwhile starts the
    measuring again on its prices.
    """
    with session_scope(engine) as session:
        total = outcomes.stale_count(session, prices.version(session))
    if total == 0 or (inline_limit is not None and total > inline_limit):
        return Refreshed(0, total)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as session:
        if not outcomes.take_refresh(session, owner, lease_seconds):
            return Refreshed(0, total, busy=True)
    try:
        done, left = _measure(engine, market, (owner, lease_seconds), inline_limit, on_page, stop)
    finally:
        with session_scope(engine) as session:
            outcomes.release_refresh(session, owner)
    return Refreshed(done, left)


@dataclass(frozen=True)
class _Mark:
    """What a pass measures on: the price mark, the import that made it, and its prices."""

    version: int
    cause: str | None
    pricing: Pricing


def _read_mark(engine: Engine, market: MarketData) -> tuple[_Mark, int]:
    """The price mark, every stored close and the import that made the mark, read so that the
    closes are the mark's (read again if an import landed in between: it changes the closes
    and bumps the mark in one transaction); and how many outcomes are stale on it."""
    while True:
        with session_scope(engine) as session:
            version = prices.version(session)
            shared = pricing(session, market, None)  # every stored code, on or off the shelf
            if prices.version(session) == version:
                cause = price_imports.for_version(session, version)
                return _Mark(version, cause, shared), outcomes.stale_count(session, version)


def _measure(
    engine: Engine,
    market: MarketData,
    lease: tuple[str, float],
    inline_limit: int | None,
    on_page: Callable[[int, int], None] | None,
    stop: Callable[[], bool] | None,
) -> tuple[int, int]:
    """Measure the stale outcomes a page at a time on the prices of the mark the pass began
    on, under the lease (owner, seconds); a page that finds the mark moved starts a new pass
    on the new prices. How many were measured, and how many are left."""
    done, left, after, mark = 0, 0, None, None
    while stop is None or not stop():
        if mark is None:
            mark, left = _read_mark(engine, market)
            after = None
            if inline_limit is not None and left > inline_limit:
                break  # a reader's call: an import landed, and the rest is the background's
        measured = _next_page(engine, market, mark, after)
        if measured is None:  # an import landed: what this pass saves would be stale at once
            mark = None
            continue
        if not measured:
            break
        with session_scope(engine) as session:
            if not outcomes.take_refresh(session, *lease):
                break  # the lease lapsed and another process carries on
            _save(session, measured, mark)
        done, left, after = done + len(measured), left - len(measured), measured[-1][0].id
        if on_page is not None:
            on_page(done, done + max(left, 0))
    return done, max(left, 0)


# A page of stale runs: each with its delivery, its measured outcome and the one stored before.
_Page = list[tuple[Run, Delivery, dict[str, Any], Outcome | None]]


def _next_page(engine: Engine, market: MarketData, mark: _Mark, after: str | None) -> _Page | None:
    """The next page of stale runs after `after`, measured on the mark's prices, or None if the
    price mark has moved since. Read and measured without writing: on SQLite a write
    transaction holds the database, and other writers must get in between pages."""
    with session_scope(engine) as session:
        if prices.version(session) != mark.version:
            return None
        return [
            (run, sent, _measured(session, run, sent.plan_hash, market, mark.pricing), before)
            for run, sent, before in outcomes.stale_runs(session, mark.version, PAGE, after)
        ]


def _save(session: Session, measured: _Page, mark: _Mark) -> None:
    """Save a page, crediting what it changed to the import whose prices it was measured on."""
    saved = outcomes.save(session, measured, mark.version, mark.cause)
    if mark.cause is not None:
        changes = [
            price_imports.change(before, row)
            for (_, _, _, before), row in zip(measured, saved, strict=True)
            if before is not None
        ]
        price_imports.credit(session, mark.cause, changes)


def catch_up(engine: Engine, market: MarketData, settings: Settings) -> Refreshed:
    """A reader's refresh: new deliveries measured before it reads (up to
    TIERWISE_OUTCOME_REFRESH_INLINE of them); more are the background refresher's."""
    return refresh(
        engine,
        market,
        inline_limit=settings.outcome_refresh_inline,
        lease_seconds=settings.lease_seconds,
    )


def _measured(
    session: Session, run: Run, sent: str, market: MarketData, shared: Pricing
) -> dict[str, Any]:
    try:
        return measure(session, run, market, pricing_=shared, sent=sent)
    except (NotMeasurable, RunNotDelivered) as exc:
        return _unmeasured(run, exc.detail)
    except SQLAlchemyError:
        raise  # the database, not the record: the page is measured again next time
    except Exception as exc:  # one bad record must not stop every other outcome
        log.exception("run %s: outcome not measured", run.id)
        return _unmeasured(run, f"its record could not be measured ({type(exc).__name__})")
