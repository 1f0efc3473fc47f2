"""Service effect (服务效果): prices in, and what delivered plans did for their clients."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Reader, Route, RunnerDep, Service, require
from api.paging import paged
from api.schemas import (
    BreachList,
    BreachPublic,
    OutcomePublic,
    OutcomeSummary,
    PriceImportPublic,
    PricesPut,
    PricesStored,
)
from core.database import session_scope
from core.errors import InvalidInput
from core.services import outcomes, price_files, price_imports, runs
from core.tables import Principal
from tools.outcomes import imports, service

router = APIRouter(tags=["outcomes"], route_class=Route)
Overseer = Annotated[Principal, Depends(require("advisor", "supervisor"))]
Importer = Annotated[Principal, Depends(require("service", "supervisor"))]


@router.put("/v1/prices")
def put_prices(body: PricesPut, runner: RunnerDep, principal: Service) -> PricesStored:
    """Store closing prices of shelf products, all or nothing: a close that is not positive, a
    code not on the shelf, or one (code, date) twice with different closes is 422 naming each
    row (numbered from 1), and so is what the sanity gate refuses (a daily move or a row far
    ahead) unless `override` gives the reason to store it. Stored outcomes are then measured
    again by the API's background refresher; reads answer from the earlier figures meanwhile,
    saying how many are pending, and GET /v1/prices/imports/{import_id} what it changed."""
    source = price_files.json_source(
        (row.model_dump(mode="json") for row in body.rows), runner.market.products
    )
    stored = imports.run(
        runner.engine,
        source,
        runner.settings.prices,
        runner.market.products,
        actor=principal.name,
        override=body.override.reason if body.override else None,
    )
    return PricesStored.model_validate(stored)


@router.get("/v1/prices/imports/{import_id}")
def get_price_import(import_id: str, runner: RunnerDep, _: Importer) -> PriceImportPublic:
    """A stored price import (the service and supervisors): who sent what, the override and
    what it let through, and what it changed in the stored outcomes once they were measured
    again on its prices (`pending`: plans still to measure)."""
    with session_scope(runner.engine) as session:
        found = price_imports.public(session, price_imports.get(session, import_id))
    return PriceImportPublic.model_validate(found)


@router.get("/v1/runs/{run_id}/outcome")
def get_outcome(
    run_id: str,
    runner: RunnerDep,
    principal: Reader,
    to: Annotated[
        date | None, Query(description="measure to this day; default the last price")
    ] = None,
    audience: Annotated[
        Literal["advisor", "client"],
        Query(description="client: refused (409) for a period under six months"),
    ] = "advisor",
) -> OutcomePublic:
    """What the delivered plan did from the run's as_of, against the client's holdings before
    it and the plan's 1/N baseline (the client's advisor, supervisors, the service). 409 when
    the run delivered nothing or no prices follow its as_of."""
    with session_scope(runner.engine) as session:
        run = runs.visible(session, principal, run_id)
        doc = service.measure(session, run, runner.market, to=to, for_client=audience == "client")
    return OutcomePublic.model_validate(doc)


@router.get("/v1/outcomes")
def list_outcomes(
    runner: RunnerDep,
    principal: Overseer,
    group_by: Annotated[Literal["advisor", "tier"], Query()] = "advisor",
    start: Annotated[date | None, Query(alias="from", description="delivered on or after")] = None,
    end: Annotated[date | None, Query(alias="to", description="delivered on or before")] = None,
) -> OutcomeSummary:
    """Per advisor or tier, every plan delivered in the period (by its as_of), including those
    of clients who left or were planned again: how many, the median and interquartile range of
    excess return over each baseline, and the share whose drawdown passed the client's
    tolerance. An advisor sees only the plans they advised; a supervisor sees every advisor.

    New deliveries are measured before answering; after a price import, the API measures every
    plan again in the background, and `pending` says how many still wait (their stored figures,
    on the earlier prices, are what this answer counts)."""
    _period(start, end)
    refreshed = service.catch_up(runner.engine, runner.market, runner.settings)
    with session_scope(runner.engine) as session:
        groups = outcomes.aggregate(session, group_by, start=start, end=end, principal=principal)
    return OutcomeSummary.model_validate(
        {
            "group_by": group_by,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "groups": groups,
            "pending": refreshed.pending,
            "disclosure": service.disclosures(),
        }
    )


@router.get("/v1/outcomes/breaches", response_model=BreachList)
def list_breaches(
    runner: RunnerDep,
    principal: Overseer,
    start: Annotated[date | None, Query(alias="from", description="delivered on or after")] = None,
    end: Annotated[date | None, Query(alias="to", description="delivered on or before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Response:
    """Clients still with the firm whose latest delivered plan fell further than their
    max_drawdown_tolerance_pct, newest plan first, a page at a time: an advisor's current
    clients, or every client for a supervisor. A plan delivered to the client since clears it.
    A page stops before TIERWISE_MAX_PAGE_BYTES too, and `next` goes on from there."""
    _period(start, end)
    refreshed = service.catch_up(runner.engine, runner.market, runner.settings)
    with session_scope(runner.engine) as session:
        found, more = outcomes.breach_page(
            session, start=start, end=end, principal=principal, limit=limit, cursor=cursor
        )
        entries = [
            (BreachPublic.model_validate(outcomes.breach_public(*breach)), after)
            for breach, after in found
        ]
    budget = runner.settings.max_page_bytes
    return paged(entries, more, budget, pending=refreshed.pending, disclosure=service.disclosures())


def _period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"from {start.isoformat()} is after to {end.isoformat()}")
