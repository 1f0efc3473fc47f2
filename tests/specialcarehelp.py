"""A delivered run whose letter offered a special-care sleeve, written through the real services.

Until the plan side (issue 28, part 1: agents/allocation.py) makes offers, no graph run does:
these helpers store a run with runs.create, give it the profile the graph would build and a
core plan capped at R3 whose `offer`
holds an R4 sleeve, and deliver it with deliveries.deliver, as the graph's deliver node does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factories import AS_OF, long_tail_client
from sqlmodel import Session

from agents.profiling import profile_client
from core.schemas.client import ClientInput
from core.schemas.plan import Baseline, Plan, PlanHolding, seal
from core.schemas.profile import ClientProfile
from core.schemas.special_care import SleeveHolding, SpecialCareOffer
from core.services import clients, deliveries, runs
from core.settings import Settings
from core.tables import Run, as_utc
from tools.llm.offline import OfflineModel
from tools.market.market_data import load_market

OFFERED = ("512480", "513100")  # R4 on the shelf


def offer(cooling_off_hours: int = 24) -> SpecialCareOffer:
    return SpecialCareOffer(
        holdings=[
            SleeveHolding(product_code="512480", risk_rating="R4", weight=0.08, amount=16000),
            SleeveHolding(product_code="513100", risk_rating="R4", weight=0.07, amount=14000),
        ],
        weights={"TW-MM-01": 0.2, "511260": 0.35, "510300": 0.3, "512480": 0.08, "513100": 0.07},
        expected_return=0.052,
        expected_volatility=0.118,
        cooling_off_hours=cooling_off_hours,
    )


def core_plan(with_offer: SpecialCareOffer | None) -> dict[str, Any]:
    """A sealed core plan capped at R3 (the Plan contract), with or without the offer."""
    holdings = [
        PlanHolding(product_code="TW-MM-01", weight=0.25, risk_rating="R1", asset_class="cash",
                    amount=50000),
        PlanHolding(product_code="511260", weight=0.4, risk_rating="R2",
                    asset_class="cn_gov_bond", amount=80000),
        PlanHolding(product_code="510300", weight=0.35, risk_rating="R3",
                    asset_class="cn_large_cap", amount=70000),
    ]  # fmt: skip
    plan = Plan(
        holdings=holdings,
        expected_return=0.041,
        expected_volatility=0.082,
        baseline=Baseline(products=3, expected_return=0.035, expected_volatility=0.09),
        trades=[],
        rationale="核心方案",
        method="mean_variance",
        target_volatility=0.085,
        feasible_volatility=(0.01, 0.2),
        cma_version="test",
        offer=with_offer,
    )
    return seal(plan).model_dump(mode="json")


def _profile(client: ClientInput) -> ClientProfile:
    """The client's profile as the graph's first node builds it (offline model)."""
    s = Settings()
    return profile_client(
        client,
        as_of=AS_OF,
        model=OfflineModel(),
        market=load_market(),
        tiers=s.tiers,
        allocation=s.allocation,
        compliance=s.compliance,
    )


def delivered_offer(
    session: Session,
    client: ClientInput | None = None,
    *,
    stored: bool = True,
    with_offer: SpecialCareOffer | None = None,
    request: str | None = "其他你们看着办",
) -> Run:
    """A long-tail C4 client's run, delivered, whose plan offers the sleeve (`with_offer`, the
    default offer when None); `stored` False: a run from a client file, with no stored record."""
    client = client or long_tail_client(risk_level="C4")
    if stored:
        clients.upsert(session, client)
    run = runs.create(session, client, as_of=AS_OF, request=request)
    run.profile = _profile(client).model_dump(mode="json")
    run.tier = run.profile["tier"]
    run.plan = core_plan(with_offer or offer())
    runs.set_status(session, run, "delivered")
    deliveries.deliver(
        session,
        run.id,
        plan_hash=run.plan["plan_hash"],
        text="致客户的信",
        channel="app",
        approved_by=None,
        on=AS_OF,
        valid_months=24,
    )
    return run


def cooled_off(session: Session, run_id: str, settings: Settings) -> datetime:
    """The first moment the offer may be accepted: its delivery plus the cooling-off."""
    delivery = deliveries.get(session, run_id)
    assert delivery is not None
    return as_utc(delivery.delivered_at) + timedelta(hours=settings.compliance.cooling_off_hours)


def backdate(session: Session, run_id: str, hours: float) -> None:
    """Move the offer's delivery `hours` back, as if the letter had gone out that long ago."""
    delivery = deliveries.get(session, run_id)
    assert delivery is not None
    delivery.delivered_at = as_utc(delivery.delivered_at) - timedelta(hours=hours)
    session.add(delivery)
