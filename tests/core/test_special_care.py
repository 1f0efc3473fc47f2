"""Accepting a special-care offer (issue 28, part 1): every step of the procedure is the
service's rule, and an offer is accepted once, whatever races occur."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import timedelta

import pytest
from factories import long_tail_client
from specialcarehelp import OFFERED, cooled_off, core_plan, delivered_offer, offer
from sqlalchemy import Engine, func
from sqlmodel import select

from core.database import get_engine, session_scope
from core.errors import InvalidInput, RunNotFound
from core.schemas.special_care import SpecialCareRecord
from core.services import audit, clients, deliveries, runs, special_care
from core.services.special_care import (
    CoolingOffNotOver,
    OfferAlreadyAccepted,
    OfferNotAcceptable,
)
from core.settings import Settings, SpecialCarePolicy
from core.tables import Callback, Run, SpecialCareAcceptance, as_utc

WORDS = "我已阅读风险揭示，理解半导体ETF和纳指ETF可能大幅下跌，自愿接受。电话13912345678"


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return get_engine(settings.database_url)


def _every(settings: Settings, share: float) -> Settings:
    policy = SpecialCarePolicy(callback_share=share)
    return settings.model_copy(update={"special_care": policy})


def test_an_acceptance_after_the_cooling_off_opens_a_linked_run_with_its_record(
    engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
    with session_scope(engine) as session:
        now = cooled_off(session, offer_run.id, settings)
        accepted = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
        )
    with session_scope(engine) as session:
        run = runs.get(session, accepted.run.id)
        assert run.status == "queued"
        assert run.parent_run_id == offer_run.id
        assert run.as_of == now.astimezone().date().isoformat()  # the day of acceptance
        assert (run.request, run.locale) == (offer_run.request, offer_run.locale)
        record = SpecialCareRecord.model_validate(run.special_care)
        assert record.offered == sorted(OFFERED)
        assert record.accepted_at == now
        assert record.cooling_off_hours == settings.compliance.cooling_off_hours
        # Keyed with the audit key: the masked text beside a bare hash would give the phone back.
        key = audit.current_key()
        assert record.acknowledgement_hash == hmac.new(key, WORDS.encode(), "sha256").hexdigest()
        assert record.acknowledgement_hash != hashlib.sha256(WORDS.encode()).hexdigest()
        assert record.offered_weights == {"512480": 0.08, "513100": 0.07}  # as the letter showed
        assert record.missing({"512480": 0.08, "513100": 0.07}) == []  # complete for the sleeve
        assert record.missing({"TW-PF-01": 0.05}) == ["not offered in the letter: TW-PF-01"]
        # More of an offered product than the letter showed is more than the client accepted.
        assert record.missing({"512480": 0.12}) == ["512480 at 12.00%, above the 8.00% offered"]
        row = session.exec(select(SpecialCareAcceptance)).one()
        assert (row.offer_run_id, row.run_id, row.accepted_by) == (offer_run.id, run.id, "svc-core")
        assert "13912345678" not in row.acknowledgement and "自愿接受" in row.acknowledgement
        offer_trail = [e.kind for e in audit.events(session, offer_run.id)]
        linked_trail = [e.kind for e in audit.events(session, run.id)]
        assert "special_care_accepted" in offer_trail
        assert linked_trail[:2] == ["run_created", "special_care_linked"]
        for run_id in (offer_run.id, run.id):
            assert audit.verify(session, run_id).verified
            assert "13912345678" not in str([e.payload for e in audit.events(session, run_id)])


def test_the_linked_run_is_for_the_client_as_they_are_now(
    engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        changed = long_tail_client(risk_level="C5", aum=260000, assessed_on="2026-11-30")
        clients.upsert(session, changed)  # reassessed since the offer
    with session_scope(engine) as session:
        now = cooled_off(session, offer_run.id, settings)
        run = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
        ).run
    assert run.client_snapshot == changed.model_dump(mode="json")
    assert run.client_snapshot["risk_assessment"]["level"] == "C5"
    assert offer_run.client_snapshot["risk_assessment"]["level"] == "C4"


def test_a_run_from_a_client_file_is_accepted_for_its_snapshot(
    engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session, stored=False)
        now = cooled_off(session, offer_run.id, settings)
        run = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
        ).run
        assert run.client_snapshot == offer_run.client_snapshot


def test_before_the_cooling_off_ends_the_refusal_says_when_it_ends(
    engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        ends = cooled_off(session, offer_run.id, settings)
    with pytest.raises(CoolingOffNotOver) as refused, session_scope(engine) as session:
        early = ends - timedelta(seconds=1)
        special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=early, settings=settings
        )
    assert ends.isoformat() in refused.value.detail
    assert refused.value.status_code == 409
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(SpecialCareAcceptance)).one() == 0
        assert session.exec(select(func.count()).select_from(Run)).one() == 1


def test_the_letters_own_cooling_off_is_kept_when_it_is_longer_than_the_policy(
    engine: Engine, settings: Settings
) -> None:
    longer = settings.compliance.cooling_off_hours + 24
    with session_scope(engine) as session:
        offer_run = delivered_offer(session, with_offer=offer(cooling_off_hours=longer))
        policy_end = cooled_off(session, offer_run.id, settings)
    with pytest.raises(CoolingOffNotOver, match=f"{longer}-hour"), session_scope(engine) as session:
        special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=policy_end, settings=settings
        )


@pytest.mark.parametrize("words", ["", "   \n"])
def test_an_acknowledgement_is_required(engine: Engine, settings: Settings, words: str) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        now = cooled_off(session, offer_run.id, settings)
        with pytest.raises(InvalidInput, match="acknowledgement: empty"):
            special_care.accept(
                session, offer_run.id, words, by="svc-core", now=now, settings=settings
            )


def test_only_a_delivered_offer_can_be_accepted(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        plain = delivered_offer(session)
        plain.plan = {**(plain.plan or {}), "offer": None}
        session.add(plain)
        queued = runs.create(
            session, long_tail_client(client_id="C-LT2"), as_of=plain.created_at.date()
        )
        now = cooled_off(session, plain.id, settings)
    with session_scope(engine) as session:
        with pytest.raises(OfferNotAcceptable, match="offers no higher-risk part"):
            special_care.accept(session, plain.id, WORDS, by="svc-core", now=now, settings=settings)
        with pytest.raises(OfferNotAcceptable, match="is queued, not delivered"):
            special_care.accept(
                session, queued.id, WORDS, by="svc-core", now=now, settings=settings
            )
        with pytest.raises(RunNotFound):
            special_care.accept(
                session, "run-none", WORDS, by="svc-core", now=now, settings=settings
            )


def test_a_linked_run_makes_no_offer_of_its_own(engine: Engine, settings: Settings) -> None:
    """Even if a linked run's plan carried an offer, accepting it would stack sleeves on a
    procedure already used: refused."""
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        now = cooled_off(session, offer_run.id, settings)
        linked = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
        ).run
        linked.plan = core_plan(offer())
        runs.set_status(session, linked, "delivered")
        deliveries.deliver(
            session,
            linked.id,
            plan_hash=linked.plan["plan_hash"],
            text="信",
            channel="app",
            approved_by=None,
            on=now.date(),
            valid_months=settings.compliance.assessment_valid_months,
        )
        later = cooled_off(session, linked.id, settings)
    with (
        pytest.raises(OfferNotAcceptable, match="makes no offer of its own"),
        session_scope(engine) as session,
    ):
        special_care.accept(session, linked.id, WORDS, by="svc-core", now=later, settings=settings)


def test_a_second_acceptance_names_the_linked_run(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        now = cooled_off(session, offer_run.id, settings)
    with session_scope(engine) as session:
        first = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
        )
    with pytest.raises(OfferAlreadyAccepted) as refused, session_scope(engine) as session:
        special_care.accept(session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings)
    assert first.run.id in refused.value.detail


def test_the_unique_constraint_decides_when_both_passed_the_check(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A racer that read before the winner committed reaches the insert: the constraint refuses
    it, and everything it wrote (its linked run included) is rolled back."""
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        now = cooled_off(session, offer_run.id, settings)
    with session_scope(engine) as session:
        first = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
        )
    monkeypatch.setattr(special_care, "_ensure_not_accepted", lambda *_: None)
    with pytest.raises(OfferAlreadyAccepted) as refused, session_scope(engine) as session:
        special_care.accept(session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings)
    assert first.run.id in refused.value.detail
    with session_scope(engine) as session:
        linked = session.exec(select(Run).where(Run.parent_run_id == offer_run.id)).all()
        assert [r.id for r in linked] == [first.run.id]


