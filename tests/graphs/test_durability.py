"""Runs survive processes: resume in a new process, recover a claimed decision or a failed node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from factories import AS_OF, client_data, make_client

from core.database import session_scope
from core.services import approvals, deliveries, runs
from core.settings import Settings
from graphs.runner import open_runner
from tools.llm.offline import OfflineModel

TIERWISE = [sys.executable, "-m", "cli.main"]


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


def test_decision_claimed_before_a_crash_is_resumed_by_recover(settings: Settings) -> None:
    with open_runner(settings) as runner:
        run = runner.create(make_client(), as_of=AS_OF)
        runner.execute(run.id)
        with session_scope(runner.engine) as session:
            approval = approvals.latest_for_run(session, run.id)
            # The process claimed the decision, then died before resuming the graph.
            approvals.claim(
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


def test_a_crash_between_a_task_and_its_checkpoint_is_resumed(settings: Settings) -> None:
    """The task's writes were saved but not the step's checkpoint: `next` is empty then, and
    recovery must still carry on from those writes rather than take the run as finished."""
    with open_runner(settings) as runner:
        run = runner.create(make_client(), as_of=AS_OF)
    died = subprocess.run(
        [sys.executable, "-c", DIE_BEFORE_THE_CHECKPOINT, settings.database_url, run.id],
        cwd=Path(__file__).resolve().parents[2],
    )
    assert died.returncode == 17
    with open_runner(settings) as fresh:
        snapshot = fresh.graph.get_state(fresh.config(run.id))
        assert [t.name for t in snapshot.tasks] == ["allocate_portfolio"]  # done, not saved
        with session_scope(fresh.engine) as session:
            runs.release_lease(session, run.id, runs.get(session, run.id).lease_owner or "")
        recovered = fresh.recover(run.id)
    assert recovered.status == "awaiting_approval"
    assert recovered.trajectory == [
        "profile_client",
        "research_products",
        "allocate_portfolio",
        "check_compliance",
    ]
