"""Routing after compliance: lowest-category sign-off (SYS-02), text-only revise findings, and
client names with digits in them."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from factories import AS_OF, long_tail_client, make_client
from sqlmodel import Session
from test_graph import PIPELINE, decide, row, start

from core.database import session_scope
from core.schemas.client import ClientInput
from core.services import approvals, clients, cursors
from core.settings import Settings
from core.tables import Principal
from graphs.runner import Runner, open_runner
from tools.compliance.engine import Hit
from tools.compliance.evaluators.registry import REGISTRY

LOWEST = {"risk_level": "C1", "lowest_category": True, "goal": "preservation"}


def lowest_long_tail(**overrides: Any) -> ClientInput:
    return long_tail_client(client_id="C-LOW", **LOWEST, **overrides)


def test_a_passing_lowest_category_long_tail_plan_waits_for_its_advisor(runner: Runner) -> None:
    run_id = start(runner, lowest_long_tail())
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval" and state["deliveries"] == 0
    assert state["compliance"]["verdict"] == "pass"
    assert state["trajectory"] == PIPELINE  # paused inside advisor_review
    assert state["approval"]["advisor_id"] == "adv-li"
    done = decide(runner, run_id)
    assert done["status"] == "delivered"
    assert done["trajectory"] == [*PIPELINE, "advisor_review", "deliver_plan"]
    assert done["delivery"]["channel"] == "advisor" and done["delivery"]["approved_by"] == "adv-li"


def test_the_sign_off_is_a_policy_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERWISE_COMPLIANCE__LOWEST_CATEGORY_SIGNOFF", "false")
    assert Settings().compliance.lowest_category_signoff is False
    assert settings.compliance.lowest_category_signoff is True  # on by default
    off = settings.model_copy(
        update={
            "compliance": settings.compliance.model_copy(update={"lowest_category_signoff": False})
        }
    )
    with open_runner(off) as runner:
        state = row(runner, start(runner, lowest_long_tail()))
    assert state["status"] == "delivered"
    assert state["trajectory"] == [*PIPELINE, "deliver_plan"]
    assert state["delivery"]["channel"] == "direct"


def test_without_an_advisor_the_review_waits_in_the_supervisors_queue(runner: Runner) -> None:
    """Nobody may decide it until the client has an advisor (who then takes it over) or an
    advisor on duty claims it from the duty pool (tests/core/test_duty_pool.py)."""
    client = lowest_long_tail(advisor_id=None)
    with session_scope(runner.engine) as session:
        clients.upsert(session, client)
    run_id = start(runner, client)
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval" and state["deliveries"] == 0
    review = state["approval"]["id"]
    assert state["approval"]["advisor_id"] is None
    supervisor, li = principal("sup-zhao", "supervisor"), principal("adv-li", "advisor")
    with session_scope(runner.engine) as session:
        assert review in queued(runner, session, supervisor)
        assert review not in queued(runner, session, li)
        clients.upsert(session, client.model_copy(update={"advisor_id": "adv-li"}))
    with session_scope(runner.engine) as session:
        assert review in queued(runner, session, li)


def principal(name: str, role: str) -> Principal:
    return Principal(name=name, role=role, token_hash=f"hash-{name}")


def queued(runner: Runner, session: Session, reviewer: Principal) -> list[str]:
    """The ids of the reviews in the principal's queue, every page of it."""
    months = runner.settings.compliance.assessment_valid_months
    page = partial(approvals.queue, session, reviewer, AS_OF, months)
    return [item["id"] for item in cursors.every(lambda cursor: page(cursor=cursor))]


@pytest.mark.parametrize("client", [long_tail_client(), make_client()], ids=["long-tail", "mid"])
def test_a_text_only_revise_blocks_without_spending_the_revise_loop(
    runner: Runner, client: ClientInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Allocating again cannot fix a letter: no revision is counted and no loop is taken."""
    monkeypatch.setitem(REGISTRY, "TW-NUM-01", lambda ctx, rid: [Hit("99.9% has no source")])
    run_id = start(runner, client)
    state = row(runner, run_id)
    snapshot = runner.graph.get_state(runner.config(run_id)).values
    assert state["status"] == "blocked" and state["deliveries"] == 0
    assert state["trajectory"] == [*PIPELINE, "block_plan"]
    assert state["compliance"]["verdict"] == "revise" and state["compliance"]["remedies"] == []
    assert snapshot.get("revisions", 0) == 0 and not snapshot.get("constraints")


@pytest.mark.parametrize("name", ["测试客户013", "测试客户014"])
def test_a_client_named_with_digits_gets_their_plan(runner: Runner, name: str) -> None:
    run_id = start(runner, long_tail_client(name=name))
    state = row(runner, run_id)
    assert state["status"] == "delivered", state["compliance"]["findings"]
    assert state["trajectory"] == [*PIPELINE, "deliver_plan"]
    assert name in state["compliance"]["client_text"]
    assert "TW-NUM-01" not in [f["rule_id"] for f in state["compliance"]["findings"]]
