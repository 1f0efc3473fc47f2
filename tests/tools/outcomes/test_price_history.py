"""An import that changes history says so (core/services/price_imports.py, credited by the
refresher in tools/outcomes/service.py): how many stored outcomes it changed and the largest
change, and the breaches that appear because of it carry its id."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from factories import long_tail_client
from outcomehelp import deliver_on, import_prices, put_prices
from sqlmodel import select

from core.database import session_scope
from core.services import outcomes, price_imports, prices
from core.services.price_imports import FIGURES
from core.tables import Outcome
from graphs.runner import Runner
from tools.outcomes import service

PAST = date(2023, 6, 30)
BAD = [{"date": "2025-09-01", "code": "510300", "close": 0.0045}]  # the true close is 4.499


@pytest.fixture
def book(runner: Runner) -> dict[str, str]:
    """Real prices, and two plans delivered on 2023-06-30 and measured: one for a client who
    accepts a 10% fall, one for a client who accepts 30%."""
    import_prices(runner)
    made = {
        "tight": deliver_on(
            runner,
            long_tail_client(client_id="C-10", max_drawdown_tolerance_pct=10, risk_level="C3"),
            PAST,
        ),
        "loose": deliver_on(
            runner,
            # Mid-tier, so the C5 plan holds R4/R5 (signed off by the advisor) and spreads its
            # equity; a long-tail C5 plan is capped at R3 by the special-care procedure.
            long_tail_client(
                client_id="C-30", max_drawdown_tolerance_pct=30, risk_level="C5", aum=1_000_000
            ),
            PAST,
        ),
    }
    service.refresh(runner.engine, runner.market)
    return made


def _outcomes(runner: Runner) -> dict[str, Outcome]:
    with session_scope(runner.engine) as session:
        return {row.run_id: row for row in session.exec(select(Outcome))}


def _record(runner: Runner, import_id: str) -> dict[str, Any]:
    with session_scope(runner.engine) as session:
        return price_imports.public(session, price_imports.get(session, import_id))


def _expected(before: dict[str, Outcome], after: dict[str, Outcome]) -> dict[str, Any]:
    """What the record should say, worked out from the stored rows themselves."""
    changed, moves = 0, []
    for run_id, old in before.items():
        new = after[run_id]
        pairs = [(name, getattr(old, c), getattr(new, c)) for name, c in FIGURES.items()]
        if any(a != b for _, a, b in pairs) or (old.breach, old.to_day) != (new.breach, new.to_day):
            changed += 1
        moves += [
            (abs(b - a), {"run_id": run_id, "figure": name, "before": a, "after": b})
            for name, a, b in pairs
            if a is not None and b is not None and a != b
        ]
    new_breaches = sum(1 for r, old in before.items() if after[r].breach and not old.breach)
    largest = max(moves, key=lambda m: m[0])[1] if moves else None
    return {"changed": changed, "new_breaches": new_breaches, "largest_change": largest}


def test_a_bad_close_says_what_it_changed_and_labels_the_breach_it_made(
    runner: Runner, book: dict[str, str]
) -> None:
    before = _outcomes(runner)
    assert not before[book["tight"]].breach
    bad = put_prices(runner, BAD, override="testing what a bad close does")
    waiting = _record(runner, bad["import_id"])
    assert waiting["outcomes"] == {
        "pending": 2,  # not measured again yet: nothing credited
        "changed": 0,
        "new_breaches": 0,
        "largest_change": None,
    }
    service.refresh(runner.engine, runner.market)
    after = _outcomes(runner)
    record = _record(runner, bad["import_id"])
    assert record["outcomes"] == {"pending": 0, **_expected(before, after)}
    assert record["outcomes"]["new_breaches"] == 1
    largest = record["outcomes"]["largest_change"]
    assert largest is not None and largest["run_id"] == book["tight"]
    assert after[book["tight"]].max_drawdown > after[book["tight"]].tolerance == 0.1
    with session_scope(runner.engine) as session:
        listed = [outcomes.breach_public(*pair) for pair in outcomes.breaches(session)]
    assert [(b["run_id"], b["price_import"]) for b in listed] == [(book["tight"], bad["import_id"])]


def test_a_breach_keeps_its_cause_and_a_correction_clears_it(
    runner: Runner, book: dict[str, str]
) -> None:
    bad = put_prices(runner, BAD, override="testing")
    service.refresh(runner.engine, runner.market)
    # a later import that leaves the breach in place does not take the credit for it
    put_prices(runner, [{"date": "2026-03-02", "code": "518880", "close": 11.0}])
    service.refresh(runner.engine, runner.market)
    assert _outcomes(runner)[book["tight"]].breach_import == bad["import_id"]
    # the true close again: no override needed (no move is past the bound), and it says so
    before = _outcomes(runner)
    fixed = put_prices(runner, [{**BAD[0], "close": 4.499}])
    assert (fixed["replaced"], fixed["overridden"]) == (1, 0)
    service.refresh(runner.engine, runner.market)
    after = _outcomes(runner)
    assert not after[book["tight"]].breach and after[book["tight"]].breach_import is None
    record = _record(runner, fixed["import_id"])
    assert record["outcomes"] == {"pending": 0, **_expected(before, after)}
    assert record["override"] is None and record["replaced"] == 1
    assert record["outcomes"]["changed"] >= 1 and record["outcomes"]["new_breaches"] == 0


def test_a_plan_first_measured_in_breach_has_no_import_to_blame(runner: Runner) -> None:
    import_prices(runner)
    hurt = deliver_on(runner, long_tail_client(client_id="C-0", max_drawdown_tolerance_pct=0), PAST)
    service.refresh(runner.engine, runner.market)
    row = _outcomes(runner)[hurt]
    assert row.breach and row.breach_import is None


def test_imports_landing_before_a_measure_credit_the_last_of_them(
    runner: Runner, book: dict[str, str]
) -> None:
    before = _outcomes(runner)
    first = put_prices(runner, BAD, override="testing")
    second = put_prices(runner, [{"date": "2026-03-02", "code": "518880", "close": 11.0}])
    service.refresh(runner.engine, runner.market)
    after = _outcomes(runner)
    assert _record(runner, second["import_id"])["outcomes"] == {
        "pending": 0,
        **_expected(before, after),
    }
    assert _record(runner, first["import_id"])["outcomes"] == {
        "pending": 0,
        "changed": 0,
        "new_breaches": 0,
        "largest_change": None,
    }
    assert after[book["tight"]].breach_import == second["import_id"]


GOLD = [{"date": "2026-03-02", "code": "518880", "close": 11.0}]  # moves no plan into breach


def test_an_import_landing_as_a_pass_begins_is_credited_with_what_its_prices_did(
    runner: Runner, book: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bad close lands after the refresher read the price mark and before it read the
    prices: the plans are measured on the bad close, so its import is credited with the breach
    and labels it, not the import before it (which had the breach for good)."""
    gold = put_prices(runner, GOLD)
    read = service.pricing
    landed: list[dict[str, Any]] = []

    def then_bad_lands(*args: Any) -> Any:
        if not landed:  # once, on another connection, as another process would
            landed.append(put_prices(runner, BAD, override="testing"))
        return read(*args)

    monkeypatch.setattr(service, "pricing", then_bad_lands)
    service.refresh(runner.engine, runner.market)
    bad = landed[0]
    after = _outcomes(runner)
    assert after[book["tight"]].breach and after[book["tight"]].breach_import == bad["import_id"]
    assert _record(runner, bad["import_id"])["outcomes"]["new_breaches"] == 1
    assert _record(runner, gold["import_id"])["outcomes"]["new_breaches"] == 0
    assert service.pending(runner.engine) == 0


def test_an_import_landing_between_pages_starts_the_pass_again_on_its_prices(
    runner: Runner, book: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page at a time: the bad close lands after the first page is saved. The next page
    sees the price mark move and the pass starts again on the new prices, so every outcome
    ends measured on them and the breach is labelled with the import that made it."""
    monkeypatch.setattr(service, "PAGE", 1)  # the book's two plans: two pages
    put_prices(runner, GOLD)
    landed: list[dict[str, Any]] = []

    def then_bad_lands(done: int, total: int) -> None:
        if not landed:
            landed.append(put_prices(runner, BAD, override="testing"))

    done = service.refresh(runner.engine, runner.market, on_page=then_bad_lands)
    bad = landed[0]
    assert (done.measured, done.pending) == (1 + 2, 0)  # the first page, then both again
    assert service.pending(runner.engine) == 0
    with session_scope(runner.engine) as session:
        version = prices.version(session)
    after = _outcomes(runner)
    assert {row.prices_version for row in after.values()} == {version}
    assert after[book["tight"]].breach_import == bad["import_id"]
    assert _record(runner, bad["import_id"])["outcomes"]["new_breaches"] == 1
