"""The advisory graph end to end: each tier and decision, the revise loop, block, the gate."""

from __future__ import annotations

from typing import Any

import pytest
from factories import AS_OF, hnw_client, long_tail_client, make_client
from langgraph.types import Command
from sqlmodel import func, select

from core.database import session_scope
from core.errors import ApprovalAlreadyDecided, InvalidDecision, PlanHashMismatch, PlanNotApprovable
from core.services import approvals, audit, deliveries, runs
from core.settings import SpecialCarePolicy
from core.tables import Delivery
from graphs.runner import Runner
from tools.compliance.engine import Hit, Registry, Rule, RuleSet
from tools.compliance.evaluators.registry import REGISTRY

PIPELINE = ["profile_client", "research_products", "allocate_portfolio", "check_compliance"]


def start(runner: Runner, client: Any, request: str | None = None) -> str:
    run = runner.create(client, as_of=AS_OF, request=request)
    runner.execute(run.id)
    return run.id


def row(runner: Runner, run_id: str) -> dict[str, Any]:
    with session_scope(runner.engine) as session:
        run = runs.get(session, run_id)
        approval = approvals.latest_for_run(session, run_id)
        delivery = deliveries.get(session, run_id)
        count = session.exec(
            select(func.count()).select_from(Delivery).where(Delivery.run_id == run_id)
        ).one()
        return {
            "status": run.status,
            "trajectory": run.trajectory,
            "plan": run.plan,
            "compliance": run.compliance,
            "approval": approval and approvals.public(approval),
            "delivery": delivery and deliveries.public(delivery),
            "deliveries": count,
            "audit": audit.verify(session, run_id),
        }


def decide(runner: Runner, run_id: str, action: str = "approve", **extra: Any) -> dict[str, Any]:
    approval = row(runner, run_id)["approval"]
    decision = {"action": action, "plan_hash": approval["plan_hash"], "advisor": "adv-li", **extra}
    runner.decide(approval["id"], decision, on=AS_OF)
    return row(runner, run_id)


def test_long_tail_clean_plan_is_delivered_at_once(runner: Runner) -> None:
    run_id = start(runner, long_tail_client(risk_level="C2", goal="income"))
    state = row(runner, run_id)
    assert state["status"] == "delivered"
    assert state["trajectory"] == [*PIPELINE, "deliver_plan"]
    assert state["deliveries"] == 1 and state["delivery"]["channel"] == "direct"
    assert state["delivery"]["plan_hash"] == state["plan"]["plan_hash"]
    assert state["approval"] is None
    assert state["audit"].verified


@pytest.mark.parametrize("client", [make_client(), hnw_client()], ids=["mid_tier", "hnw"])
def test_owed_a_human_stops_at_advisor_review_until_approved(runner: Runner, client: Any) -> None:
    run_id = start(runner, client)
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval"
    assert state["trajectory"] == PIPELINE
    assert state["deliveries"] == 0
    interrupts = runner.graph.get_state(runner.config(run_id)).interrupts
    payload = interrupts[0].value
    assert payload["approval_id"] == state["approval"]["id"]
    assert payload["plan"] == state["plan"] and payload["plan_hash"] == state["plan"]["plan_hash"]
    assert payload["findings"] == state["compliance"]["findings"]

    state = decide(runner, run_id, comment="discussed with the client")
    assert state["status"] == "delivered"
    assert state["trajectory"] == [*PIPELINE, "advisor_review", "deliver_plan"]
    assert state["deliveries"] == 1
    assert state["delivery"]["approved_by"] == "adv-li"
    assert state["delivery"]["channel"] == "advisor"
    assert state["approval"]["status"] == "approved"
    assert state["audit"].verified


def test_reject_closes_the_run_without_delivery(runner: Runner) -> None:
    run_id = start(runner, make_client())
    state = decide(runner, run_id, "reject", comment="client wants to wait")
    assert state["status"] == "rejected"
    assert state["trajectory"][-2:] == ["advisor_review", "close_rejected"]
    assert state["deliveries"] == 0


def test_reject_needs_a_reason(runner: Runner) -> None:
    run_id = start(runner, make_client())
    with pytest.raises(InvalidDecision, match="reason"):
        decide(runner, run_id, "reject")
    assert row(runner, run_id)["status"] == "awaiting_approval"


