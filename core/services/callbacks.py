"""Follow-up calls (回访) after a special-care acceptance (issue 28).

A sampled share of acceptances (core/services/special_care.py) opens a call an advisor owes the
client: did they understand what they accepted, and do they still want it. An advisor sees the
calls for their own clients and the unassigned ones (clients without an advisor: the duty
pool's); a supervisor sees every call. Marking a call done records its outcome and a note,
masked, once: the update decides between two advisors closing the same call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.masking import mask_text
from core.services import audit, clients, cursors
from core.tables import Callback, Principal, Run, SpecialCareAcceptance, as_utc

Outcome = Literal["confirmed", "concerns", "unreachable"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
Status = Literal["open", "done"]
NOTE_LENGTH = 2000


class CallbackNotFound(NotFound):
    """No such call, or one for another advisor's client (ids cannot be probed)."""


class CallbackAlreadyDone(Conflict):
    """The call was marked done already; the error says by whom and with what outcome."""


def _scope(principal: Principal) -> Any:
    """The calls a principal sees: an advisor their own, and the pool's (clients without an
    advisor) while on duty, as with reviews; a supervisor all."""
    if principal.role == "supervisor":
        return True
    if principal.role == "advisor" and principal.on_duty:
        return or_(col(Callback.advisor_id) == principal.name, col(Callback.advisor_id).is_(None))
    if principal.role == "advisor":
        return col(Callback.advisor_id) == principal.name
    raise Forbidden(f"role {principal.role} does not make follow-up calls")


def _after(callback: Callback) -> str:
    return cursors.encode(as_utc(callback.created_at), callback.id or 0)


def list_callbacks(
    session: Session,
    principal: Principal,
    *,
    status: Status | None = "open",
    limit: int = 50,
    cursor: str | None = None,
) -> cursors.Page[Callback]:
    """The calls the principal sees, oldest first (the longest waiting is called first), a page
    at a time; `status` None lists open and done alike."""
    query = select(Callback).where(_scope(principal))
    if status is not None:
        query = query.where(Callback.status == status)
    if cursor:
        keys = (cursors.instant, cursors.serial)
        last = cursors.decode(cursor, keys, "the oldest call")
        query = query.where(cursors.after_oldest(col(Callback.created_at), col(Callback.id), last))
    query = query.order_by(col(Callback.created_at), col(Callback.id)).limit(limit + 1)
    return cursors.page(list(session.exec(query)), limit, _after)


def visible(session: Session, principal: Principal, callback_id: int) -> Callback:
    """The call, if the principal may see it; another advisor's is CallbackNotFound, as a
    missing one (and a number no row can have is missing too, not a driver's overflow)."""
    missing = CallbackNotFound(f"no follow-up call {callback_id}")
    if not 1 <= callback_id <= cursors.MAX_SERIAL:
        raise missing
    callback = session.get(Callback, callback_id)
    if callback is None:
        raise missing
    pooled = callback.advisor_id is None and principal.on_duty
    if principal.role == "advisor" and callback.advisor_id != principal.name and not pooled:
        raise missing
    _scope(principal)  # any other role is refused outright
    return callback


def done(
    session: Session,
    principal: Principal,
    callback_id: int,
    outcome: str,
    note: str | None,
    *,
    now: datetime,
) -> Callback:
    """Mark the call done with its outcome and a note (masked: a client may dictate a phone
    number); audited on the linked run. A call done already is CallbackAlreadyDone."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    text = (note or "").strip()
    if len(text) > NOTE_LENGTH:
        raise InvalidInput(f"note: {len(text)} characters, at most {NOTE_LENGTH}")
    masked = mask_text(text) if text else None
    callback = visible(session, principal, callback_id)
    result = session.execute(
        update(Callback)
        .where(col(Callback.id) == callback_id, col(Callback.status) == "open")
        .values(status="done", outcome=outcome, note=masked, done_by=principal.name, done_at=now)
    )
    session.refresh(callback)
    if not result.rowcount:  # type: ignore[attr-defined]
        raise CallbackAlreadyDone(
            f"follow-up call {callback_id} was marked done already by {callback.done_by}, "
            f"outcome {callback.outcome}"
        )
    audit.append(
        session,
        callback.run_id,
        f"callback_done:{callback_id}",
        "callback_done",
        principal.name,
        {"callback_id": callback_id, "outcome": outcome, "note": masked},
    )
    return callback


def public(session: Session, callback: Callback) -> dict[str, Any]:
    """The call as every surface shows it: the client's name masked, what they accepted."""
    return public_many(session, [callback])[0]


def public_many(session: Session, found: Sequence[Callback]) -> list[dict[str, Any]]:
    """Calls as every surface shows them, read in two queries however many there are."""
    acceptance_ids = [c.acceptance_id for c in found]
    accepted = {
        a.id: a
        for a in session.exec(
            select(SpecialCareAcceptance).where(col(SpecialCareAcceptance.id).in_(acceptance_ids))
        )
    }
    run_ids = [c.run_id for c in found]
    names = {
        run_id: clients.shown_name(snapshot)
        for run_id, snapshot in session.exec(
            select(Run.id, col(Run.client_snapshot)).where(col(Run.id).in_(run_ids))
        )
    }
    return [_public(c, accepted[c.acceptance_id], names[c.run_id]) for c in found]


def _public(callback: Callback, acceptance: SpecialCareAcceptance, name: str) -> dict[str, Any]:
    return {
        "id": callback.id,
        "run_id": callback.run_id,
        "offer_run_id": acceptance.offer_run_id,
        "client_id": callback.client_id,
        "client_name": name,
        "advisor_id": callback.advisor_id,
        "offered": acceptance.offered,
        "accepted_at": as_utc(acceptance.accepted_at).isoformat(),
        "status": callback.status,
        "outcome": callback.outcome,
        "note": callback.note,
        "done_by": callback.done_by,
        "created_at": as_utc(callback.created_at).isoformat(),
        "done_at": as_utc(callback.done_at).isoformat() if callback.done_at else None,
    }
