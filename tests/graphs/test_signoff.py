"""Sign-off is against the client as they are now, by their advisor, with a reason one can read.

These are the service's rules (approvals.decide, deliveries.deliver): every caller meets them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from factories import AS_OF, long_tail_client, make_client
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState
from test_graph import decide, row, start

from core.database import session_scope
from core.errors import ApprovalAlreadyDecided, ClientChanged, Forbidden, InvalidDecision
from core.schemas.client import ClientInput
from core.services import approvals, audit, clients, deliveries, principals
from core.tables import Approval
from graphs.runner import Runner
from graphs.state import AdvisorDecision


def store(runner: Runner, client: ClientInput) -> None:
    with session_scope(runner.engine) as session:
        clients.upsert(session, client)


def paused(runner: Runner, **overrides: Any) -> tuple[str, ClientInput]:
    """A stored mid-tier client whose plan waits for adv-li."""
    client = make_client(**overrides)
    store(runner, client)
    run_id = start(runner, client)
    assert row(runner, run_id)["status"] == "awaiting_approval"
    return run_id, client


def test_a_new_assessment_stops_the_old_plan_and_says_why(runner: Runner) -> None:
    """The issue's case: a C5 plan waits, the client is reassessed C1 lowest category."""
    run_id, client = paused(runner, risk_level="C5", goal="growth", max_drawdown_tolerance_pct=30)
    reassessed = client.model_copy(
        update={
            "risk_assessment": client.risk_assessment.model_copy(
                update={"level": "C1", "lowest_category": True, "assessed_on": AS_OF}
            )
        }
    )
    store(runner, reassessed)
    with pytest.raises(ClientChanged) as refused:
        decide(runner, run_id)
    assert "risk level C5 → C1" in refused.value.detail
    assert "lowest category False → True" in refused.value.detail
    with pytest.raises(ClientChanged):
        decide(runner, run_id, "revise", weights={"511990": 1.0})
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval" and state["deliveries"] == 0
    assert state["approval"]["status"] == "pending"
    rejected = decide(runner, run_id, "reject", comment="客户已重新测评为C1，需重新制定方案。")
    assert rejected["status"] == "rejected" and rejected["deliveries"] == 0


def test_a_change_of_contact_details_alone_is_not_material(runner: Runner) -> None:
    run_id, client = paused(runner)
    moved = client.contact.model_copy(update={"phone": "13800000000"})
    store(runner, client.model_copy(update={"contact": moved}))
    assert decide(runner, run_id)["status"] == "delivered"


def test_an_assessment_that_expires_in_the_queue_is_judged_on_the_decision_date(
    runner: Runner,
) -> None:
    assessed = AS_OF - timedelta(days=2 * 365 - 2)  # fresh at AS_OF, stale a few days later
    run_id, _ = paused(runner, assessed_on=assessed.isoformat())
    approval = row(runner, run_id)["approval"]
    decision = {"action": "approve", "plan_hash": approval["plan_hash"], "advisor": "adv-li"}
    with pytest.raises(ClientChanged) as refused:
        runner.decide(approval["id"], decision, on=AS_OF + timedelta(days=10))
    assert f"risk assessment of {assessed.isoformat()} is not valid" in refused.value.detail
    assert runner.decide(approval["id"], decision, on=AS_OF).status == "delivered"


def test_the_door_refuses_a_delivery_for_a_client_who_changed(runner: Runner) -> None:
    """Between the check and the door (or a decision and its resume) the record may still move."""
    client = long_tail_client(client_id="C-DOOR")
    store(runner, client)
    run = runner.create(client, as_of=AS_OF)
    store(runner, client.model_copy(update={"aum": 150000.0}))
    ended = runner.execute(run.id)
    assert ended.status == "failed" and "ClientChanged" in (ended.error or "")
    assert "aum changed" in (ended.error or "")
    with session_scope(runner.engine) as session:
        assert deliveries.get(session, run.id) is None
        with pytest.raises(ClientChanged):
            deliveries.deliver(
                session,
                run.id,
                plan_hash="0" * 64,
                text="t",
                channel="direct",
                approved_by=None,
                on=AS_OF,
                valid_months=24,
            )


@pytest.mark.parametrize(
    ("name", "role"),
    [("adv-wang", "advisor"), ("sup-zhao", "supervisor"), ("nobody", None)],
)
def test_only_the_clients_advisor_may_decide(runner: Runner, name: str, role: str | None) -> None:
    run_id, _ = paused(runner)
    if role:
        with session_scope(runner.engine) as session:
            principals.ensure(session, name, role)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        decide(runner, run_id, advisor=name)
    assert row(runner, run_id)["approval"]["status"] == "pending"


