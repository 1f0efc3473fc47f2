"""Retention: finished runs lose their checkpoints after N days; the audit trail stays."""

from __future__ import annotations

from datetime import timedelta

from factories import AS_OF, long_tail_client, make_client
from sqlalchemy import update

from core.database import session_scope
from core.services import audit, runs
from core.settings import Settings
from core.tables import Run, utcnow
from graphs.runner import open_runner


def test_prune_keeps_the_audit_trail_and_unfinished_runs(settings: Settings) -> None:
    with open_runner(settings) as runner:
        old = runner.create(long_tail_client(client_id="C-OLD"), as_of=AS_OF)
        runner.execute(old.id)
        waiting = runner.create(make_client(client_id="C-WAIT"), as_of=AS_OF)
        runner.execute(waiting.id)
        with session_scope(runner.engine) as session:
            session.execute(update(Run).values(updated_at=utcnow() - timedelta(days=40)))
        before = len(list(runner.graph.get_state_history(runner.config(old.id))))
        assert before > 0
        assert runner.prune(30) == [old.id]  # the waiting run is not finished: kept
        assert list(runner.graph.get_state_history(runner.config(old.id))) == []
        assert runner.graph.get_state(runner.config(waiting.id)).interrupts
        with session_scope(runner.engine) as session:
            check = audit.verify(session, old.id)
            assert check.verified and runs.get(session, old.id).status == "delivered"
            assert audit.events(session, old.id)[-1].kind == "retention"
        assert runner.prune(30) == []  # nothing twice


def test_prune_keeps_up_with_a_batch_page_after_page(settings: Settings) -> None:
    with open_runner(settings) as runner:
        made = []
        for n in range(5):
            run = runner.create(long_tail_client(client_id=f"C-{n}"), as_of=AS_OF)
            runner.execute(run.id)
            made.append(run.id)
        with session_scope(runner.engine) as session:
            session.execute(update(Run).values(updated_at=utcnow() - timedelta(days=40)))
        # Two runs a page: one prune still takes every finished run, each once.
        assert sorted(runner.prune(30, page=2)) == sorted(made)
        assert all(not list(runner.graph.get_state_history(runner.config(r))) for r in made)
        assert runner.prune(30, page=2) == []
