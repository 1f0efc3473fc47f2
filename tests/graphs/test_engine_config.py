"""The Celery configuration holds the promises the README makes about the known traps."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from graphs import engine


def test_celery_is_configured_against_the_known_traps() -> None:
    settings = Settings(broker_url="amqp://guest:guest@127.0.0.1:5672//", queue_prefix="tw-x")
    conf = engine.celery_app(settings).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_cancel_long_running_tasks_on_connection_loss
    assert conf.broker_transport_options == {"confirm_publish": True}
    assert conf.result_backend is None and conf.task_ignore_result
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_time_limit == engine.task_time_limit(settings)
    assert engine.task_time_limit(settings) < settings.broker_consumer_timeout_seconds
    # Past the point where the run's heartbeat lets its lease lapse.
    stalled = settings.openai.run_deadline_seconds + 2 * settings.lease_seconds
    assert engine.task_time_limit(settings) > stalled
    names = engine.queue_names(settings)
    assert names == {"runs": "tw-x.runs", "batch": "tw-x.batch"}
    assert {q.name for q in conf.task_queues} == set(names.values())
    assert conf.task_routes[engine.BATCH_ITEM]["queue"] == "tw-x.batch"
    assert conf.task_default_queue == "tw-x.runs"


def test_a_time_limit_past_the_consumer_timeout_is_refused() -> None:
    with pytest.raises(ValidationError, match="broker_consumer_timeout_seconds"):
        Settings(lease_seconds=600, broker_consumer_timeout_seconds=1800)
    with pytest.raises(ValidationError, match="queue_prefix"):
        Settings(queue_prefix="has space")


def test_no_celery_app_without_a_broker() -> None:
    with pytest.raises(ValueError, match="TIERWISE_BROKER_URL"):
        engine.celery_app(Settings())


def test_a_worker_needs_a_broker_and_known_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.delenv("TIERWISE_BROKER_URL", raising=False)
    refused = CliRunner().invoke(app, ["worker"])
    assert refused.exit_code == 2 and "TIERWISE_BROKER_URL is not set" in refused.output
    monkeypatch.setenv("TIERWISE_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    get_settings.cache_clear()
    try:
        unknown = CliRunner().invoke(app, ["worker", "--queues", "runs,everything"])
        assert unknown.exit_code == 2 and "unknown queue everything" in unknown.output
    finally:
        get_settings.cache_clear()


def test_a_busy_database_sends_the_message_back_and_any_other_error_fails_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg
    from celery.exceptions import Reject

    from graphs import worker

    monkeypatch.setattr(worker.PROCESS, "settings", Settings(lease_seconds=0.1))

    def busy(run_id: str) -> None:
        raise psycopg.OperationalError("connection refused")

    def broken(run_id: str) -> None:
        raise ValueError("a bug")

    with pytest.raises(Reject) as rejected:
        worker._requeue_if_transient(busy)("run-1")
    assert rejected.value.requeue
    with pytest.raises(ValueError, match="a bug"):
        worker._requeue_if_transient(broken)("run-1")


def test_a_worker_process_sizes_its_pools_for_one_task() -> None:
    from graphs import worker

    sized = worker.sized_for_a_worker(Settings())
    assert sized.db_connections < Settings().db_connections // 4
