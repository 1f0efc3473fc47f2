"""The duty pool (值班投顾): a review whose client has no advisor is claimed by the first advisor
on duty, who then decides it; nobody's review is left with no one able to decide it."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from factories import AS_OF, make_client, pending_review
from sqlalchemy import update
from sqlmodel import Session, col, select

from core.database import get_engine, session_scope
from core.errors import (
    ApprovalNotFound,
    Forbidden,
    InvalidPrincipal,
    NotInPool,
    ReviewAlreadyClaimed,
)
from core.services import approvals, audit, client_changes, clients, principals, review_queue
from core.settings import DutyPolicy, Settings
from core.tables import Approval, AuditEvent, Client, Run, utcnow

KEEP = DutyPolicy()  # the default: the claimant decides, the client stays without an advisor
BECOMES = DutyPolicy(claimant_becomes_advisor=True)


@pytest.fixture
def session(settings: Settings) -> Any:
    with session_scope(get_engine(settings.database_url)) as s:
        principals.create(s, "sup-zhao", "supervisor")
        yield s


def _pool_review(session: Session, client_id: str = "C-POOL") -> Approval:
    client = make_client(client_id=client_id, advisor_id=None)
    clients.upsert(session, client)
    return pending_review(session, client)


def _on_duty(session: Session, *names: str) -> None:
    for name in names:
        principals.set_duty(session, name, True)


def _decision(advisor: str, plan_hash: str = "0" * 64) -> dict[str, Any]:
    return {
        "action": "approve",
        "plan_hash": plan_hash,
        "advisor": advisor,
        "decided_on": AS_OF.isoformat(),
    }


def _kinds(session: Session, run_id: str) -> list[str]:
    return [e.kind for e in audit.events(session, run_id)]


def test_a_pool_review_is_refused_to_everyone_until_claimed(session: Session) -> None:
    review = _pool_review(session)
    with pytest.raises(Forbidden, match="duty pool"):
        approvals.decide(session, review.id, _decision("adv-li"), valid_months=24)
    assert approvals.in_pool(approvals.get(session, review.id))


def test_only_an_advisor_on_duty_claims(session: Session) -> None:
    review = _pool_review(session)
    with pytest.raises(Forbidden, match="adv-li is not on duty"):
        approvals.claim(session, review.id, "adv-li", duty=KEEP)
    with pytest.raises(Forbidden, match="not an advisor"):
        approvals.claim(session, review.id, "sup-zhao", duty=KEEP)
    with pytest.raises(Forbidden, match="not an advisor"):
        approvals.claim(session, review.id, "nobody", duty=KEEP)
    assert approvals.get(session, review.id).claimed_by is None


def test_the_claimant_decides_and_is_recorded_on_the_decision_and_in_the_trail(
    session: Session,
) -> None:
    review = _pool_review(session)
    _on_duty(session, "adv-li", "adv-wang")
    claimed = approvals.claim(session, review.id, "adv-li", duty=KEEP)
    assert (claimed.claimed_by, claimed.advisor_id) == ("adv-li", "adv-li")
    assert claimed.claimed_at is not None and not approvals.in_pool(claimed)
    assert session.get_one(Run, review.run_id).advisor_id == "adv-li"
    assert session.get_one(Client, "C-POOL").advisor_id is None  # not their advisor of record
    with pytest.raises(Forbidden, match="'adv-wang' is not this client's advisor"):
        approvals.decide(session, review.id, _decision("adv-wang"), valid_months=24)
    decided = approvals.decide(session, review.id, _decision("adv-li"), valid_months=24)
    assert decided.status == "approved" and decided.decided_by == "adv-li"
    assert decided.decision is not None and decided.decision["claimed_by"] == "adv-li"
    events = audit.events(session, review.run_id)
    assert [e.kind for e in events][-3:] == ["review_opened", "review_claimed", "decision"]
    assert events[-2].actor == "adv-li" and events[-2].payload["claimed_by"] == "adv-li"
    assert events[-1].payload["claimed_by"] == "adv-li"
    assert audit.verify(session, review.run_id).verified


def test_the_first_claim_wins_and_claiming_again_is_harmless(session: Session) -> None:
    review = _pool_review(session)
    _on_duty(session, "adv-li", "adv-wang")
    approvals.claim(session, review.id, "adv-wang", duty=KEEP)
    with pytest.raises(ReviewAlreadyClaimed, match="adv-wang claimed this review first"):
        approvals.claim(session, review.id, "adv-li", duty=KEEP)
    again = approvals.claim(session, review.id, "adv-wang", duty=KEEP)
    assert again.claimed_by == "adv-wang"
    assert _kinds(session, review.run_id).count("review_claimed") == 1


def test_a_review_whose_client_has_an_advisor_is_not_in_the_pool(session: Session) -> None:
    client = make_client(client_id="C-OWN")  # adv-li's
    clients.upsert(session, client)
    review = pending_review(session, client)
    _on_duty(session, "adv-li", "adv-wang")
    with pytest.raises(ApprovalNotFound):  # another advisor's client: as a missing one
        approvals.claim(session, review.id, "adv-wang", duty=KEEP)
    with pytest.raises(NotInPool, match="your own client's"):
        approvals.claim(session, review.id, "adv-li", duty=KEEP)


def test_with_the_setting_the_claimant_becomes_the_advisor_of_record(session: Session) -> None:
    review = _pool_review(session)
    other = pending_review(session, make_client(client_id="C-POOL", advisor_id=None))
    _on_duty(session, "adv-wang")
    approvals.claim(session, review.id, "adv-wang", duty=BECOMES)
    stored = session.get_one(Client, "C-POOL")
    assert stored.advisor_id == "adv-wang" and stored.data["advisor_id"] == "adv-wang"
    assert clients.get(session, "C-POOL").advisor_id == "adv-wang"
    # The client's other pool review follows them, as any reassignment does.
    assert approvals.get(session, other.id).advisor_id == "adv-wang"
    assert "advisor_assigned" in _kinds(session, review.run_id)
    # The claim the plan waited for is not a change to the client it was drafted for.
    run = session.get_one(Run, review.run_id)
    assert client_changes.blockers(session, run, AS_OF, 24) == []
    decided = approvals.decide(session, review.id, _decision("adv-wang"), valid_months=24)
    assert decided.status == "approved" and decided.decision["claimed_by"] == "adv-wang"  # type: ignore[index]


def test_a_later_round_of_the_run_stays_with_the_claimant(session: Session) -> None:
    review = _pool_review(session)
    _on_duty(session, "adv-li")
    approvals.claim(session, review.id, "adv-li", duty=KEEP)
    approvals.decide(
        session,
        review.id,
        {**_decision("adv-li"), "action": "revise", "weights": {"510300": 1.0}},
        valid_months=24,
    )
    run = session.get_one(Run, review.run_id)
    payload = {"approval_id": f"{run.id}-r1", "plan_hash": "1" * 64, "plan": {}}
    later = approvals.open_review(session, run, payload | {"findings": [], "verdict": "pass"})
    assert (later.advisor_id, later.claimed_by) == ("adv-li", "adv-li")
    assert not approvals.in_pool(later)
    assert approvals.decide(session, later.id, _decision("adv-li", "1" * 64), valid_months=24)


def test_the_pool_lists_unclaimed_reviews_and_counts_those_past_the_target(
    session: Session, settings: Settings
) -> None:
    old, fresh, claimed = (_pool_review(session, f"C-P{i}") for i in range(3))
    own = pending_review(session, make_client(client_id="C-OWN"))
    target = timedelta(hours=settings.review_target_hours)
    session.execute(
        update(Approval).where(col(Approval.id) == old.id).values(created_at=utcnow() - 2 * target)
    )
    _on_duty(session, "adv-li")
    approvals.claim(session, claimed.id, "adv-li", duty=KEEP)
    since = utcnow() - target
    assert review_queue.pool_counts(session, since) == (2, 1)
    found, more = approvals.queue(session, None, AS_OF, 24, pool=True)
    assert [item["id"] for item, _ in found] == [old.id, fresh.id] and more is None
    # The claimed review is in the claimant's own queue; the own client's never was pooled.
    mine, _ = approvals.queue(session, principals.by_name(session, "adv-li"), AS_OF, 24)
    assert {item["id"] for item, _ in mine} == {claimed.id, own.id}
    sup = principals.by_name(session, "sup-zhao")
    assert sup is not None
    page = review_queue.queue_page(
        session, sup, review_queue.QueueQuery(pool=True), overdue_before=since
    )
    assert [r.id for r in page.rows] == [old.id, fresh.id] and page.overdue == 1
    off = principals.by_name(session, "adv-wang")
    assert off is not None
    with pytest.raises(Forbidden, match="go on duty first"):
        review_queue.queue_page(session, off, review_queue.QueueQuery(pool=True), since)


def test_duty_is_set_by_the_advisor_themselves_or_a_supervisor(session: Session) -> None:
    li, sup = principals.by_name(session, "adv-li"), principals.by_name(session, "sup-zhao")
    assert li is not None and sup is not None
    assert principals.public(li)["on_duty"] is False
    assert principals.set_duty(session, "adv-li", True, by=li).on_duty
    with pytest.raises(Forbidden, match="only their own duty"):
        principals.set_duty(session, "adv-wang", True, by=li)
    assert principals.set_duty(session, "adv-wang", True, by=sup).on_duty
    with pytest.raises(InvalidPrincipal, match="only advisors go on duty"):
        principals.set_duty(session, "sup-zhao", True, by=sup)
    assert principals.on_duty(session) == ["adv-li", "adv-wang"]
    principals.set_duty(session, "adv-li", False, by=li)
    assert principals.on_duty(session) == ["adv-wang"]


def test_two_advisors_claiming_at_once_one_wins(settings: Settings) -> None:
    """Each claimant in a transaction of its own, released together: the conditional UPDATE
    lets exactly one through, and the other is told who has it."""
    engine = get_engine(settings.database_url)
    with session_scope(engine) as s:
        review_id = _pool_review(s).id
        _on_duty(s, "adv-li", "adv-wang")
    barrier, results = threading.Barrier(2), {}

    def claim(name: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as s:
                results[name] = approvals.claim(s, review_id, name, duty=BECOMES).claimed_by
        except ReviewAlreadyClaimed as exc:
            results[name] = exc

    threads = [threading.Thread(target=claim, args=(n,)) for n in ("adv-li", "adv-wang")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, r in results.items() if r == n]
    losers = [r for r in results.values() if isinstance(r, ReviewAlreadyClaimed)]
    assert len(winners) == 1 and len(losers) == 1
    with session_scope(engine) as s:
        stored = approvals.get(s, review_id)
        assert stored.claimed_by == winners[0] == stored.advisor_id
        assert s.get_one(Client, "C-POOL").advisor_id == winners[0]
        claims = select(AuditEvent).where(AuditEvent.kind == "review_claimed")
        assert len(list(s.exec(claims))) == 1
