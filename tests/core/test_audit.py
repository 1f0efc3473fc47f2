"""The audit trail proves what was delivered: an edit, a recomputation or a truncation shows."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from factories import AS_OF, long_tail_client
from sqlalchemy import delete, update
from sqlmodel import Session

from core.database import get_engine, session_scope
from core.services import audit, deliveries
from core.settings import Settings
from core.tables import AuditEvent, AuditHead, Delivery

if TYPE_CHECKING:
    from graphs.runner import Runner

Seal = Callable[[str], str]
PROMISE = "本计划保证每年15%的收益。We promise 15% a year."


@pytest.fixture
def delivered(runner: Runner) -> str:
    """A long-tail run that passed compliance and was delivered at once."""
    run = runner.create(long_tail_client(risk_level="C2", goal="income"), as_of=AS_OF)
    assert runner.execute(run.id).status == "delivered"
    return run.id


def verify(runner: Runner, run_id: str) -> audit.Verification:
    with session_scope(runner.engine) as session:
        return audit.verify(session, run_id)


def tamper(runner: Runner, *statements: Any) -> None:
    """Write straight to the database, as someone with database access and no key would."""
    with session_scope(runner.engine) as session:
        for statement in statements:
            session.execute(statement)


def delivered_event(runner: Runner, run_id: str) -> AuditEvent:
    with session_scope(runner.engine) as session:
        return next(e for e in audit.events(session, run_id) if e.kind == "delivered")


def test_an_untampered_delivered_run_verifies_and_its_trail_holds_the_text(
    runner: Runner, delivered: str
) -> None:
    check = verify(runner, delivered)
    assert check.verified and check.broken_at is None and check.reason is None
    assert check.length == check.events >= 6
    with session_scope(runner.engine) as session:
        delivery = deliveries.get(session, delivered)
        assert delivery is not None
        text_hash = hashlib.sha256(delivery.text.encode("utf-8")).hexdigest()
        assert delivery.document is not None  # the letter's sections, unsigned here
        canonical = json.dumps(
            delivery.document, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        document_hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert delivered_event(runner, delivered).payload == {
        "plan_hash": delivery.plan_hash,
        "text_hash": text_hash,
        "document_hash": document_hash,
        "channel": "direct",
        "approved_by": None,
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"text": PROMISE}, "text_hash"),
        ({"approved_by": "adv-li"}, "approved_by"),
        ({"plan_hash": "f" * 64}, "plan_hash"),
        ({"channel": "advisor"}, "channel"),
    ],
    ids=["text", "approved_by", "plan_hash", "channel"],
)
def test_a_rewritten_delivery_breaks_the_trail(
    runner: Runner, delivered: str, values: dict[str, Any], field: str
) -> None:
    tamper(runner, update(Delivery).where(Delivery.run_id == delivered).values(**values))
    check = verify(runner, delivered)
    assert not check.verified
    assert check.broken_at == delivered_event(runner, delivered).seq
    assert check.reason is not None and field in check.reason


def test_a_deleted_delivery_or_an_unaudited_one_breaks_the_trail(
    runner: Runner, delivered: str
) -> None:
    tamper(runner, delete(Delivery).where(Delivery.run_id == delivered))
    check = verify(runner, delivered)
    assert not check.verified and check.reason == "the delivered event has no delivery"
    assert check.broken_at == delivered_event(runner, delivered).seq
    queued = runner.create(long_tail_client(client_id="C-Q"), as_of=AS_OF).id
    assert verify(runner, queued).verified
    with session_scope(runner.engine) as session:
        session.add(Delivery(run_id=queued, plan_hash="f" * 64, channel="direct", text=PROMISE))
    assert verify(runner, queued).reason == "a delivery has no delivered event"


def _rewrite_and_reseal(session: Session, run_id: str, seal: Seal) -> None:
    """Promise 15% in the delivered letter, then rebuild the chain and head to match it."""
    row = deliveries.get(session, run_id)
    assert row is not None
    row.text, row.approved_by = PROMISE, "adv-li"
    chain = audit.events(session, run_id)
    for event in chain:
        if event.kind == "delivered":
            event.payload = {
                **event.payload,
                "text_hash": hashlib.sha256(PROMISE.encode("utf-8")).hexdigest(),
                "approved_by": "adv-li",
            }
    _reseal(session, run_id, chain, audit.GENESIS, seal)


def _reseal(session: Session, run_id: str, chain: list[AuditEvent], prev: str, seal: Seal) -> None:
    """Link each event of chain to the one before (the first to prev), seal it, and re-seal the
    run's head over the new last hash."""
    for event in chain:
        event.prev_hash = prev
        event.hash = prev = seal(audit.canonical(event))
    head = session.get(AuditHead, run_id)
    assert head is not None
    head.head_hash = prev
    head.mac = seal(f"head|{run_id}|{head.length}|{prev}")
    session.flush()