def test_advisor_revision_is_rechecked_then_approved(runner: Runner) -> None:
    run_id = start(runner, make_client())
    weights = {"TW-MM-01": 0.2, "511260": 0.3, "510300": 0.3, "518880": 0.1, "511010": 0.1}
    state = decide(runner, run_id, "revise", weights=weights, comment="more bonds")
    assert state["status"] == "awaiting_approval"
    assert state["trajectory"][-2:] == ["advisor_review", "check_compliance"]
    assert state["plan"]["source"] == "advisor"
    assert {h["product_code"]: h["weight"] for h in state["plan"]["holdings"]} == weights
    assert state["approval"]["id"].endswith("-r1") and state["approval"]["verdict"] == "pass"
    state = decide(runner, run_id)
    assert state["status"] == "delivered"
    assert state["delivery"]["plan_hash"] == state["plan"]["plan_hash"]


@pytest.mark.parametrize(
    ("weights", "rule", "verdict"),
    [
        ({"TW-MM-01": 0.5, "512480": 0.5}, "CN-MIS-03", "revise"),  # R4 for a C3 client
        ({"TW-MM-01": 0.5, "NOT-ON-SHELF": 0.5}, "CN-R-04", "block"),
    ],
)
def test_advisor_revision_that_fails_compliance_is_never_delivered(
    runner: Runner, weights: dict[str, float], rule: str, verdict: str
) -> None:
    run_id = start(runner, make_client())
    state = decide(runner, run_id, "revise", weights=weights)
    assert state["status"] == "awaiting_approval"
    assert state["approval"]["verdict"] == verdict
    assert rule in [f["rule_id"] for f in state["approval"]["findings"]]
    with pytest.raises(PlanNotApprovable):
        decide(runner, run_id)
    assert row(runner, run_id)["deliveries"] == 0
    # The advisor can still go back to a compliant plan.
    back = {"TW-MM-01": 0.4, "511260": 0.3, "511010": 0.3}
    decide(runner, run_id, "revise", weights=back)
    assert decide(runner, run_id)["status"] == "delivered"


def test_stale_hash_and_second_decision_are_refused(runner: Runner) -> None:
    run_id = start(runner, make_client())
    approval = row(runner, run_id)["approval"]
    stale = {"action": "approve", "plan_hash": "0" * 64, "advisor": "adv-li"}
    with pytest.raises(PlanHashMismatch):
        runner.decide(approval["id"], stale, on=AS_OF)
    decide(runner, run_id)
    with pytest.raises(ApprovalAlreadyDecided):
        runner.decide(approval["id"], {**stale, "plan_hash": approval["plan_hash"]}, on=AS_OF)
    assert row(runner, run_id)["deliveries"] == 1


def test_stale_assessment_is_blocked_and_never_delivered(runner: Runner) -> None:
    run_id = start(runner, long_tail_client(assessed_on="2023-06-01"))
    state = row(runner, run_id)
    assert state["status"] == "blocked"
    assert state["trajectory"] == [*PIPELINE, "block_plan"]
    assert state["deliveries"] == 0
    fired = [f["rule_id"] for f in state["compliance"]["findings"] if f["verdict"] != "pass"]
    assert fired == ["CN-C-04"]


def test_long_tail_escalation_goes_to_an_advisor(settings: Any) -> None:
    """With special care in `advisor` mode a C5 long-tail plan holds R4/R5 and escalates
    (CN-MIS-07); its advisor approves it. (In `procedure` mode, the default, the same client
    gets the core plan at once: tests/graphs/test_special_care.py.)"""
    from graphs.runner import open_runner

    mode = settings.model_copy(update={"special_care": SpecialCarePolicy(mode="advisor")})
    with open_runner(mode) as runner:
        client = long_tail_client(
            risk_level="C5", goal="aggressive_growth", max_drawdown_tolerance_pct=50
        )
        run_id = start(runner, client)
        state = row(runner, run_id)
        assert state["status"] == "awaiting_approval"
        assert state["compliance"]["verdict"] == "escalate"
        assert decide(runner, run_id)["status"] == "delivered"


