"""Accepting a special-care offer (CN-MIS-07, 适当性办法 Art 20; issue 28).

A long-tail ordinary investor at C4/C5 receives a core plan capped at R3 and, in its letter, an
offer of the R4/R5 sleeve (`Plan.offer`). The client accepts explicitly, through the firm's
channel, once the cooling-off is over. Every step the procedure requires is checked here, in
the service, so no channel can skip one: the offer was delivered, the cooling-off has passed,
the client acknowledged in their own words, and an offer is accepted at most once (the
database's unique constraint decides a race). The acceptance opens a second, linked run for the
client as they are now, on the day of acceptance: the gate re-checks that plan against them
before anything with the sleeve reaches them. A deterministic share of acceptances gets a
follow-up call (回访) from the client's advisor, or from the duty pool for a client without one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.errors import Conflict, InvalidInput
from core.masking import mask_text
from core.schemas.client import STORED, ClientInput
from core.schemas.special_care import SpecialCareOffer, SpecialCareRecord
from core.services import audit, clients, deliveries, runs
from core.settings import Settings
from core.tables import Callback, Client, Delivery, Run, SpecialCareAcceptance, as_utc

ACKNOWLEDGEMENT_LENGTH = 2000  # the column's; the client's words are kept whole or refused


class OfferNotAcceptable(Conflict):
    """The run made no offer that can be accepted: not delivered, or its plan offers nothing."""


class CoolingOffNotOver(Conflict):
    """The client accepted before the cooling-off ended; the error says when it ends."""


class OfferAlreadyAccepted(Conflict):
    """The offer was accepted already; the error names the linked run that delivers it."""


@dataclass(frozen=True)
class Accepted:
    """What an acceptance wrote: its row, the linked run (queued, to be dispatched), and the
    follow-up call if the acceptance was sampled for one."""

    acceptance: SpecialCareAcceptance
    run: Run
    callback: Callback | None


def accept(
    session: Session,
    offer_run_id: str,
    acknowledgement: str,
    *,
    by: str,
    now: datetime,
    settings: Settings,
    worker: str | None = None,
) -> Accepted:
    """Record the client's acceptance of the offer in `offer_run_id`'s delivered letter and
    queue the linked run that delivers the plan with the sleeve; the caller dispatches it once
    this unit of work has committed.

    Refused, naming why: an empty acknowledgement (InvalidInput), a run that is not delivered
    or whose plan offers nothing (OfferNotAcceptable), an acceptance before the cooling-off
    ends (CoolingOffNotOver, with the moment it ends), an offer accepted already
    (OfferAlreadyAccepted, with the linked run). `by` is the principal of the channel that sent
    the acceptance; `worker` the process that will execute the linked run.
    """
    words = _acknowledged(acknowledgement)
    offer_run = runs.get(session, offer_run_id)
    delivery, offer = _delivered_offer(session, offer_run)
    offered_at = as_utc(delivery.delivered_at)
    hours = max(settings.compliance.cooling_off_hours, offer.cooling_off_hours)
    _ensure_cooled_off(offered_at, hours, now)
    _ensure_not_accepted(session, offer_run_id)
    record = SpecialCareRecord(
        offer_run_id=offer_run_id,
        offered=offer.codes(),
        offered_weights={h.product_code: h.weight for h in offer.holdings},
        offered_at=offered_at,
        accepted_at=now,
        acknowledgement_hash=acknowledgement_hash(acknowledgement),
        cooling_off_hours=hours,
    )
    client = client_now(session, offer_run)
    run = runs.create(
        session,
        client,
        as_of=now.astimezone().date(),  # the acceptance day, as POST /v1/runs dates a run
        request=offer_run.request,
        locale=offer_run.locale,
        actor=by,
        worker=worker,
        parent_run_id=offer_run_id,
        special_care=record.model_dump(mode="json"),
    )
    sampled = sampled_for_callback(offer_run_id, settings.special_care.callback_share)
    acceptance = _insert(
        session,
        SpecialCareAcceptance(
            offer_run_id=offer_run_id,
            run_id=run.id,
            client_id=client.client_id,
            offered=record.offered,
            offered_at=offered_at,
            accepted_at=now,
            acknowledgement=mask_text(words),
            acknowledgement_hash=record.acknowledgement_hash,
            accepted_by=by,
            callback=sampled,
        ),
    )
    _audit(session, acceptance, record, by)
    callback = _open_callback(session, acceptance, client.advisor_id, by) if sampled else None
    return Accepted(acceptance, run, callback)


def _acknowledged(acknowledgement: str) -> str:
    words = acknowledgement.strip()
    if not words:
        raise InvalidInput(
            "acknowledgement: empty; send the client's own words accepting the offer's risks"
        )
    if len(words) > ACKNOWLEDGEMENT_LENGTH:
        raise InvalidInput(
            f"acknowledgement: {len(words)} characters, at most {ACKNOWLEDGEMENT_LENGTH}"
        )
    return words


def acknowledgement_hash(acknowledgement: str) -> str:
    """The HMAC-SHA-256 of the acknowledgement exactly as given, keyed with the audit key:
    what is stored is masked, and the digest lets the firm show later that a text it holds is
    the one the client sent. Keyed, because a bare hash beside 138****5678 gives the phone
    number back in ten thousand guesses."""
    return hmac.new(audit.current_key(), acknowledgement.encode("utf-8"), "sha256").hexdigest()


def _delivered_offer(session: Session, run: Run) -> tuple[Delivery, SpecialCareOffer]:
    """The run's delivery and the offer its plan made; an offer is accepted only once the
    letter that made it has reached the client."""
    delivery = deliveries.get(session, run.id)
    if run.status != "delivered" or delivery is None:
        raise OfferNotAcceptable(
            f"run {run.id} is {run.status}, not delivered: only an offer in a delivered letter "
            "can be accepted"
        )
    if run.special_care is not None:
        raise OfferNotAcceptable(
            f"run {run.id} delivers an offer accepted already (from run {run.parent_run_id}); "
            "it makes no offer of its own"
        )
    raw = (run.plan or {}).get("offer")
    if raw is None:
        raise OfferNotAcceptable(f"run {run.id}'s plan offers no higher-risk part to accept")
    return delivery, SpecialCareOffer.model_validate(raw)


def _ensure_cooled_off(offered_at: datetime, hours: int, now: datetime) -> None:
    ends = offered_at + timedelta(hours=hours)
    if now < ends:
        raise CoolingOffNotOver(
            f"the {hours}-hour cooling-off ends at {ends.isoformat()}: the offer can be "
            "accepted from then on"
        )


def _ensure_not_accepted(session: Session, offer_run_id: str) -> None:
    """A clear answer for an acceptance sent again; two at the same moment are decided by the
    unique constraint in _insert."""
    existing = find(session, offer_run_id)
    if existing is not None:
        raise _already(existing)


def _already(existing: SpecialCareAcceptance) -> OfferAlreadyAccepted:
    return OfferAlreadyAccepted(
        f"the offer of run {existing.offer_run_id} was accepted already, at "
        f"{as_utc(existing.accepted_at).isoformat()}; run {existing.run_id} delivers it"
    )


def find(session: Session, offer_run_id: str) -> SpecialCareAcceptance | None:
    query = select(SpecialCareAcceptance).where(SpecialCareAcceptance.offer_run_id == offer_run_id)
    return session.exec(query).first()


def _insert(session: Session, acceptance: SpecialCareAcceptance) -> SpecialCareAcceptance:
    """Insert the acceptance; if another landed first, its linked run is named and this unit of
    work (the linked run it created included) is rolled back by the caller."""
    try:
        with session.begin_nested():
            session.add(acceptance)
    except IntegrityError:
        existing = find(session, acceptance.offer_run_id)
        if existing is None:
            raise
        raise _already(existing) from None
    return acceptance


def client_now(session: Session, offer_run: Run) -> ClientInput:
    """The client as they are now: the stored record if there is one, else (a run started from
    a client file) the offer run's snapshot."""
    if session.get(Client, offer_run.client_id) is not None:
        return clients.get(session, offer_run.client_id)
    return ClientInput.model_validate(offer_run.client_snapshot, context=STORED)


