"""The inbox's outcomes page (issue 17, 服务效果): per advisor, how the plans delivered in a
period did against their baselines, charted, and the breaches still open.

Everything here reads the stored outcomes' columns, never their figures documents: the chart
takes the newest CHART_PLANS plans of the period and says so when there are more. The plan
page's card and the queue's flag stay with their pages in api/web/routes.py.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from api.deps import Route, RunnerDep, SessionDep
from api.web.i18n import translator
from api.web.routes import Viewer, Words, _lang, _measure_stale, _percent, _signed, render
from core.errors import Forbidden, InvalidInput
from core.services import clients, outcome_points, outcomes
from core.tables import Approval, Outcome, Run
from tools.outcomes import service as measuring

router = APIRouter(prefix="/inbox", include_in_schema=False, route_class=Route)

# A day as the period's form sends it; empty is no bound.
DAY = r"^(\d{4}-\d{2}-\d{2})?$"
CHART_PLANS = 2000  # the newest plans charted; the page says how many more there are
SHOWN_BREACHES = 100  # the newest breaches listed; the count says how many more there are
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_ROW = 130.0, 700.0, 44.0, 40.0


def _period_days(start: str, end: str) -> tuple[date | None, date | None]:
    """The period's first and last days of delivery; a day that does not exist, or a period
    that ends before it starts, is refused (422)."""
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError as exc:
        raise InvalidInput(f"from/to: {exc}") from exc
    if first and last and last < first:
        raise InvalidInput(f"from {start} is after to {end}")
    return first, last


def _advisor(row: outcome_points.PlanPoint) -> str:
    return row.advisor_id or outcomes.UNASSIGNED


def _volatility_words(row: Outcome | outcome_points.PlanPoint, t: Words) -> str:
    """Volatility is annualised only over a year or more; under that it is the period's own."""
    vol = _percent(row.plan_volatility) or "—"
    return t("volatility_annual" if row.annualised else "volatility_period") + f" {vol}"


def _marker_title(row: outcome_points.PlanPoint, t: Words) -> str:
    """What a chart marker says to a screen reader or on hover: every figure of the plan, or,
    for a client the viewer no longer serves, only that (its place still shows its excess)."""
    if row.run_id is None or row.from_day is None or row.to_day is None:
        return t("plan_not_yours_now")
    parts = [
        f"{row.client_id} · {row.run_id} · {row.from_day.isoformat()} → {row.to_day.isoformat()}",
        f"{t('versus_holdings')} {_signed(row.excess_vs_holdings)}",
        f"{t('versus_equal_weight')} {_signed(row.excess_vs_equal_weight)}",
        f"{t('outcome_return')} {_signed(row.plan_return)}, {_volatility_words(row, t)}",
    ]
    if row.breach:
        drawdown, tolerance = _percent(row.max_drawdown), _percent(row.tolerance)
        parts.append(t("drawdown_past").format(drawdown=drawdown, tolerance=tolerance))
    return " · ".join(parts)


def _axis(values: list[float]) -> tuple[float, float, float]:
    """A scale from below the lowest to above the highest value (zero always inside), in
    steps of 1, 2 or 5 times a power of ten, at most eight of them."""
    lo, hi = min([0.0, *values]), max([0.0, *values])
    span = max(hi - lo, 0.02)  # no plans, or all at zero: -1% … +1% or so
    power = 10.0 ** math.floor(math.log10(span / 8))
    step = next(s * power for s in (1, 2, 5, 10) if span / (s * power) <= 8)
    low = math.floor(lo / step + 1e-9) * step  # 1e-9: a value on a step is not one step more
    return low, max(math.ceil(hi / step - 1e-9) * step, low + step), step


def _tick(share: float) -> str:
    points = round(share * 100, 6) + 0.0  # + 0.0: no "-0%"
    return "0%" if points == 0 else f"{points:+g}%"


def _chart(keys: list[str], plans: Sequence[outcome_points.PlanPoint], t: Words) -> dict[str, Any]:
    """The geometry of the outcome chart: per advisor a row, per measured plan a circle at its
    excess return over the client's holdings and a square at its excess over 1/N."""
    values = [
        v for p in plans for v in (p.excess_vs_holdings, p.excess_vs_equal_weight) if v is not None
    ]
    low, high, step = _axis(values)

    def x(value: float) -> float:
        return round(CHART_LEFT + (value - low) / (high - low) * (CHART_RIGHT - CHART_LEFT), 1)

    measured = [p for p in plans if p.plan_return is not None]
    by_key: dict[str, list[outcome_points.PlanPoint]] = defaultdict(list)
    for p in measured:
        by_key[_advisor(p)].append(p)
    rows = []
    for i, key in enumerate(keys):
        y = CHART_TOP + i * CHART_ROW + CHART_ROW / 2
        marks = [
            {
                "run_id": p.run_id or "",
                "breach": p.breach,
                "holdings": None if p.excess_vs_holdings is None else x(p.excess_vs_holdings),
                "equal": None if p.excess_vs_equal_weight is None else x(p.excess_vs_equal_weight),
                "title": _marker_title(p, t),
            }
            for p in by_key[key]
        ]
        rows.append({"key": key, "y": y, "marks": marks})
    bottom = CHART_TOP + len(keys) * CHART_ROW
    ticks = [low + i * step for i in range(round((high - low) / step) + 1)]
    return {
        "rows": rows,
        "zero": x(0.0),
        "bottom": bottom,
        "height": bottom + 44,
        "ticks": [{"x": x(v), "label": _tick(v)} for v in ticks],
        "plans": len(measured),
        "breaches": sum(1 for p in measured if p.breach),
    }