def test_two_acceptances_at_once_make_one_linked_run(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        now = cooled_off(session, offer_run.id, settings)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def accept() -> None:
        start.wait()
        try:
            with session_scope(engine) as session:
                outcomes.append(
                    special_care.accept(
                        session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
                    )
                )
        except OfferAlreadyAccepted as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [o for o in outcomes if isinstance(o, special_care.Accepted)]
    lost = [o for o in outcomes if isinstance(o, OfferAlreadyAccepted)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert won[0].run.id in lost[0].detail
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(SpecialCareAcceptance)).one() == 1
        linked = session.exec(select(Run.id).where(Run.parent_run_id == offer_run.id)).all()
        assert linked == [won[0].run.id]
        assert audit.verify(session, offer_run.id).verified


def test_sampling_is_deterministic_and_near_the_share() -> None:
    ids = [f"run-{i:05d}" for i in range(4000)]
    picked = [special_care.sampled_for_callback(i, 0.2) for i in ids]
    assert picked == [special_care.sampled_for_callback(i, 0.2) for i in ids]
    assert 0.17 < sum(picked) / len(ids) < 0.23  # fixed ids: the same count every time
    assert not any(special_care.sampled_for_callback(i, 0.0) for i in ids)
    assert all(special_care.sampled_for_callback(i, 1.0) for i in ids)


def test_a_sampled_acceptance_opens_a_call_for_the_advisor_or_the_pool(
    engine: Engine, settings: Settings
) -> None:
    every = _every(settings, 1.0)
    with session_scope(engine) as session:
        mine = delivered_offer(session)
        pooled = delivered_offer(session, long_tail_client(client_id="C-LT9", advisor_id=None))
        now = max(cooled_off(session, r.id, settings) for r in (mine, pooled))
    with session_scope(engine) as session:
        for run in (mine, pooled):
            special_care.accept(session, run.id, WORDS, by="svc-core", now=now, settings=every)
    with session_scope(engine) as session:
        calls = {c.client_id: c for c in session.exec(select(Callback))}
        assert calls["C-LT"].advisor_id == "adv-li" and calls["C-LT9"].advisor_id is None
        assert all(c.status == "open" for c in calls.values())
        assert all(r.callback for r in session.exec(select(SpecialCareAcceptance)))
        linked = session.get_one(Run, calls["C-LT"].run_id)
        assert "callback_opened" in [e.kind for e in audit.events(session, linked.id)]


def test_no_call_when_the_share_is_zero(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        offer_run = delivered_offer(session)
        now = cooled_off(session, offer_run.id, settings)
        accepted = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=_every(settings, 0.0)
        )
        assert accepted.callback is None and not accepted.acceptance.callback
        assert session.exec(select(func.count()).select_from(Callback)).one() == 0
        assert as_utc(accepted.acceptance.accepted_at) == now
