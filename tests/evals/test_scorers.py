"""The critical approval-gate scorer: who is owed an advisor's approval before delivery."""

from __future__ import annotations

from typing import Any

import pytest
from factories import client_data

from core.settings import CompliancePolicy
from evals.schema import Scenario
from evals.scorers import Outcome, invariant_scores
from tools.market.market_data import MarketData

LONG_TAIL = {"aum": 200_000, "liquidity_need": 20_000}
LOWEST = {**LONG_TAIL, "risk_level": "C1", "lowest_category": True, "goal": "preservation"}


def gate(overrides: dict[str, Any], market: MarketData, **kwargs: Any) -> tuple[bool, bool]:
    """The approval-gate score (passed, critical) for a passing plan delivered unapproved."""
    scenario = Scenario.model_validate(
        {"id": "s", "family": "t", "client": client_data(**overrides), "expect": {}}
    )
    out = Outcome(
        run={"delivery": {"plan_hash": "h", "text": ""}},
        status_before="delivered",
        compliance_before={"verdict": "pass", "findings": []},
    )
    (score,) = [
        s for s in invariant_scores(scenario, out, market, **kwargs) if s.name == "approval_gate"
    ]
    return score.passed, score.critical


@pytest.mark.parametrize(
    ("overrides", "kwargs", "passed"),
    [
        (LOWEST, {}, False),  # SYS-02 is on by default
        (LOWEST, {"policy": CompliancePolicy(lowest_category_signoff=False)}, True),
        (LONG_TAIL, {}, True),
        ({}, {}, False),  # mid-tier
    ],
    ids=["lowest-long-tail", "lowest-policy-off", "long-tail", "mid-tier"],
)
def test_an_unapproved_delivery_fails_the_gate_when_an_advisor_was_owed(
    overrides: dict[str, Any], kwargs: dict[str, Any], passed: bool, market: MarketData
) -> None:
    assert gate(overrides, market, **kwargs) == (passed, True)