def sampled_for_callback(offer_run_id: str, share: float) -> bool:
    """Whether this acceptance gets a follow-up call: the SHA-256 of the offer's run id, read
    as a fraction of [0, 1), below `share`. The same offer is always sampled the same way, and
    over many offers the share called is `share`."""
    digest = hashlib.sha256(offer_run_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _audit(
    session: Session, acceptance: SpecialCareAcceptance, record: SpecialCareRecord, by: str
) -> None:
    """The acceptance on both runs' trails: the offer's (what was accepted, in which words)
    and the linked run's (the procedure it is delivered under)."""
    payload = {
        "offer_run_id": acceptance.offer_run_id,
        "run_id": acceptance.run_id,
        "offered": record.offered,
        "offered_at": record.offered_at.isoformat(),
        "accepted_at": record.accepted_at.isoformat(),
        "cooling_off_hours": record.cooling_off_hours,
        "acknowledgement": acceptance.acknowledgement,
        "acknowledgement_hash": record.acknowledgement_hash,
        "callback": acceptance.callback,
    }
    audit.append(
        session,
        acceptance.offer_run_id,
        "special_care_accepted",
        "special_care_accepted",
        by,
        payload,
    )
    audit.append(
        session, acceptance.run_id, "special_care_linked", "special_care_linked", by, payload
    )


def _open_callback(
    session: Session, acceptance: SpecialCareAcceptance, advisor_id: str | None, by: str
) -> Callback:
    """A follow-up call for the client's advisor, or for the duty pool (no advisor)."""
    callback = Callback(
        acceptance_id=cast(int, acceptance.id),  # flushed by _insert
        run_id=acceptance.run_id,
        client_id=acceptance.client_id,
        advisor_id=advisor_id,
    )
    session.add(callback)
    session.flush()
    audit.append(
        session,
        acceptance.run_id,
        "callback_opened",
        "callback_opened",
        by,
        {"callback_id": callback.id, "advisor_id": advisor_id},
    )
    return callback
