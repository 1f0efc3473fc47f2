"""The audit trail: an append-only, per-run HMAC chain with a keyed head and the delivered text."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event as orm_events
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from core.settings import get_settings
from core.tables import AuditEvent, AuditHead, Delivery, Run, utcnow

GENESIS = "0" * 64
APPEND_ATTEMPTS = 10
_HEADS = "tierwise.audit.heads"  # session.info: (transaction, {run_id: (next seq, last hash)})
Break = tuple[int | None, str]  # (the seq where the trail breaks, if one event; why)

_key: bytes | None = None


def configure(key: SecretStr | str) -> None:
    """Key the chains this process writes and checks; open_runner passes the settings' key."""
    global _key
    secret = key.get_secret_value() if isinstance(key, SecretStr) else key
    _key = secret.encode("utf-8")


def current_key() -> bytes:
    """The configured key, or the process settings' key when no runner has configured one."""
    if _key is not None:
        return _key
    return get_settings().audit_key.get_secret_value().encode("utf-8")


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical(event: AuditEvent) -> str:
    """An event's content and the hash before it, serialised as the chain seals it."""
    body = {
        "run_id": event.run_id,
        "seq": event.seq,
        "key": event.key,
        "kind": event.kind,
        "actor": event.actor,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "created_at": event.created_at,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event: AuditEvent, key: bytes | None = None) -> str:
    """The HMAC of an event's content and the hash before it."""
    return _mac(current_key() if key is None else key, canonical(event))


def head_mac(run_id: str, length: int, head_hash: str, key: bytes | None = None) -> str:
    """The HMAC that binds a run's recorded chain length to its last hash."""
    return _mac(current_key() if key is None else key, f"head|{run_id}|{length}|{head_hash}")


