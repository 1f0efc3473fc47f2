"""Stored outcomes: the aggregates' figures, scoping, which breaches are still open, and whose
plans a chart may name."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from factories import make_client
from sqlmodel import Session

from core.database import get_engine, session_scope
from core.services import clients, outcome_points, outcomes
from core.settings import Settings
from core.tables import Client, Outcome, Principal, Run

START = datetime(2024, 1, 1, tzinfo=UTC)


def _plan(
    session: Session,
    n: int,
    *,
    advisor: str = "adv-li",
    tier: str = "long_tail",
    excess: tuple[float | None, float | None] = (0.0, 0.0),
    plan_return: float | None = 0.1,
    breach: bool = False,
    client: str | None = None,
    day: date = date(2024, 1, 2),
) -> str:
    run_id = f"run-{n:03d}"
    client_id = client or f"C-{n:03d}"
    session.add(
        Run(
            id=run_id,
            client_id=client_id,
            advisor_id=advisor,
            status="delivered",
            tier=tier,
            locale="zh-CN",
            as_of=day.isoformat(),
            client_snapshot={"advisor_id": advisor},
        )
    )
    session.flush()
    session.add(
        Outcome(
            run_id=run_id,
            client_id=client_id,
            advisor_id=advisor,
            tier=tier,
            from_day=day,
            to_day=date(2026, 2, 26),
            delivered_at=START + timedelta(minutes=n),
            coverage=1.0 if plan_return is not None else 0.0,
            plan_return=plan_return,
            max_drawdown=0.2 if breach else 0.01,
            tolerance=0.1,
            excess_vs_holdings=excess[0],
            excess_vs_equal_weight=excess[1],
            breach=breach,
            figures={},
            prices_version=1,
        )
    )
    return run_id


@pytest.fixture
def session(settings: Settings) -> Any:
    with session_scope(get_engine(settings.database_url)) as s:
        yield s


def test_the_figures_of_a_group(session: Session) -> None:
    vs_holdings = [0.05, -0.02, 0.10, 0.01, 0.03]
    vs_equal = [0.01, 0.02, -0.01, 0.00, 0.04]
    for n, pair in enumerate(zip(vs_holdings, vs_equal, strict=True)):
        _plan(session, n, excess=pair, breach=n in (1, 3), plan_return=0.1 + n / 100)
    _plan(session, 9, excess=(None, None), plan_return=None)  # delivered, not measurable
    (group,) = outcomes.aggregate(session, "advisor")
    assert group["key"] == "adv-li"
    assert (group["plans"], group["measured"], group["breaches"]) == (6, 5, 2)
    assert group["breach_share"] == pytest.approx(2 / 5)
    q1, median, q3 = statistics.quantiles(vs_holdings, n=4, method="inclusive")
    assert (q1, median, q3) == pytest.approx((0.01, 0.03, 0.05))
    assert group["median_excess_vs_holdings"] == pytest.approx(0.03)
    assert group["iqr_excess_vs_holdings"] == pytest.approx([0.01, 0.05])
    assert group["median_excess_vs_equal_weight"] == pytest.approx(0.01)
    assert group["iqr_excess_vs_equal_weight"] == pytest.approx([0.0, 0.02])
    assert group["median_return"] == pytest.approx(0.12)


def test_groups_by_tier_and_advisor_and_the_period(session: Session) -> None:
    _plan(session, 1, tier="hnw", advisor="adv-li")
    _plan(session, 2, tier="mid_tier", advisor="adv-wang", day=date(2025, 3, 3))
    _plan(session, 3, tier="mid_tier", advisor="", excess=(0.1, 0.1))
    tiers = {g["key"]: g["plans"] for g in outcomes.aggregate(session, "tier")}
    assert tiers == {"hnw": 1, "mid_tier": 2}
    advisors = {g["key"] for g in outcomes.aggregate(session, "advisor")}
    assert advisors == {"adv-li", "adv-wang", outcomes.UNASSIGNED}
    later = outcomes.aggregate(session, "advisor", start=date(2025, 1, 1))
    assert [g["key"] for g in later] == ["adv-wang"]
    me = Principal(name="adv-wang", role="advisor", token_hash="x")
    assert [g["key"] for g in outcomes.aggregate(session, "tier", principal=me)] == ["mid_tier"]


def test_a_single_plan_is_its_own_quartiles(session: Session) -> None:
    _plan(session, 1, excess=(0.07, -0.01))
    (group,) = outcomes.aggregate(session, "advisor")
    assert group["iqr_excess_vs_holdings"] == [0.07, 0.07]
    assert group["median_excess_vs_equal_weight"] == -0.01


def test_open_breaches_follow_the_client_and_close_when_replaced_or_gone(
    session: Session,
) -> None:
    for client, advisor in (("C-A", "adv-li"), ("C-MOVED", "adv-wang"), ("C-GONE", "adv-li")):
        session.add(Client(id=client, advisor_id=advisor, data={}))
    _plan(session, 1, client="C-A", breach=True)
    _plan(session, 2, client="C-MOVED", advisor="adv-li", breach=True)  # adv-li made it
    _plan(session, 3, client="C-GONE", breach=True)
    session.delete(session.get_one(Client, "C-GONE"))  # left the firm
    session.flush()
    found = {row.client_id: now for row, now in outcomes.breaches(session)}
    assert found == {"C-A": "adv-li", "C-MOVED": "adv-wang"}
    li = Principal(name="adv-li", role="advisor", token_hash="x")
    wang = Principal(name="adv-wang", role="advisor", token_hash="y")
    assert [row.client_id for row, _ in outcomes.breaches(session, principal=li)] == ["C-A"]
    assert [row.client_id for row, _ in outcomes.breaches(session, principal=wang)] == ["C-MOVED"]
    public = outcomes.breach_public(*outcomes.breaches(session, principal=wang)[0])
    assert (public["advisor_id"], public["planned_by"]) == ("adv-wang", "adv-li")
    assert outcomes.breached_clients(session, ["C-A", "C-MOVED", "C-X"]) == {"C-A", "C-MOVED"}
    # A plan delivered to C-A later (even one made for an earlier day) replaces the breach.
    later = _plan(session, 4, client="C-A", day=date(2023, 12, 1))
    assert later and [row.client_id for row, _ in outcomes.breaches(session)] == ["C-MOVED"]
    assert outcomes.superseded(session, session.get_one(Outcome, "run-001"))
    assert not outcomes.superseded(session, session.get_one(Outcome, later))
    assert outcomes.breached_clients(session, ["C-A"]) == set()


def test_chart_points_name_only_clients_the_viewer_may_see_now(session: Session) -> None:
    """A client moved from adv-li to adv-wang: adv-li's chart still counts the plan they made,
    by its figures alone; the supervisor's names it; adv-wang's (credited plans) has none."""
    for client_id in ("C-STAY", "C-MOVED"):
        clients.upsert(session, make_client(client_id=client_id, advisor_id="adv-li"))
    _plan(session, 1, client="C-STAY", excess=(0.02, 0.01))
    moved = _plan(session, 2, client="C-MOVED", excess=(-0.03, 0.04), breach=True)
    clients.upsert(session, make_client(client_id="C-MOVED", advisor_id="adv-wang"))
    li = Principal(name="adv-li", role="advisor", token_hash="x")
    wang = Principal(name="adv-wang", role="advisor", token_hash="y")
    sup = Principal(name="sup", role="supervisor", token_hash="z")

    points, total = outcome_points.plans(session, principal=li)
    assert total == 2
    named = {p.client_id: p for p in points}
    assert set(named) == {"C-STAY", None}
    hidden = named[None]
    assert (hidden.run_id, hidden.from_day, hidden.to_day) == (None, None, None)
    assert (hidden.advisor_id, hidden.breach) == ("adv-li", True)  # still counted for adv-li
    assert (hidden.excess_vs_holdings, hidden.excess_vs_equal_weight) == (-0.03, 0.04)
    assert named["C-STAY"].run_id == "run-001"

    assert outcome_points.plans(session, principal=wang) == ([], 0)
    everyone, _ = outcome_points.plans(session, principal=sup)
    assert {p.run_id for p in everyone} == {"run-001", moved}