def _median_volatility(plans: Sequence[outcome_points.PlanPoint]) -> dict[str, str]:
    """Per advisor, the median volatility of their measured plans, beside their returns."""
    found: dict[str, list[float]] = defaultdict(list)
    for p in plans:
        if p.plan_volatility is not None:
            found[_advisor(p)].append(p.plan_volatility)
    return {k: _percent(statistics.median(v)) for k, v in found.items()}


def _group_row(group: dict[str, Any], volatility: dict[str, str]) -> dict[str, Any]:
    iqr_h, iqr_e = group["iqr_excess_vs_holdings"], group["iqr_excess_vs_equal_weight"]
    return {
        "key": group["key"],
        "plans": group["plans"],
        "measured": group["measured"],
        "median_holdings": _signed(group["median_excess_vs_holdings"]),
        "iqr_holdings": f"{_signed(iqr_h[0])} … {_signed(iqr_h[1])}" if iqr_h else "—",
        "median_equal": _signed(group["median_excess_vs_equal_weight"]),
        "iqr_equal": f"{_signed(iqr_e[0])} … {_signed(iqr_e[1])}" if iqr_e else "—",
        "median_return": _signed(group["median_return"]),
        "volatility": volatility.get(group["key"], "—"),
        "breaches": group["breaches"],
        "breach_share": _percent(group["breach_share"]) or "—",
    }


def _reviews(db: Session, run_ids: list[str]) -> dict[str, str]:
    """The latest review of each of these runs (a long-tail plan is delivered without one)."""
    query = (
        select(Approval.run_id, Approval.id)
        .where(col(Approval.run_id).in_(run_ids))
        .order_by(col(Approval.created_at), col(Approval.id))
    )
    return dict(db.exec(query).all())  # a run's later review replaces its earlier


def _names(db: Session, run_ids: list[str]) -> dict[str, str]:
    """The clients' names as each run recorded them (a client who left keeps theirs)."""
    query = select(Run.id, col(Run.client_snapshot)).where(col(Run.id).in_(run_ids))
    return {run_id: clients.shown_name(snapshot) for run_id, snapshot in db.exec(query)}


def _breach_rows(
    db: Session, found: list[tuple[Outcome, str | None]], t: Words
) -> list[dict[str, Any]]:
    """The newest breaches as the page lists them, each with its review's page if it had one:
    two queries for them all, not two a row."""
    shown = found[:SHOWN_BREACHES]
    if not shown:
        return []
    run_ids = [row.run_id for row, _ in shown]
    reviews, names = _reviews(db, run_ids), _names(db, run_ids)
    rows = []
    for row, advisor in shown:
        breach = outcomes.breach_public(row, advisor)
        review = reviews.get(row.run_id)
        rows.append(
            {
                "client_id": breach["client_id"],
                "name": names.get(row.run_id, ""),
                "advisor": breach["advisor_id"] or outcomes.UNASSIGNED,
                "run_id": breach["run_id"],
                "link": f"/inbox/approvals/{review}" if review else "",
                "period": f"{breach['from']} → {breach['to']}",
                "drawdown": _percent(breach["max_drawdown"]),
                "tolerance": _percent(breach["tolerance"]),
                "coverage": _percent(breach["coverage"]),
                "return": _signed(breach["return"]),
                "volatility": _volatility_words(row, t),
                "cause": breach["price_import"] or t("first_measure"),
            }
        )
    return rows


@router.get("/outcomes", response_class=HTMLResponse)
def outcomes_page(
    request: Request,
    db: SessionDep,
    runner: RunnerDep,
    me: Viewer,
    start: Annotated[str, Query(alias="from", pattern=DAY)] = "",
    end: Annotated[str, Query(alias="to", pattern=DAY)] = "",
) -> Response:
    """The outcomes of the plans delivered in a period (by their as_of), per advisor: an
    advisor sees their own plans, a supervisor every advisor's; then the breaches still open.
    The chart and the median volatility cover the period's newest CHART_PLANS plans."""
    if me.role not in ("advisor", "supervisor"):
        raise Forbidden("outcomes are for advisors and supervisors")
    first, last = _period_days(start, end)
    refreshed = _measure_stale(runner, db)
    lang = _lang(request)
    t: Words = translator(lang)
    groups = outcomes.aggregate(db, "advisor", start=first, end=last, principal=me)
    newest, total = outcome_points.plans(db, principal=me, start=first, end=last, limit=CHART_PLANS)
    plans = newest[::-1]  # drawn oldest first
    found = outcomes.breaches(db, start=first, end=last, principal=me)
    volatility = _median_volatility(plans)
    capped = total > len(plans)
    return render(
        request,
        "outcomes.html",
        me,
        start=start,
        end=end,
        groups=[_group_row(g, volatility) for g in groups],
        chart=_chart([g["key"] for g in groups], plans, t),
        capped=t("chart_capped").format(shown=f"{len(plans):,}", total=f"{total:,}")
        if capped
        else "",
        breaches=_breach_rows(db, found, t),
        breach_count=len(found),
        pending=refreshed.pending,
        disclosure=measuring.disclosure(lang),
    )