def text_hash(text: str) -> str:
    """The SHA-256 of a delivered text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_hash(document: dict[str, Any] | None) -> str | None:
    """The SHA-256 of a delivered letter's sections, as canonical JSON; None without one."""
    if document is None:
        return None
    body = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def delivered_payload(
    *,
    plan_hash: str,
    text: str,
    channel: str,
    approved_by: str | None,
    document: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the delivered event vouches for: the plan, the exact text, its channel and approver,
    and the signed letter's sections where the delivery stores them."""
    payload = {
        "plan_hash": plan_hash,
        "text_hash": text_hash(text),
        "channel": channel,
        "approved_by": approved_by,
    }
    if document is not None:
        payload["document_hash"] = document_hash(document)
    return payload


def events(session: Session, run_id: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.run_id == run_id).order_by(col(AuditEvent.seq))
    return list(session.exec(query))


def _valid_head(head: AuditHead, key: bytes) -> bool:
    return hmac.compare_digest(head.mac, head_mac(head.run_id, head.length, head.head_hash, key))


def _known_heads(session: Session) -> dict[str, tuple[int, str]]:
    """Heads this transaction has written, so a second append need not read the head again:
    the first one locked it (or, on SQLite, the database) until the transaction ends."""
    transaction = session.get_transaction()
    held = session.info.get(_HEADS)
    if held is None or held[0] is not transaction:
        held = session.info[_HEADS] = (transaction, {})
    heads: dict[str, tuple[int, str]] = held[1]
    return heads


@orm_events.listens_for(OrmSession, "after_soft_rollback")
def _forget_heads(session: OrmSession, _previous: object) -> None:
    """Any rollback, a savepoint's included, may have undone an append: read heads again."""
    session.info.pop(_HEADS, None)


def _position(session: Session, run_id: str, key: bytes) -> tuple[int, str, bool]:
    """The next seq, the hash before it, and whether this append may write the head.

    A valid head decides, so an append after a truncated tail leaves a gap instead of hiding it.
    A missing or forged head while events exist is evidence: the chain goes on, the head stays.
    """
    known = _known_heads(session).get(run_id)
    if known is not None:
        return known[0], known[1], True
    # Locking the head (PostgreSQL; SQLite locks the whole database) queues writers to one run
    # in turn: with the constraint alone, a writer in a tight loop can starve another's retries.
    head = session.get(AuditHead, run_id, populate_existing=True, with_for_update=True)
    if head is not None and _valid_head(head, key):
        return head.length, head.head_hash, True
    last = session.exec(
        select(AuditEvent).where(AuditEvent.run_id == run_id).order_by(col(AuditEvent.seq).desc())
    ).first()
    if last is None:
        return 0, GENESIS, head is None
    return last.seq + 1, last.hash, False


def _advance_head(session: Session, event: AuditEvent, key: bytes) -> None:
    head = session.get(AuditHead, event.run_id) or AuditHead(
        run_id=event.run_id, length=0, head_hash=GENESIS, mac=""
    )
    head.length, head.head_hash = event.seq + 1, event.hash
    head.mac = head_mac(event.run_id, head.length, head.head_hash, key)
    session.add(head)


def append(
    session: Session, run_id: str, key: str, kind: str, actor: str, payload: dict[str, Any]
) -> AuditEvent:
    """Add an event once: a second append with the same key returns the first.

    Writers in other processes may append to the same run at the same moment: they queue on
    the run's head where the database locks rows, and otherwise the unique (run_id, seq)
    constraint refuses the loser, which re-reads and tries again. The event and the run's head
    land in one savepoint, so they never disagree.
    """
    secret = current_key()
    for _ in range(APPEND_ATTEMPTS):
        existing = session.exec(
            select(AuditEvent).where(AuditEvent.run_id == run_id, AuditEvent.key == key)
        ).first()
        if existing is not None:
            return existing
        seq, prev_hash, advance = _position(session, run_id, secret)
        event = AuditEvent(
            run_id=run_id,
            seq=seq,
            key=key,
            kind=kind,
            actor=actor,
            payload=payload,
            prev_hash=prev_hash,
            hash="",
            created_at=utcnow().isoformat(),
        )
        event.hash = event_hash(event, secret)
        try:
            with session.begin_nested():
                session.add(event)
                session.flush()  # the event first: its (run_id, seq) constraint picks the winner
                if advance:
                    _advance_head(session, event, secret)
        except IntegrityError:
            _known_heads(session).pop(run_id, None)
            continue
        if advance:
            _known_heads(session)[run_id] = (event.seq + 1, event.hash)
        return event
    raise RuntimeError(f"audit chain of {run_id} stayed contended after {APPEND_ATTEMPTS} tries")


@dataclass(frozen=True)
class Verification:
    """Whether a run's trail holds; if not, where (an event's seq, when one) and why."""

    verified: bool
    events: int
    broken_at: int | None
    reason: str | None = None
    length: int | None = None  # the length the run's head records


def _check_links(chain: list[AuditEvent], key: bytes) -> Break | None:
    prev = GENESIS
    for i, event in enumerate(chain):
        if event.seq != i:
            return i, f"event {i} is missing"
        if event.prev_hash != prev:
            return event.seq, f"event {event.seq} does not link to the event before it"
        if not hmac.compare_digest(event_hash(event, key), event.hash):
            return event.seq, f"event {event.seq} does not match its keyed hash"
        prev = event.hash
    return None


def _check_head(
    session: Session, run_id: str, chain: list[AuditEvent], head: AuditHead | None, key: bytes
) -> Break | None:
    if head is None:
        if chain or session.get(Run, run_id) is not None:
            return None, "the run's head is missing"
        return None
    if not _valid_head(head, key):
        return None, "the run's head does not match its keyed mac"
    if head.length != len(chain) or head.head_hash != (chain[-1].hash if chain else GENESIS):
        return len(chain), f"the head records {head.length} events; the trail holds {len(chain)}"
    return None


def _check_delivery(session: Session, run_id: str, chain: list[AuditEvent]) -> Break | None:
    delivery = session.exec(select(Delivery).where(Delivery.run_id == run_id)).first()
    delivered = next((e for e in chain if e.kind == "delivered"), None)
    if delivered is None:
        return None if delivery is None else (None, "a delivery has no delivered event")
    if delivery is None:
        return delivered.seq, "the delivered event has no delivery"
    actual = delivered_payload(
        plan_hash=delivery.plan_hash,
        text=delivery.text,
        channel=delivery.channel,
        approved_by=delivery.approved_by,
        document=delivery.document,
    )
    # A document added to, or dropped from, a delivery shows too: the key is always compared.
    fields = dict.fromkeys([*actual, "document_hash"])
    changed = [f for f in fields if delivered.payload.get(f) != actual.get(f)]
    if changed:
        return delivered.seq, f"the delivery's {', '.join(changed)} differ from the delivered event"
    return None


def verify(session: Session, run_id: str) -> Verification:
    """Check each link and keyed hash, the run's keyed head, and the delivery the trail vouches."""
    key = current_key()
    chain = events(session, run_id)
    head = session.get(AuditHead, run_id, populate_existing=True)
    broken = (
        _check_links(chain, key)
        or _check_head(session, run_id, chain, head, key)
        or _check_delivery(session, run_id, chain)
    )
    length = head.length if head is not None else None
    if broken is not None:
        return Verification(False, len(chain), broken[0], broken[1], length)
    return Verification(True, len(chain), None, None, length)
