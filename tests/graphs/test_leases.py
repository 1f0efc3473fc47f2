"""One run is never executed by two workers at once; a dead worker's runs are recovered."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from factories import AS_OF, long_tail_client, make_client
from sqlalchemy import func, update
from sqlmodel import col, select

from core.database import session_scope
from core.errors import RunBusy
from core.services import approvals, audit, runs
from core.settings import Settings
from core.tables import Approval, Delivery, Run, utcnow
from graphs.runner import Runner, open_runner

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_leased_by_one_worker_is_refused_to_another(settings: Settings) -> None:
    with open_runner(settings) as first, open_runner(settings) as second:
        run = first.create(long_tail_client(), as_of=AS_OF)
        with session_scope(first.engine) as session:
            assert runs.acquire_lease(session, run.id, first.worker, 60)
        with pytest.raises(RunBusy):
            second.execute(run.id)
        with session_scope(first.engine) as session:
            runs.release_lease(session, run.id, first.worker)
        assert second.execute(run.id).status == "delivered"
        with session_scope(first.engine) as session:
            assert runs.get(session, run.id).lease_owner is None  # released after the drive


def test_an_expired_lease_can_be_taken_over(settings: Settings) -> None:
    with open_runner(settings) as runner:
        run = runner.create(long_tail_client(), as_of=AS_OF)
        with session_scope(runner.engine) as session:
            session.execute(
                update(Run)
                .where(Run.id == run.id)
                .values(lease_owner="dead-worker", lease_until=utcnow() - timedelta(seconds=1))
            )
            assert runs.acquire_lease(session, run.id, runner.worker, 60)


def test_sweep_leaves_fresh_runs_to_their_live_worker(settings: Settings) -> None:
    with open_runner(settings) as runner:
        runner.create(long_tail_client(client_id="C-NEW"), as_of=AS_OF)
        assert runner.sweep() == []  # just queued: its worker is about to start it


def test_sweep_recovers_what_a_dead_worker_left(settings: Settings) -> None:
    with open_runner(settings) as runner:
        queued = runner.create(long_tail_client(client_id="C-Q"), as_of=AS_OF)
        decided = runner.create(make_client(client_id="C-CLAIMED"), as_of=AS_OF)
        runner.execute(decided.id)
        with session_scope(runner.engine) as session:
            approval = approvals.latest_for_run(session, decided.id)
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
            # the first run's worker died holding it a while ago; the decision is as old
            long_ago = utcnow() - timedelta(minutes=10)
            session.execute(
                update(Run)
                .where(Run.id == queued.id)
                .values(
                    status="running",
                    lease_owner="dead",
                    lease_until=utcnow() - timedelta(seconds=5),
                    updated_at=long_ago,
                )
            )
            session.execute(
                update(Approval).where(Approval.id == approval.id).values(decided_at=long_ago)
            )
    with open_runner(settings) as restarted:
        recovered = restarted.sweep()
        assert set(recovered) == {queued.id, decided.id}
        with session_scope(restarted.engine) as session:
            assert runs.get(session, queued.id).status == "delivered"
            assert runs.get(session, decided.id).status == "delivered"
        assert restarted.sweep() == []


ONE_PATH = [
    "profile_client",
    "research_products",
    "allocate_portfolio",
    "check_compliance",
    "deliver_plan",
]
DRAIN = """
import contextlib, sys, time
from core.errors import RunBusy
from core.schemas.vocabulary import FINAL_STATUSES
from core.database import session_scope
from core.services import runs
from core.settings import Settings
from graphs.runner import open_runner

with open_runner(Settings(environment="test", database_url=sys.argv[1])) as runner:
    ids = sys.argv[2:]
    for run_id in ids:
        with contextlib.suppress(RunBusy):
            runner.execute(run_id)
    while True:
        runner.sweep()
        with session_scope(runner.engine) as session:
            if all(runs.get(session, r).status in FINAL_STATUSES for r in ids):
                break
        time.sleep(0.05)
