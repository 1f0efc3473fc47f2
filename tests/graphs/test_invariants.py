"""Invariants over random clients: weights are sound and no delivered plan exceeds the client."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import AS_OF, add_advisors, client_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.database import session_scope
from core.schemas.client import ClientInput
from core.services import approvals, deliveries, runs
from core.settings import Settings
from graphs.runner import Runner, open_runner
from tools.market.market_data import load_market

MARKET = load_market()


@pytest.fixture(scope="module")
def shared_runner() -> Iterator[Runner]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'invariants.db'}"
        with open_runner(Settings(environment="test", database_url=url)) as runner:
            with session_scope(runner.engine) as session:
                add_advisors(session)
            yield runner


clients = st.builds(
    lambda level, lowest, aum, need, goal, horizon, professional, assets: client_data(
        client_id="C-PROP",
        risk_level=level if not lowest else "C1",
        lowest_category=lowest,
        aum=aum,
        liquidity_need=need,
        goal=goal,
        horizon_years=horizon,
        investor_type="professional" if professional else "ordinary",
        financial_assets=assets,
        holdings=[],
    ),
    st.sampled_from(["C1", "C2", "C3", "C4", "C5"]),
    st.booleans(),
    st.floats(10_000, 50_000_000),
    st.floats(0, 2_000_000),
    st.sampled_from(["preservation", "income", "balanced", "growth", "aggressive_growth"]),
    st.floats(0.5, 20),
    st.booleans(),
    st.floats(0, 20_000_000),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=clients)
def test_no_delivered_plan_holds_a_product_above_the_client(
    shared_runner: Runner, data: dict
) -> None:
    client = ClientInput.model_validate(data)
    run = shared_runner.create(client, as_of=AS_OF)
    shared_runner.execute(run.id)
    with session_scope(shared_runner.engine) as session:
        current = runs.get(session, run.id)
        approval = approvals.latest_for_run(session, run.id)
    if (
        current.status == "awaiting_approval"
        and approval
        and approval.verdict in ("pass", "escalate")
    ):
        decision = {"action": "approve", "plan_hash": approval.plan_hash, "advisor": "adv-li"}
        current = shared_runner.decide(approval.id, decision, on=AS_OF)
    assert current.status in ("delivered", "blocked", "awaiting_approval")
    plan = current.plan
    weights = [h["weight"] for h in plan["holdings"]]
    assert all(w >= 0 for w in weights)
    assert sum(weights) == pytest.approx(1.0, abs=1e-9)
    if current.status == "delivered":
        limit = (
            1 if client.risk_assessment.lowest_category else int(client.risk_assessment.level[1])
        )
        for h in plan["holdings"]:
            assert int(MARKET.products[h["product_code"]].risk_rating.value[1]) <= limit
        with session_scope(shared_runner.engine) as session:
            assert deliveries.get(session, run.id).plan_hash == plan["plan_hash"]