def test_client_request_above_level_escalates(runner: Runner) -> None:
    run_id = start(runner, long_tail_client(risk_level="C2", goal="income"), "我想买512480")
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval"
    assert "CN-MIS-06" in [f["rule_id"] for f in state["compliance"]["findings"]]
    assert all(h["product_code"] != "512480" for h in state["plan"]["holdings"])


def test_revise_findings_become_constraints_for_the_next_allocation(settings: Any) -> None:
    from graphs.runner import open_runner

    strict = settings.model_copy(
        update={"compliance": settings.compliance.model_copy(update={"max_single_product": 0.2})}
    )
    with open_runner(strict) as runner:
        run_id = start(runner, hnw_client())
        state = row(runner, run_id)
        snapshot = runner.graph.get_state(runner.config(run_id)).values
    # Capping the first plan's largest products can push the next one's weight onto another
    # product above the cap (this client's plan at its target does): a third allocation caps it.
    allocations = state["trajectory"].count("allocate_portfolio")
    assert 2 <= allocations <= 1 + strict.max_revisions
    assert state["status"] == "awaiting_approval"
    caps = [c for c in snapshot["constraints"] if c["rule_id"] == "TW-CONC-01"]
    assert caps and all(c["value"] == 0.2 for c in caps)
    assert all(h["weight"] <= 0.2 for h in state["plan"]["holdings"] if h["asset_class"] != "cash")


def test_revise_loop_is_bounded_then_blocks(
    settings: Any, market: Any, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.schemas.plan import Constraint
    from graphs.checkpointer import open_checkpointer
    from tools.llm.offline import OfflineModel

    always = Rule(
        id="TEST-REVISE",
        source="test",
        severity="high",
        verdict="revise",
        message_zh="测试",
        message_en="test",
    )
    # A remedy the allocation takes but that never satisfies the rule: the loop must end.
    remedy = Constraint(kind="exclude", product_code="512480", rule_id="TEST-REVISE")
    evaluators = Registry.merge(REGISTRY, {"TEST-REVISE": lambda ctx, rid: [Hit("always", remedy)]})
    looping = RuleSet(version="test", rules=[*rules.rules, always])
    from core.database import get_engine

    with open_checkpointer(settings.database_url) as saver:
        runner = Runner(
            settings=settings,
            engine=get_engine(settings.database_url),
            checkpointer=saver,
            market=market,
            rules=looping,
            evaluators=evaluators,
            model_factory=OfflineModel,
        )
        run_id = start(runner, long_tail_client())
        state = row(runner, run_id)
    assert state["status"] == "blocked"
    assert state["trajectory"].count("allocate_portfolio") == 1 + settings.max_revisions
    assert state["trajectory"][-1] == "block_plan"
    assert state["deliveries"] == 0


def test_invalid_resume_value_asks_again_and_changes_nothing(runner: Runner) -> None:
    run_id = start(runner, make_client())
    first = row(runner, run_id)["approval"]
    deps_model = runner.model_factory()
    from graphs.state import Deps

    deps = Deps(
        runner.settings,
        runner.market,
        runner.rules,
        runner.evaluators,
        deps_model,
        runner.engine,
        deps_model,
    )
    for _ in runner.graph.stream(
        Command(resume={"action": "approve"}),
        runner.config(run_id),
        context=deps,
        durability="sync",
    ):
        pass
    snapshot = runner.graph.get_state(runner.config(run_id))
    assert snapshot.interrupts and snapshot.interrupts[0].value["approval_id"] != first["id"]
    assert snapshot.values["plan"]["plan_hash"] == first["plan_hash"]
    assert row(runner, run_id)["deliveries"] == 0


def test_deliveries_are_unique_per_run(runner: Runner) -> None:
    run_id = start(runner, long_tail_client())
    with session_scope(runner.engine) as session:
        again = deliveries.deliver(
            session,
            run_id,
            plan_hash="x" * 64,
            text="t",
            channel="direct",
            approved_by=None,
            on=AS_OF,
            valid_months=24,
        )
        assert again.plan_hash != "x" * 64
    assert row(runner, run_id)["deliveries"] == 1