"""


def _backlog(runner: Runner, count: int) -> list[str]:
    """Queued long-tail runs that have waited past a lease: the sweeper may take any of them."""
    ids = [
        runner.create(long_tail_client(client_id=f"C-B{i}"), as_of=AS_OF).id for i in range(count)
    ]
    waited = utcnow() - timedelta(seconds=2 * runner.settings.lease_seconds)
    with session_scope(runner.engine) as session:
        session.execute(update(Run).where(col(Run.id).in_(ids)).values(updated_at=waited))
    return ids


def _executions(runner: Runner, run_id: str) -> list[str]:
    with session_scope(runner.engine) as session:
        return [
            e.payload["execution"]
            for e in audit.events(session, run_id)
            if e.kind == "status" and e.payload.get("execution")
        ]


def _assert_each_ran_once(runner: Runner, ids: list[str]) -> None:
    with session_scope(runner.engine) as session:
        delivered = session.exec(select(func.count()).select_from(Delivery)).one()
        ended = {r: runs.get(session, r) for r in ids}
    started = {r: len(_executions(runner, r)) for r in ids}
    assert [r for r, n in started.items() if n != 1] == [], started
    assert {r.status for r in ended.values()} == {"delivered"}
    assert [r.id for r in ended.values() if r.trajectory != ONE_PATH] == []
    assert delivered == len(ids)


def test_threads_of_one_process_never_execute_a_run_twice(settings: Settings) -> None:
    """Executor threads and sweepers in one process drain a backlog: one execution per run."""
    with open_runner(settings) as runner:
        ids = _backlog(runner, 12)
        done = threading.Event()

        def execute_all() -> None:
            for run_id in ids:
                with contextlib.suppress(RunBusy):
                    runner.execute(run_id)

        def sweep_until_done() -> None:
            while not done.wait(0.01):
                runner.sweep()

        threads = [threading.Thread(target=execute_all) for _ in range(2)]
        sweepers = [threading.Thread(target=sweep_until_done) for _ in range(2)]
        for t in [*threads, *sweepers]:
            t.start()
        for t in threads:
            t.join()
        while runner.sweep() or any(_status(runner, r) == "queued" for r in ids):
            done.wait(0.01)
        done.set()
        for t in sweepers:
            t.join()
        _assert_each_ran_once(runner, ids)


def _status(runner: Runner, run_id: str) -> str:
    with session_scope(runner.engine) as session:
        return runs.get(session, run_id).status


def test_two_processes_never_execute_a_run_twice(settings: Settings) -> None:
    with open_runner(settings) as runner:
        ids = _backlog(runner, 8)
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", DRAIN, settings.database_url, *ids[i:], *ids[:i]],
                cwd=ROOT,
            )
            for i in (0, len(ids) // 2)
        ]
        assert [w.wait() for w in workers] == [0, 0]
        _assert_each_ran_once(runner, ids)


def test_execute_leaves_a_run_that_is_no_longer_queued_alone(settings: Settings) -> None:
    with open_runner(settings) as runner:
        run = runner.create(long_tail_client(), as_of=AS_OF)
        runner.execute(run.id)
        with session_scope(runner.engine) as session:
            before = len(audit.events(session, run.id))
        again = runner.execute(run.id)
        assert again.status == "delivered" and again.trajectory == ONE_PATH
        with session_scope(runner.engine) as session:
            assert len(audit.events(session, run.id)) == before
        assert len(_executions(runner, run.id)) == 1


def test_an_execution_that_lost_its_lease_never_takes_it_back(settings: Settings) -> None:
    """A stalls past its lease, B takes the run over and lets go: A's renewal still fails."""
    with open_runner(settings) as runner:
        run = runner.create(long_tail_client(), as_of=AS_OF)
        with session_scope(runner.engine) as session:
            assert runs.acquire_lease(session, run.id, "exec-a", 60)
            session.execute(
                update(Run).where(Run.id == run.id).values(lease_until=utcnow() - timedelta(1))
            )
            assert runs.acquire_lease(session, run.id, "exec-b", 60)
            runs.release_lease(session, run.id, "exec-b")
            assert not runs.renew_lease(session, run.id, "exec-a", 60)
            assert runs.get(session, run.id).lease_owner is None


def test_a_recorded_decision_is_found_among_more_waiting_runs_than_the_limit(
    runner: Runner,
) -> None:
    """The sweeper's backstop for a decision whose resume never ran: runs awaiting review
    beyond the page it reads never hide it (the decided one is chosen in the query)."""
    waiting = [runner.execute(runner.create(make_client(), as_of=AS_OF).id) for _ in range(4)]
    assert {r.status for r in waiting} == {"awaiting_approval"}
    with session_scope(runner.engine) as session:
        decided = approvals.latest_for_run(session, waiting[-1].id)
        assert decided is not None
    runner.record_decision(
        decided.id,
        {
            "action": "reject",
            "plan_hash": decided.plan_hash,
            "advisor": "adv-li",
            "comment": "不适合",
        },
    )
    with session_scope(runner.engine) as session:
        found = runs.stranded(session, quiet_seconds=0, limit=2)
    assert found == [waiting[-1].id]
