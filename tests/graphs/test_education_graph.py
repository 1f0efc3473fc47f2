"""Through the graph: a concentration lesson never reaches a client beside a plan that raises
that concentration (TW-EDU-01); the next allocation keeps the demo's C-1009 at today's share,
even when the client asks for more of it."""

from __future__ import annotations

from typing import Any

from factories import AS_OF

from core.database import session_scope
from core.services import audit, runs
from core.services.demo import load_clients
from graphs.runner import Runner

PIPELINE = ["profile_client", "research_products", "allocate_portfolio", "check_compliance"]


def c1009() -> Any:
    """吴刚: 300,000 of 900,000 in 511260 (33.3%), no trades: a concentration flag only."""
    [client] = [c for c in load_clients() if c.client_id == "C-1009"]
    return client


def test_a_plan_that_raises_the_flagged_holding_is_revised_down_to_todays_share(
    runner: Runner,
) -> None:
    # Asked for more of the product they are concentrated in: the first plan raises it.
    run = runner.create(c1009(), as_of=AS_OF, request="请多配一些511260")
    runner.execute(run.id)
    with session_scope(runner.engine) as session:
        done = runs.get(session, run.id)
        payloads = [e.payload for e in audit.events(session, run.id)]
        plan, report, trajectory = done.plan, done.compliance, done.trajectory
    reports = [p["compliance"] for p in payloads if "compliance" in p]
    snapshot = runner.graph.get_state(runner.config(run.id)).values
    # The first plan raised 511260 above 33.3%; TW-EDU-01 capped it for the next allocation.
    assert "TW-EDU-01" in reports[0]["rules"]
    assert trajectory[: len(PIPELINE) + 2] == [*PIPELINE, "allocate_portfolio", "check_compliance"]
    caps = [c for c in snapshot["constraints"] if c["rule_id"] == "TW-EDU-01"]
    assert caps == [
        {"kind": "cap", "product_code": "511260", "value": 0.3333, "rule_id": "TW-EDU-01"}
    ]
    # The plan sent for sign-off holds it at no more than today's share, and says so.
    weight = {h["product_code"]: h["weight"] for h in plan["holdings"]}.get("511260", 0.0)
    assert weight <= 0.3333 + 1e-9
    assert "TW-EDU-01" not in {f["rule_id"] for f in report["findings"]}
    assert done.status == "awaiting_approval"
    assert "您持有的511260目前约占您在本公司资产的33.3%" in report["client_text"]
    assert f"本方案中511260的目标占比为{weight:.1%}" in report["client_text"]
    assert "结合您近期的交易情况" not in report["client_text"]
