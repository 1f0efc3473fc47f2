"""Plain factory functions for test data."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from sqlmodel import Session

from core.schemas.client import ClientInput
from core.services import approvals, principals, runs
from core.services.demo import DEMO_PEOPLE
from core.tables import Approval

AS_OF = date(2026, 11, 25)
ADVISORS = ("adv-li", "adv-wang")  # the advisors the factories' clients are assigned to

_BASE: dict[str, Any] = {
    "client_id": "C-1001",
    "name": "王芳",
    "locale": "zh-CN",
    "advisor_id": "adv-li",
    "investor_type": "ordinary",
    "birth_year": 1980,
    "annual_income": 360000,
    "financial_assets": 1200000,
    "aum": 850000,
    "investment_experience_years": 4,
    "risk_assessment": {"level": "C3", "lowest_category": False, "assessed_on": "2026-03-02"},
    "objectives": {
        "goal": "balanced",
        "horizon_years": 5,
        "liquidity_need": 100000,
        "max_drawdown_tolerance_pct": 15,
    },
    "holdings": [{"product_code": "510300", "market_value": 300000}],
    "trades": [{"date": "2026-10-08", "product_code": "600519", "side": "buy", "amount": 50000}],
    "notes": "客户计划两年内购房，希望保留部分流动性。",
    "contact": {
        "phone": "13912345678",
        "id_number": "11010519491231002X",
        "email": "w@example.com",
    },
}


def client_data(**overrides: Any) -> dict[str, Any]:
    """The DESIGN §5.1 example client, with top-level or dotted overrides (e.g. risk_level="C1")."""
    data = copy.deepcopy(_BASE)
    for key, value in overrides.items():
        if key == "risk_level":
            data["risk_assessment"]["level"] = value
        elif key in ("lowest_category", "assessed_on"):
            data["risk_assessment"][key] = value
        elif key in ("goal", "horizon_years", "liquidity_need", "max_drawdown_tolerance_pct"):
            data["objectives"][key] = value
        else:
            data[key] = value
    held = sum(h["market_value"] for h in data["holdings"])
    if held > data["aum"]:
        data["holdings"] = [{"product_code": "510300", "market_value": data["aum"] * 0.3}]
    return data


def make_client(**overrides: Any) -> ClientInput:
    return ClientInput.model_validate(client_data(**overrides))


def long_tail_client(**overrides: Any) -> ClientInput:
    params = {"client_id": "C-LT", "aum": 200000, "liquidity_need": 20000, **overrides}
    return make_client(**params)


def hnw_client(**overrides: Any) -> ClientInput:
    params = {"client_id": "C-HNW", "aum": 8_000_000, "financial_assets": 9_000_000, **overrides}
    return make_client(**params)


def add_advisors(session: Session) -> None:
    """The factories' advisors as principals, people who can sign (the demo's): only a client's
    advisor may decide, and only an advisor with a name and registration number may approve."""
    for name in ADVISORS:
        principals.ensure(session, name, "advisor", DEMO_PEOPLE[name])


def pending_review(session: Session, client: ClientInput) -> Approval:
    """A stored run of the client waiting for its advisor, as lists show it: the review opened
    as the graph opens one, on an empty plan (for queues, not for decisions)."""
    run = runs.create(session, client, as_of=AS_OF)
    review = {"approval_id": f"{run.id}-r0", "plan_hash": "0" * 64, "plan": {}}
    return approvals.open_review(session, run, review | {"findings": [], "verdict": "pass"})
