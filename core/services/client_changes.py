"""Whether a plan may still reach its client: the client's record now against the run's snapshot.

A plan is drafted for the client as they were when the run started. Before it is approved, and
again at the door, the current record must still be that client (DESIGN §3; CN-MIS-08, CN-C-04):
any change to the contact-free record is material, and an assessment that has expired by the
decision date is too. Contact details are not: they never enter a plan.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from core.calendar import is_stale
from core.errors import ClientChanged
from core.tables import Approval, Client, Run

# The fields worth naming one by one; any other change is named by its field.
_NAMED = {
    ("risk_assessment", "level"): "risk level",
    ("risk_assessment", "lowest_category"): "lowest category",
    ("risk_assessment", "assessed_on"): "assessment date",
    ("advisor_id",): "advisor",
}


def _facts(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "contact"}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two client records, ignoring contact details, for a person."""
    old, new = _facts(before), _facts(after)
    found = []
    for path, label in _NAMED.items():
        was, now = _at(old, path), _at(new, path)
        if was != now:
            found.append(f"{label} {was} → {now}")
    described = {path[0] for path in _NAMED}  # risk_assessment has only the named fields
    for key in sorted(set(old) | set(new)):
        if key not in described and old.get(key) != new.get(key):
            found.append(f"{key} changed")
    return found


def _at(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def blockers(session: Session, run: Run, on: date, valid_months: int) -> list[str]:
    """Why the run's plan may not be approved or delivered on `on`; empty when it may.

    A run started from a client file (the CLI, evals) has no stored record: its snapshot is the
    record. Stored clients are never deleted, so a stored client cannot go missing.
    """
    stored = session.get(Client, run.client_id)
    current = stored.data if stored is not None else run.client_snapshot
    if _claimant_took_over(session, run, current):
        current = {**current, "advisor_id": None}
    found = differences(run.client_snapshot, current)
    assessed_on = date.fromisoformat(current["risk_assessment"]["assessed_on"])
    if is_stale(assessed_on, on, valid_months):
        found.append(
            f"the risk assessment of {assessed_on.isoformat()} is not valid on "
            f"{on.isoformat()} (older than {valid_months} months, or later than that day)"
        )
    return found


def _claimant_took_over(session: Session, run: Run, current: dict[str, Any]) -> bool:
    """A client with no advisor whose review an on-duty advisor claimed, and who became their
    advisor of record by that claim (settings.duty): not a change to the client the plan was
    drafted for, but the claim the plan waited for."""
    if run.client_snapshot.get("advisor_id") is not None or current.get("advisor_id") is None:
        return False
    claimant = session.exec(
        select(Approval.claimed_by).where(
            col(Approval.run_id) == run.id, col(Approval.claimed_by).is_not(None)
        )
    ).first()
    return claimant is not None and claimant == current["advisor_id"]


def ensure_current(session: Session, run: Run, on: date, valid_months: int) -> None:
    """Refuse a plan drafted for a client who has since changed, or whose assessment expired."""
    found = blockers(session, run, on, valid_months)
    if found:
        raise ClientChanged(
            f"the client's record changed since this plan was drafted: {'; '.join(found)}. "
            "It cannot be approved or delivered as it stands: reject it and start a new run."
        )
