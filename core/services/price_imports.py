"""Price imports as records: who stored what, with what override, and what it changed in the
stored outcomes once they were measured again on its prices (README "Service effect").

Each stored import is also an event on the audit trail's `prices` chain (the per-run chains'
keyed hashes, with no run), carrying the override's reason (personal data masked) and the lines
it let through: kind `prices_overridden` when it let some in, otherwise `prices_imported`. The
outcome changes are credited by the refresher (tools/outcomes/service.py) to the import that
made the price mark the outcomes were measured on: when several imports land before the stored
outcomes are measured again, the last of them is credited with what all of them changed.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.errors import InvalidInput, NotFound
from core.masking import mask_text
from core.masking_read import normalise
from core.services import audit, outcomes
from core.tables import REASON_LENGTH, Outcome, PriceImport

AUDIT_CHAIN = "prices"  # the audit trail's chain of price imports
LINES_KEPT = 50  # overridden lines named in the record; `overridden` counts them all
# The stored figures an outcome change is judged on, by their names in the public outcome.
FIGURES = {
    "return": "plan_return",
    "volatility": "plan_volatility",
    "max_drawdown": "max_drawdown",
    "excess_vs_holdings": "excess_vs_holdings",
    "excess_vs_equal_weight": "excess_vs_equal_weight",
    "coverage": "coverage",
}


class PriceImportNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Change:
    """One stored outcome measured again: whether its figures or its breach changed, and its
    largest change of one figure (None when none had a value before and after)."""

    run_id: str
    changed: bool
    new_breach: bool
    figure: str | None = None
    before: float | None = None
    after: float | None = None

    @property
    def size(self) -> float:
        if self.before is None or self.after is None:
            return 0.0
        return abs(self.after - self.before)


def override_reason(raw: str | None) -> str | None:
    """The reason an import is overridden for, as recorded and audited: stripped, personal
    data masked (the audit trail keeps it for good); InvalidInput names what is wrong with it.
    Every caller meets it before a line is staged."""
    if raw is None:
        return None
    reason = raw.strip()
    if not normalise(reason)[0].strip():
        raise InvalidInput(
            "the override's reason is blank (invisible characters left out): say why the "
            "prices the sanity gate refuses are right"
        )
    # No use in a reason but tabs and line breaks, and PostgreSQL refuses NUL in text.
    control = next(
        (c for c in reason if unicodedata.category(c) == "Cc" and c not in "\t\n\r"), None
    )
    if control is not None:
        raise InvalidInput(f"the override's reason has a control character (U+{ord(control):04X})")
    if len(reason) > REASON_LENGTH:
        raise InvalidInput(
            f"the override's reason is {len(reason)} characters; at most {REASON_LENGTH}"
        )
    masked = mask_text(reason)
    if len(masked) > REASON_LENGTH:  # a masked card or address can be longer than the original
        raise InvalidInput(
            f"the override's reason is {len(masked)} characters once the personal data in it "
            f"is masked; at most {REASON_LENGTH}"
        )
    return masked


def record(
    session: Session,
    *,
    actor: str,
    stored: dict[str, Any],
    reason: str | None,
    refused: tuple[list[str], int],
    version: int | None,
) -> PriceImport:
    """Record a stored import (`reason` as override_reason gives it; `refused`: the lines the
    sanity gate refused that it let in, the first of them named, and how many) and append it
    to the audit trail's `prices` chain: as an override only if it let a refused line in."""
    lines, overridden = refused
    entry = PriceImport(
        id=f"imp-{uuid.uuid4().hex[:20]}",
        actor=actor,
        rows=stored["rows"],
        codes=stored["codes"],
        from_day=stored["from"],
        to_day=stored["to"],
        changed=stored["changed"],
        replaced=stored["replaced"],
        skipped=stored["skipped"],
        override_reason=reason,
        overridden=overridden,
        overridden_lines=lines[:LINES_KEPT],
        version=version,
    )
    session.add(entry)
    session.flush()
    kind = "prices_overridden" if overridden else "prices_imported"
    audit.append(session, AUDIT_CHAIN, f"import:{entry.id}", kind, actor, _described(entry))
    return entry


def get(session: Session, import_id: str) -> PriceImport:
    found = session.get(PriceImport, import_id)
    if found is None:
        raise PriceImportNotFound(f"no price import {import_id!r}")
    return found


def for_version(session: Session, version: int) -> str | None:
    """The import that made this price mark, if one did (and was recorded)."""
    query = select(col(PriceImport.id)).where(col(PriceImport.version) == version)
    return session.exec(query).first()


def change(previous: Outcome, row: dict[str, Any]) -> Change:
    """How a stored outcome's figures moved when it was measured again (`row`, as saved)."""
    pairs = [(name, getattr(previous, column), row[column]) for name, column in FIGURES.items()]
    differs = (
        previous.breach != row["breach"]
        or previous.to_day != row["to_day"]
        or any(before != after for _, before, after in pairs)
    )
    moves = [
        (abs(after - before), name, before, after)
        for name, before, after in pairs
        if before is not None and after is not None and before != after
    ]
    new_breach = row["breach"] and not previous.breach
    if not moves:
        return Change(previous.run_id, differs, new_breach)
    _, figure, before, after = max(moves)
    return Change(previous.run_id, differs, new_breach, figure, before, after)


def credit(session: Session, import_id: str, changes: Sequence[Change]) -> None:
    """Add what a page of outcomes measured again on the import's prices changed."""
    changed = [c for c in changes if c.changed]
    if not changed:
        return
    best = get(session, import_id).largest_change
    largest = max(changed, key=lambda c: c.size)
    if largest.figure is not None and largest.size > _size(best):
        best = {
            "run_id": largest.run_id,
            "figure": largest.figure,
            "before": largest.before,
            "after": largest.after,
        }
    session.execute(  # one refresher at a time (its lease): no other writer of these
        update(PriceImport)
        .where(col(PriceImport.id) == import_id)
        .values(
            outcomes_changed=PriceImport.outcomes_changed + len(changed),
            new_breaches=PriceImport.new_breaches + sum(c.new_breach for c in changed),
            largest_change=best,
        )
    )


def _size(largest: dict[str, Any] | None) -> float:
    return -1.0 if largest is None else abs(largest["after"] - largest["before"])


def _described(entry: PriceImport) -> dict[str, Any]:
    """What was imported, by whom, and any override: as audited, and as shown."""
    return {
        "id": entry.id,
        "actor": entry.actor,
        "at": entry.created_at.isoformat(),
        "rows": entry.rows,
        "codes": entry.codes,
        "from": entry.from_day.isoformat(),
        "to": entry.to_day.isoformat(),
        "changed": entry.changed,
        "replaced": entry.replaced,
        "skipped": entry.skipped,
        "override": None
        if entry.override_reason is None
        else {
            "reason": entry.override_reason,
            "needed": entry.overridden > 0,  # false: the gate refused nothing it had to let in
            "overridden": entry.overridden,
            "overridden_lines": entry.overridden_lines,
        },
    }


def public(session: Session, entry: PriceImport) -> dict[str, Any]:
    """An import as the API and the CLI show it, with what it changed in the stored outcomes
    and how many delivered plans are still to be measured on its prices (or later ones)."""
    pending = 0 if entry.version is None else outcomes.stale_count(session, entry.version)
    return {
        **_described(entry),
        "outcomes": {
            "pending": pending,
            "changed": entry.outcomes_changed,
            "new_breaches": entry.new_breaches,
            "largest_change": entry.largest_change,
        },
    }
