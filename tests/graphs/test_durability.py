"""Runs survive processes: resume in a new process, recover a recorded decision or a failed node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import AS_OF, client_data, make_client
from sqlmodel import Session

from core.database import session_scope
from core.services import approvals, audit, deliveries, runs
from core.settings import Settings
from core.tables import Run
from graphs.runner import open_runner
from tools.llm.offline import OfflineModel

TIERWISE = [sys.executable, "-m", "cli.main"]
# A mid-tier run drafted and paused for its advisor.
DRAFTED = ["profile_client", "research_products", "allocate_portfolio", "check_compliance"]


def cli(settings: Settings, *args: str) -> dict:
    env = {**os.environ, "TIERWISE_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [*TIERWISE, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    return json.loads(done.stdout)


def test_run_paused_in_one_process_is_approved_in_another(
    settings: Settings, tmp_path: Path
) -> None:
    client_file = tmp_path / "client.json"
    client_file.write_text(json.dumps(client_data(), ensure_ascii=False), "utf-8")
    paused = cli(settings, "run", "--client", str(client_file), "--as-of", AS_OF.isoformat())
    assert paused["status"] == "awaiting_approval"
    with open_runner(settings) as runner:
        run = runner.decide(
            paused["approval"]["id"],
            {
                "action": "approve",
                "advisor": "adv-li",
                "plan_hash": paused["approval"]["plan_hash"],
            },
            on=AS_OF,
        )
        assert run.status == "delivered"
        assert run.trajectory[-2:] == ["advisor_review", "deliver_plan"]


def test_run_paused_here_is_decided_by_the_cli_in_a_new_process(settings: Settings) -> None:
    with open_runner(settings) as runner:
        run = runner.create(make_client(), as_of=AS_OF)
        runner.execute(run.id)
        with session_scope(runner.engine) as session:
            approval = approvals.latest_for_run(session, run.id)
            approval_id, plan_hash = approval.id, approval.plan_hash
    out = cli(
        settings,
        "decide",
        approval_id,
        "--action",
        "reject",
        "--advisor",
        "adv-li",
        "--plan-hash",
        plan_hash,
        "--comment",
        "client postponed",
    )
    assert out["status"] == "rejected" and out["delivered"] is False


def test_decision_recorded_before_a_crash_is_resumed_by_recover(settings: Settings) -> None:
    with open_runner(settings) as runner:
        run = runner.create(make_client(), as_of=AS_OF)
        runner.execute(run.id)
        with session_scope(runner.engine) as session:
            approval = approvals.latest_for_run(session, run.id)
            # The process recorded the decision, then died before resuming the graph.
            approvals.decide(
                session,
                approval.id,
                {
                    "action": "approve",
                    "advisor": "adv-li",
                    "plan_hash": approval.plan_hash,
                    "decided_on": AS_OF.isoformat(),
                },
                valid_months=24,
            )
    with open_runner(settings) as fresh:
        recovered = fresh.recover(run.id)
        assert recovered.status == "delivered"
        assert fresh.recover(run.id).status == "delivered"  # a second recover changes nothing
        with session_scope(fresh.engine) as session:
            assert deliveries.get(session, run.id) is not None


class FailingOnce(OfflineModel):
    """The offline model, except that the letter fails: a node dies half-way through a run."""

    def text(self, prompt):  # type: ignore[no-untyped-def]
        if prompt.task == "letter":
            raise ConnectionError("model endpoint went away")
        return super().text(prompt)


def test_failed_node_is_retried_from_the_last_checkpoint(settings: Settings) -> None:
    with open_runner(settings, model_factory=FailingOnce) as broken:
        run = broken.create(make_client(), as_of=AS_OF)
        failed = broken.execute(run.id)
        assert failed.status == "failed" and "ConnectionError" in (failed.error or "")
        assert failed.trajectory == ["profile_client", "research_products", "allocate_portfolio"]
    with open_runner(settings) as fresh:
        recovered = fresh.recover(run.id)
        assert recovered.status == "awaiting_approval"
        assert recovered.trajectory[-1] == "check_compliance"
        with session_scope(fresh.engine) as session:
            assert runs.get(session, run.id).trajectory.count("allocate_portfolio") == 1


DIE_BEFORE_THE_CHECKPOINT = """
import os, sys, time
from core.settings import Settings
from graphs.runner import open_runner

