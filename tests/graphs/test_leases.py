"""One run is never executed by two workers at once; a dead worker's runs are recovered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import AS_OF, long_tail_client, make_client
from sqlalchemy import update

from core.database import session_scope
from core.errors import RunBusy
from core.services import approvals, runs
from core.settings import Settings
from core.tables import Approval, Run, utcnow
from graphs.runner import open_runner


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
        claimed = runner.create(make_client(client_id="C-CLAIMED"), as_of=AS_OF)
        runner.execute(claimed.id)
        with session_scope(runner.engine) as session:
            approval = approvals.latest_for_run(session, claimed.id)
            approvals.claim(
                session,
                approval.id,
                {"action": "approve", "advisor": "adv-li", "plan_hash": approval.plan_hash},
            )
            # the first run's worker died holding it a while ago; the claim is as old
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
        assert set(recovered) == {queued.id, claimed.id}
        with session_scope(restarted.engine) as session:
            assert runs.get(session, queued.id).status == "delivered"
            assert runs.get(session, claimed.id).status == "delivered"
        assert restarted.sweep() == []