def test_the_advisor_must_be_the_clients_advisor_now(runner: Runner) -> None:
    run_id, client = paused(runner)
    store(runner, client.model_copy(update={"advisor_id": "adv-wang"}))
    with pytest.raises(Forbidden):
        decide(runner, run_id, "reject", comment="不再是我的客户")
    assert decide(runner, run_id, "reject", comment="转交", advisor="adv-wang")["status"] == (
        "rejected"
    )


def decide_as(runner: Runner, run_id: str, advisor: str, **hooks: Any) -> Approval:
    """The advisor's approval of the run's plan, recorded at the service in one transaction;
    `hooks` are session events (name: listener) on that transaction's session."""
    approval = row(runner, run_id)["approval"]
    decision = AdvisorDecision(
        approval_id=approval["id"], action="approve", plan_hash=approval["plan_hash"],
        advisor=advisor, decided_on=AS_OF,
    )  # fmt: skip
    with session_scope(runner.engine) as session:
        for name, listener in hooks.items():
            event.listen(session, name, listener)
        months = runner.settings.compliance.assessment_valid_months
        return approvals.decide(
            session, approval["id"], decision.model_dump(mode="json"), valid_months=months
        )


def assert_undecided(runner: Runner, run_id: str, advisor_id: str | None) -> None:
    """The review still waits for advisor_id, nothing was decided, audited or delivered."""
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval" and state["deliveries"] == 0
    assert state["approval"]["status"] == "pending" and state["approval"]["decided_by"] is None
    assert state["approval"]["advisor_id"] == advisor_id
    with session_scope(runner.engine) as session:
        assert "decision" not in [e.kind for e in audit.events(session, run_id)]
    assert runner.resume_decided(state["approval"]["id"]).status == "awaiting_approval"
    assert row(runner, run_id)["deliveries"] == 0


def test_nobody_decides_an_unclaimed_review_of_a_client_with_no_advisor(runner: Runner) -> None:
    """The decider guard on its own: the decision's UPDATE would refuse it too (no advisor matches
    no one), but as ApprovalAlreadyDecided, which tells the advisor the wrong thing. The review
    waits in the duty pool until an advisor on duty claims it (tests/core/test_duty_pool.py)."""
    client = long_tail_client(
        client_id="C-NONE", risk_level="C1", lowest_category=True, goal="preservation",
        advisor_id=None,
    )  # fmt: skip
    store(runner, client)
    run_id = start(runner, client)
    assert row(runner, run_id)["approval"]["advisor_id"] is None
    with pytest.raises(Forbidden, match="no advisor: the review waits in the duty pool"):
        decide_as(runner, run_id, "adv-li")
    assert_undecided(runner, run_id, None)


def test_a_reassignment_committed_inside_the_decision_stops_the_decision(runner: Runner) -> None:
    """The decision's UPDATE on its own: the client moves to adv-wang, committed by another
    connection after the guards have read the client and before the decision writes. Only the
    UPDATE's advisor condition then stands between adv-li and the plan."""
    run_id, client = paused(runner)
    moved: list[str] = []

    def reassign_before_the_update(state: ORMExecuteState) -> None:
        if state.is_update and not moved:
            store(runner, client.model_copy(update={"advisor_id": "adv-wang"}))
            moved.append("adv-wang")

    with pytest.raises(ApprovalAlreadyDecided, match="reassigned"):
        decide_as(runner, run_id, "adv-li", do_orm_execute=reassign_before_the_update)
    assert moved == ["adv-wang"]
    assert_undecided(runner, run_id, "adv-wang")


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "\u200b", "\u200b\u200c\ufeff", "\u3000\n\t", "\u3164\uffa0", "\u2800", "\u0301"],
)
def test_a_reject_reason_has_visible_text(runner: Runner, reason: str) -> None:
    run_id, _ = paused(runner)
    with pytest.raises(InvalidDecision):
        decide(runner, run_id, "reject", comment=reason)
    assert row(runner, run_id)["approval"]["status"] == "pending"


def test_today_is_the_decision_date_by_default(runner: Runner) -> None:
    """Outside evals, the decision date is the day it is made."""
    assessed = date.today() - timedelta(days=30)
    run_id, _ = paused(runner, assessed_on=assessed.isoformat())
    approval = row(runner, run_id)["approval"]
    decision = {"action": "approve", "plan_hash": approval["plan_hash"], "advisor": "adv-li"}
    assert runner.decide(approval["id"], decision).status == "delivered"
    with session_scope(runner.engine) as session:
        recorded = session.get_one(Approval, approval["id"])
        assert recorded.decision["decided_on"] == date.today().isoformat()