with open_runner(Settings(environment="test", database_url=sys.argv[1])) as runner:
    saver = runner.graph.checkpointer
    put = saver.put

    def die_before_the_allocation_checkpoint(config, checkpoint, metadata, versions):
        if "plan" in checkpoint["channel_values"]:
            # The task's writes are saved in the background: let them land, then die like
            # SIGKILL (no cleanup) before the step's checkpoint is written.
            for _ in range(1000):
                if any(w[1] == "plan" for w in saver.get_tuple(config).pending_writes):
                    os._exit(17)
                time.sleep(0.01)
            os._exit(18)
        return put(config, checkpoint, metadata, versions)

    saver.put = die_before_the_allocation_checkpoint
    runner.execute(sys.argv[2])
"""


def dies_executing(settings: Settings, script: str) -> tuple[Run, int]:
    """A new run, executed by `script` in a process of its own; the run and the exit code."""
    with open_runner(settings) as runner:
        run = runner.create(make_client(), as_of=AS_OF)
    died = subprocess.run(
        [sys.executable, "-c", script, settings.database_url, run.id],
        cwd=Path(__file__).resolve().parents[2],
    )
    return run, died.returncode


def test_a_crash_between_a_task_and_its_checkpoint_is_resumed(settings: Settings) -> None:
    """The task's writes were saved but not the step's checkpoint: `next` is empty then, and
    recovery must still carry on from those writes rather than take the run as finished."""
    run, died = dies_executing(settings, DIE_BEFORE_THE_CHECKPOINT)
    assert died == 17
    with open_runner(settings) as fresh:
        snapshot = fresh.graph.get_state(fresh.config(run.id))
        assert [t.name for t in snapshot.tasks] == ["allocate_portfolio"]  # done, not saved
        with session_scope(fresh.engine) as session:
            runs.release_lease(session, run.id, runs.get(session, run.id).lease_owner or "")
        recovered = fresh.recover(run.id)
    assert recovered.status == "awaiting_approval"
    assert recovered.trajectory == DRAFTED


DIE_BEFORE_THE_RECORD = """
import os, sys
from core.services import runs
from core.settings import Settings
from graphs.runner import open_runner

started = runs.record_node_started

def die_in_the_step_after_the_allocation(session, run, task):
    # The allocation is checkpointed; its record shares this transaction, never committed.
    if task["name"] == "check_compliance":
        os._exit(19)
    return started(session, run, task)

runs.record_node_started = die_in_the_step_after_the_allocation
with open_runner(Settings(environment="test", database_url=sys.argv[1])) as runner:
    runner.execute(sys.argv[2])
"""


def test_a_crash_between_a_checkpoint_and_its_record_is_caught_up(settings: Settings) -> None:
    """A node's record is written with the next step's start (one transaction per step): a
    crash in between leaves the row a node behind its checkpoint. Recovery records that node
    first, once, in order, and the run goes on; the audit chain holds one event per node."""
    run, died = dies_executing(settings, DIE_BEFORE_THE_RECORD)
    assert died == 19
    with open_runner(settings) as fresh:
        with session_scope(fresh.engine) as session:
            stored = runs.get(session, run.id)
            assert stored.trajectory == ["profile_client", "research_products"]
            assert stored.plan is None
            runs.release_lease(session, run.id, stored.lease_owner or "")
        recovered = fresh.recover(run.id)
        with session_scope(fresh.engine) as session:
            trail = audit.events(session, run.id)
            verified = audit.verify(session, run.id)
    assert recovered.status == "awaiting_approval"
    assert recovered.trajectory == DRAFTED
    assert recovered.plan is not None and recovered.compliance is not None
    nodes = [e.payload["node"] for e in trail if e.kind == "node"]
    assert nodes == recovered.trajectory
    assert verified.verified
    # Caught up with what the node wrote, as a run without a crash records it.
    allocation = next(
        e for e in trail if e.kind == "node" and e.payload["node"] == "allocate_portfolio"
    )
    assert set(allocation.payload) == {"node", "plan"}


def test_a_node_whose_record_fails_marks_the_run_failed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording a finished node can fail (a bug, a payload the audit cannot take): the run is
    marked failed with the error, and the sweeper, meeting it, carries on with the others."""
    record = runs.record_node

    def broken(session: Session, run: Run, node: str, update: dict[str, Any]) -> None:
        if node == "research_products":
            raise KeyError("items")
        record(session, run, node, update)

    monkeypatch.setattr(runs, "record_node", broken)
    with open_runner(settings) as runner:
        run = runner.create(make_client(), as_of=AS_OF)
        failed = runner.execute(run.id)
        assert failed.status == "failed"
        assert failed.error is not None and "KeyError" in failed.error
        assert failed.trajectory == ["profile_client"]
        assert runner.sweep() == []