def _plain_sha256(message: str) -> str:
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


def _another_key(message: str) -> str:
    return hmac.new(b"a-guessed-key", message.encode("utf-8"), hashlib.sha256).hexdigest()


def _the_key(message: str) -> str:
    return hmac.new(audit.current_key(), message.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("seal", [_plain_sha256, _another_key], ids=["sha256", "another_key"])
def test_a_chain_recomputed_without_the_key_breaks_the_trail(
    runner: Runner, delivered: str, seal: Seal
) -> None:
    with session_scope(runner.engine) as session:
        _rewrite_and_reseal(session, delivered, seal)
    check = verify(runner, delivered)
    assert not check.verified and check.broken_at == 0
    assert check.reason == "event 0 does not match its keyed hash"


def test_only_the_key_stands_between_a_rewrite_and_a_verified_trail(
    runner: Runner, delivered: str
) -> None:
    """The same rewrite sealed with the real key verifies: the forgery above is complete."""
    with session_scope(runner.engine) as session:
        _rewrite_and_reseal(session, delivered, _the_key)
        assert audit.verify(session, delivered).verified
        session.rollback()


def test_a_link_to_another_event_breaks_the_trail_even_with_every_seal_valid(
    runner: Runner, delivered: str
) -> None:
    """Each seal covers its event's prev_hash, so a changed prev_hash breaks that event's seal;
    re-sealed with the key (with the later links and the head), only the link check still sees
    it. Here event 2 names event 0 before it, as if event 1 had been slipped in afterwards."""
    with session_scope(runner.engine) as session:
        chain = audit.events(session, delivered)
        _reseal(session, delivered, chain[2:], chain[0].hash, _the_key)
    check = verify(runner, delivered)
    assert not check.verified and check.broken_at == 2
    assert check.reason == "event 2 does not link to the event before it"


def test_a_truncated_tail_breaks_the_trail_even_after_a_later_append(
    runner: Runner, delivered: str
) -> None:
    length = verify(runner, delivered).events
    tamper(
        runner,
        delete(AuditEvent).where(AuditEvent.run_id == delivered, AuditEvent.seq >= length - 2),
    )
    check = verify(runner, delivered)
    assert not check.verified and check.events == length - 2 and check.length == length
    assert check.broken_at == length - 2
    assert check.reason == f"the head records {length} events; the trail holds {length - 2}"
    with session_scope(runner.engine) as session:
        added = audit.append(session, delivered, "note", "note", "eng-chen", {"n": 1})
    assert added.seq == length  # the head decides: the gap stays where it was
    check = verify(runner, delivered)
    assert not check.verified and check.reason == f"event {length - 2} is missing"


def test_a_deleted_head_breaks_the_trail_even_after_a_later_append(
    runner: Runner, delivered: str
) -> None:
    tamper(runner, delete(AuditHead).where(AuditHead.run_id == delivered))
    check = verify(runner, delivered)
    assert not check.verified and check.reason == "the run's head is missing"
    assert check.length is None
    with session_scope(runner.engine) as session:
        audit.append(session, delivered, "note", "note", "eng-chen", {"n": 1})
    assert verify(runner, delivered).reason == "the run's head is missing"
    # Deleting the whole trail as well does not make the run look untouched.
    tamper(runner, delete(AuditEvent).where(AuditEvent.run_id == delivered))
    tamper(runner, delete(Delivery).where(Delivery.run_id == delivered))
    assert verify(runner, delivered).reason == "the run's head is missing"


def test_a_forged_head_breaks_the_trail(runner: Runner, delivered: str) -> None:
    length = verify(runner, delivered).events
    tamper(
        runner,
        delete(AuditEvent).where(AuditEvent.run_id == delivered, AuditEvent.seq == length - 1),
    )
    with session_scope(runner.engine) as session:
        last = audit.events(session, delivered)[-1]
        forged = {"length": length - 1, "head_hash": last.hash, "mac": "0" * 64}
        session.execute(update(AuditHead).where(AuditHead.run_id == delivered).values(**forged))
    check = verify(runner, delivered)
    assert not check.verified and check.reason == "the run's head does not match its keyed mac"


def test_a_trail_checked_under_another_key_does_not_verify(runner: Runner, delivered: str) -> None:
    try:
        audit.configure("another-firm-key")
        assert verify(runner, delivered).reason == "event 0 does not match its keyed hash"
    finally:
        audit.configure(runner.settings.audit_key)
    assert verify(runner, delivered).verified


def test_production_refuses_the_development_audit_key() -> None:
    secrets = {"session_secret": "a-real-session-secret", "audit_key": "a-real-audit-key"}
    assert Settings(environment="production", **secrets).audit_key.get_secret_value()
    for placeholder in ("dev-only-audit-chain-key", "changeme", ""):
        with pytest.raises(ValueError, match="TIERWISE_AUDIT_KEY"):
            Settings(environment="production", **{**secrets, "audit_key": placeholder})


WRITERS, APPENDS = 2, 15


def _append_many(url: str, key: str, run_id: str, writer: str, start: Any) -> None:
    """One writer process: the same database and key, its own engine and sessions."""
    audit.configure(key)
    engine = get_engine(url)
    start.wait(timeout=120)
    for i in range(APPENDS):
        with session_scope(engine) as session:
            audit.append(session, run_id, f"{writer}:{i}", "note", writer, {"i": i})


def test_writers_in_two_processes_append_to_one_run_and_the_chain_holds(
    runner: Runner, settings: Settings
) -> None:
    run_id = runner.create(long_tail_client(), as_of=AS_OF).id
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    key = settings.audit_key.get_secret_value()
    writers = [f"w{n}" for n in range(WRITERS)]
    processes = [
        context.Process(target=_append_many, args=(settings.database_url, key, run_id, w, start))
        for w in writers
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
        if process.is_alive():
            process.kill()
    assert [p.exitcode for p in processes] == [0] * WRITERS
    with session_scope(runner.engine) as session:
        chain = audit.events(session, run_id)
        check = audit.verify(session, run_id)
    assert check.verified and check.events == check.length == 1 + WRITERS * APPENDS
    for w in writers:  # every event landed, each writer's in the order it wrote them
        assert [e.payload["i"] for e in chain if e.actor == w] == list(range(APPENDS))


def test_appends_in_one_transaction_chain_on_without_rereading_the_head(
    runner: Runner, delivered: str
) -> None:
    """The second append of a transaction takes the head the first one wrote; a savepoint
    rolled back after an append forgets it, so the chain never skips or reuses a seq."""
    with session_scope(runner.engine) as session:
        audit.append(session, delivered, "a", "note", "eng", {})
        try:
            with session.begin_nested():
                audit.append(session, delivered, "b", "note", "eng", {})
                raise RuntimeError("undo b")
        except RuntimeError:
            pass
        audit.append(session, delivered, "c", "note", "eng", {})
        audit.append(session, delivered, "d", "note", "eng", {})
    check = verify(runner, delivered)
    with session_scope(runner.engine) as session:
        chain = audit.events(session, delivered)
    assert check.verified, check.reason
    assert [e.key for e in chain][-3:] == ["a", "c", "d"]
    assert [e.seq for e in chain] == list(range(len(chain)))
