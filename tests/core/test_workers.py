"""A dead worker's runs are taken as soon as it is known to be dead, not when its leases run
out; a worker that is merely out of sight keeps its runs until they do."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import psycopg.errors
import pytest
from factories import client_data
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import select

from core.database import get_engine, is_transient, session_scope
from core.errors import RunBusy
from core.schemas.client import ClientInput
from core.services import runs, workers
from core.settings import Settings
from core.tables import Run, Worker, utcnow
from graphs.runner import Runner, open_runner


@pytest.fixture(scope="module")
def gone_pid() -> int:
    """The pid of a process that has exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(done.stdout)


@pytest.fixture
def patient(settings: Settings) -> Iterator[Runner]:
    """A runner whose leases would outlast the test by far: anything it recovers, it recovered
    because the worker was known dead, not because a lease ran out."""
    with open_runner(settings.model_copy(update={"lease_seconds": 3600})) as runner:
        yield runner


def _queued(runner: Runner, worker: str, lease: bool) -> str:
    with session_scope(runner.engine) as session:
        run = runs.create(
            session,
            ClientInput.model_validate(client_data()),
            as_of=date.today(),
            worker=worker,
        )
        if lease:
            assert runs.acquire_lease(session, run.id, f"{worker}:exec", 3600, worker)
        return run.id


def _register(runner: Runner, worker: str, host: str, pid: int, stopped: bool = False) -> None:
    with session_scope(runner.engine) as session:
        workers.register(session, worker, host, pid)
    if stopped:
        with session_scope(runner.engine) as session:
            workers.stop(session, worker)


def test_known_dead_means_stopped_or_gone_from_this_machine(patient: Runner, gone_pid: int) -> None:
    here, there = workers.this_host(), "elsewhere/0123456789abcdef"
    cases = {
        "gone-here": (here, gone_pid, False),
        "stopped": (there, os.getpid(), True),
        "alive-here": (here, os.getpid(), False),
        "quiet-elsewhere": (there, gone_pid, False),
    }
    for worker, (host, pid, stopped) in cases.items():
        _register(patient, worker, host, pid, stopped)
        _queued(patient, worker, lease=False)
    _register(patient, "idle-gone", here, gone_pid)  # answerable for nothing: not looked at
    with session_scope(patient.engine) as session:
        assert workers.dead(session, here) == {"gone-here", "stopped"}


def test_a_dead_workers_leased_run_is_recovered_at_once(patient: Runner, gone_pid: int) -> None:
    _register(patient, "crashed", workers.this_host(), gone_pid)
    run_id = _queued(patient, "crashed", lease=True)
    assert patient.sweep() == [run_id]
    with session_scope(patient.engine) as session:
        run = session.get(Run, run_id)
        assert run is not None and run.status == "awaiting_approval"
        assert run.worker == patient.worker and run.lease_owner is None


def test_a_stopped_workers_queued_run_is_taken_without_waiting_for_quiet(
    patient: Runner,
) -> None:
    _register(patient, "shut-down", "elsewhere/0123456789abcdef", os.getpid(), stopped=True)
    run_id = _queued(patient, "shut-down", lease=False)
    assert patient.sweep() == [run_id]


def test_a_worker_out_of_sight_keeps_its_leased_runs(patient: Runner, gone_pid: int) -> None:
    """Another machine's worker may only be paused: its valid lease still protects its run."""
    _register(patient, "far-away", "elsewhere/0123456789abcdef", gone_pid)
    run_id = _queued(patient, "far-away", lease=True)
    assert patient.sweep() == []
    with session_scope(patient.engine) as session:
        assert runs.get(session, run_id).lease_owner == "far-away:exec"


def test_a_runner_registers_and_says_when_it_stops(settings: Settings) -> None:
    with open_runner(settings) as runner:
        worker = runner.worker
        _queued(runner, worker, lease=False)
        with session_scope(runner.engine) as session:
            assert worker not in workers.dead(session, runner.host)
    with session_scope(get_engine(settings.database_url)) as session:
        assert worker in workers.dead(session, workers.this_host())


def test_prune_deletes_only_stopped_workers_that_answer_for_nothing(patient: Runner) -> None:
    there = "elsewhere/0123456789abcdef"
    _register(patient, "old-idle", there, os.getpid(), stopped=True)
    _register(patient, "old-busy", there, os.getpid(), stopped=True)
    _queued(patient, "old-busy", lease=False)
    with session_scope(patient.engine) as session:
        assert workers.prune(session, utcnow() + timedelta(seconds=1)) >= 1
        left = set(session.exec(select(Worker.id)))
    assert "old-idle" not in left and "old-busy" in left
    with session_scope(patient.engine) as session:
        assert workers.prune(session, utcnow() - timedelta(days=1)) == 0


def test_a_worker_stopping_with_a_lease_held_does_not_say_it_stopped(settings: Settings) -> None:
    """A decision still resuming on a request thread keeps its run: the worker stops taking
    leases, and leaves the one it holds to run out rather than hand it over live."""
    with open_runner(settings) as runner:
        run_id = _queued(runner, runner.worker, lease=False)
        with runner._leased(run_id):
            runner.stop()
            another = _queued(runner, runner.worker, lease=False)
            with pytest.raises(RunBusy), runner._leased(another):
                pass
            with session_scope(runner.engine) as session:
                assert runner.worker not in workers.dead(session, runner.host)
        runner.stop()  # nothing held now: it says so
        with session_scope(runner.engine) as session:
            assert runner.worker in workers.dead(session, runner.host)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (PoolTimeout("QueuePool limit reached"), True),
        (psycopg.OperationalError("connection refused"), True),
        (psycopg.errors.SerializationFailure("retry"), True),
        (OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("bye")), True),
        (OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked")), True),
        (psycopg.errors.QueryCanceled("statement timeout"), False),
        (psycopg.errors.DiskFull("no space"), False),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: run")), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_a_busy_or_unreachable_database_is_transient(exc: Exception, transient: bool) -> None:
    assert is_transient(exc) is transient
