"""Calendar arithmetic the rules share: whole months, and when an assessment goes stale."""

from __future__ import annotations

from datetime import date


def months_between(earlier: date, later: date) -> int:
    """Whole calendar months from earlier to later."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def is_stale(assessed_on: date, as_of: date, valid_months: int) -> bool:
    """True once the assessment is older than valid_months (a day past the anniversary)."""
    if assessed_on > as_of:
        return True  # an assessment from after the advice cannot vouch for it: never fresh
    months = months_between(assessed_on, as_of)
    return months > valid_months or (months == valid_months and as_of.day != assessed_on.day)
