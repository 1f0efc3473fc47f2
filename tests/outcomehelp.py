"""Helpers for outcome tests: the real price file, and plans delivered on past dates."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from core.database import session_scope
from core.schemas.client import ClientInput
from core.services import approvals, clients, prices, runs
from graphs.runner import Runner

# Test data only (its licence keeps it out of the package): ../shared/data beside the checkout,
# or TIERWISE_SHARED_DATA, as the shared_data fixture finds it.
SHARED = Path(
    os.environ.get("TIERWISE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
PRICES = SHARED / "allweather_cn_etf_prices_7etf.csv"
LAST_PRICE = date(2026, 2, 26)


def import_prices(runner: Runner, path: Path = PRICES) -> dict[str, Any]:
    parsed = prices.parse_csv(path.read_text("utf-8"), set(runner.market.products))
    with session_scope(runner.engine) as session:
        return prices.store(session, parsed)


def as_it_was(client: ClientInput, day: date) -> ClientInput:
    """The client as sent on `day`: assessed a month before, no trades after it."""
    data = client.model_dump(mode="json")
    data["risk_assessment"]["assessed_on"] = (day - timedelta(days=30)).isoformat()
    data["trades"] = [t for t in data["trades"] if t["date"] <= day.isoformat()]
    return ClientInput.model_validate(data)


def deliver_on(runner: Runner, client: ClientInput, day: date) -> str:
    """A plan for the client made and delivered on `day` (approved by their advisor that day
    if it needs sign-off); returns the run id."""
    then = as_it_was(client, day)
    with session_scope(runner.engine) as session:
        clients.upsert(session, then)
    run = runner.execute(runner.create(then, as_of=day, actor="test").id)
    if run.status == "awaiting_approval":
        with session_scope(runner.engine) as session:
            review = approvals.latest_for_run(session, run.id)
            assert review is not None
        decision = {
            "action": "approve",
            "plan_hash": review.plan_hash,
            "advisor": then.advisor_id,
            "comment": "reviewed",
        }
        run = runner.decide(review.id, decision, on=day)
    with session_scope(runner.engine) as session:
        status = runs.get(session, run.id).status
    assert status == "delivered", f"{run.id} ended {status}"
    return run.id
