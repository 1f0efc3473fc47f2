"""The audit trail: an append-only, per-run SHA-256 hash chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.tables import AuditEvent, utcnow

GENESIS = "0" * 64
APPEND_ATTEMPTS = 10


def event_hash(event: AuditEvent) -> str:
    """The hash of an event's content and the hash before it."""
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
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def events(session: Session, run_id: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.run_id == run_id).order_by(col(AuditEvent.seq))
    return list(session.exec(query))


def append(
    session: Session, run_id: str, key: str, kind: str, actor: str, payload: dict[str, Any]
) -> AuditEvent:
    """Add an event once: a second append with the same key returns the first.

    Writers in other processes may append to the same run at the same moment; the unique
    (run_id, seq) constraint refuses the loser, which re-reads the chain and tries again.
    """
    for _ in range(APPEND_ATTEMPTS):
        existing = session.exec(
            select(AuditEvent).where(AuditEvent.run_id == run_id, AuditEvent.key == key)
        ).first()
        if existing is not None:
            return existing
        last = session.exec(
            select(AuditEvent)
            .where(AuditEvent.run_id == run_id)
            .order_by(col(AuditEvent.seq).desc())
        ).first()
        event = AuditEvent(
            run_id=run_id,
            seq=(last.seq + 1) if last else 0,
            key=key,
            kind=kind,
            actor=actor,
            payload=payload,
            prev_hash=last.hash if last else GENESIS,
            hash="",
            created_at=utcnow().isoformat(),
        )
        event.hash = event_hash(event)
        try:
            with session.begin_nested():
                session.add(event)
            return event
        except IntegrityError:
            continue
    raise RuntimeError(f"audit chain of {run_id} stayed contended after {APPEND_ATTEMPTS} tries")


@dataclass(frozen=True)
class Verification:
    verified: bool
    events: int
    broken_at: int | None


def verify(session: Session, run_id: str) -> Verification:
    """Recompute the chain; the first event whose hash or link does not match breaks it."""
    prev = GENESIS
    chain = events(session, run_id)
    for i, event in enumerate(chain):
        if event.seq != i or event.prev_hash != prev or event_hash(event) != event.hash:
            return Verification(False, len(chain), event.seq)
        prev = event.hash
    return Verification(True, len(chain), None)
