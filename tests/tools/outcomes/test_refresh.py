"""Keeping stored outcomes current: one refresher at a time, readers that never wait on a
large re-measurement, and imports that never half-happen or collide."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from factories import long_tail_client
from outcomehelp import deliver_on, import_prices, put_prices
from sqlalchemy import update
from sqlmodel import col, func, select

from core.database import session_scope
from core.errors import InvalidInput
from core.services import outcomes, prices
from core.tables import Outcome, PriceMark, utcnow
from graphs.runner import Runner
from tools.outcomes import service

PAST = date(2023, 6, 30)


@pytest.fixture
def delivered(runner: Runner) -> list[str]:
    import_prices(runner)
    return [
        deliver_on(runner, long_tail_client(client_id=f"C-R{n}"), PAST + timedelta(days=n))
        for n in range(3)
    ]


def _stored(runner: Runner) -> int:
    with session_scope(runner.engine) as session:
        return int(session.exec(select(func.count()).select_from(Outcome)).one())


def test_refresh_measures_every_delivered_plan_once(runner: Runner, delivered: list[str]) -> None:
    assert service.pending(runner.engine) == 3
    done = service.refresh(runner.engine, runner.market)
    assert (done.measured, done.pending, done.busy) == (3, 0, False)
    assert _stored(runner) == 3
    again = service.refresh(runner.engine, runner.market)
    assert (again.measured, again.pending) == (0, 0)


def test_a_reader_leaves_a_large_remeasurement_to_the_background(
    runner: Runner, delivered: list[str]
) -> None:
    read = service.refresh(runner.engine, runner.market, inline_limit=2)
    assert (read.measured, read.pending) == (0, 3) and _stored(runner) == 0
    small = service.refresh(runner.engine, runner.market, inline_limit=3)
    assert (small.measured, small.pending) == (3, 0)


def test_one_refresher_at_a_time_and_a_lapsed_lease_is_taken_over(
    runner: Runner, delivered: list[str]
) -> None:
    with session_scope(runner.engine) as session:
        assert outcomes.take_refresh(session, "other-host:1", 60)
    busy = service.refresh(runner.engine, runner.market)
    assert busy.busy and busy.measured == 0 and busy.pending == 3
    with session_scope(runner.engine) as session:  # the holder died: its lease lapses
        session.execute(update(PriceMark).values(refresh_until=utcnow() - timedelta(seconds=1)))
    taken = service.refresh(runner.engine, runner.market)
    assert taken.measured == 3 and not taken.busy
    with session_scope(runner.engine) as session:
        mark = session.get_one(PriceMark, 1)
        assert mark.refresh_owner is None  # given back when done


def test_refresh_stops_between_pages_when_asked(
    runner: Runner, delivered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "PAGE", 1)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    done = service.refresh(runner.engine, runner.market, stop=stop)
    assert done.measured == 2 and done.pending == 1
    rest = service.refresh(runner.engine, runner.market)
    assert rest.measured == 1  # the keyset carries on from where it stopped


def test_new_prices_make_every_outcome_stale_and_it_is_measured_again(
    runner: Runner, delivered: list[str]
) -> None:
    service.refresh(runner.engine, runner.market)
    put_prices(runner, [{"date": "2026-03-02", "code": "510300", "close": 4.0}])
    assert service.pending(runner.engine) == 3
    assert service.refresh(runner.engine, runner.market).measured == 3
    with session_scope(runner.engine) as session:
        versions = set(session.exec(select(col(Outcome.prices_version))).all())
        assert versions == {prices.version(session)}


def test_a_product_taken_off_the_shelf_is_still_priced(
    runner: Runner, delivered: list[str]
) -> None:
    """Survivorship in products: a plan holding a product the shelf has since dropped is still
    measured on that product's stored prices, not reweighted without it."""
    with session_scope(runner.engine) as session:
        from core.services import runs

        held = set(
            h["product_code"]
            for h in runs.get(session, delivered[0]).plan["holdings"]  # type: ignore[index]
        )
    priced = held & {"510300", "511260", "518880", "510500"}
    assert priced, held
    dropped = sorted(priced)[0]
    smaller = dataclasses.replace(
        runner.market, shelf=tuple(p for p in runner.market.shelf if p.code != dropped)
    )
    service.refresh(runner.engine, smaller)
    with session_scope(runner.engine) as session:
        figures = session.get_one(Outcome, delivered[0]).figures
    assert dropped in figures["plan"]["priced"]


def test_two_first_imports_at_once_both_land(runner: Runner) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def load(code: str) -> None:
        try:
            rows = [
                {"date": f"2024-01-{d:02d}", "code": code, "close": 1.0 + d} for d in range(2, 30)
            ]
            barrier.wait()
            put_prices(runner, rows)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(code,)) for code in ("510300", "518880")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(runner.engine) as session:
        assert prices.version(session) == 2
        assert {s["code"] for s in prices.summary(session)} == {"510300", "518880"}


def test_a_price_dated_after_today_is_refused(runner: Runner) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    with pytest.raises(InvalidInput, match="is in the future"):
        put_prices(runner, [{"date": tomorrow, "code": "510300", "close": 4.0}])
    with pytest.raises(InvalidInput, match="out of range"):
        put_prices(runner, [{"date": "2024-01-02", "code": "510300", "close": 1e-320}])


def test_the_inline_limit_is_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings

    monkeypatch.setenv("TIERWISE_OUTCOME_REFRESH_INLINE", "7")
    assert Settings().outcome_refresh_inline == 7
    monkeypatch.setenv("TIERWISE_OUTCOME_REFRESH_INLINE", "-1")
    with pytest.raises(ValueError, match="outcome_refresh_inline"):
        Settings()


def test_the_cash_yield_is_the_shipped_assumptions_stated_rate(runner: Runner) -> None:
    with session_scope(runner.engine) as session:
        used = service.pricing(session, runner.market, set())
    cash = next(a for a in runner.market.cma.asset_classes if a.id == "cash")
    assert used.cash_rate == cash.expected_return == 0.018  # the README's 1.8% a year
    assert cash.basis == "stated" and "stated" in used.cash_basis
    assert {"511990", "511880", "TW-MM-01", "TW-MM-02", "cash"} <= used.cash_codes


def test_a_file_that_is_not_csv_is_named_not_a_crash(runner: Runner, tmp_path: Path) -> None:
    swallowed = tmp_path / "prices.csv"
    swallowed.write_text('date,code,close\n2024-01-02,510300,"3.5\n' + "x" * 200_000 + "\n")
    with pytest.raises(InvalidInput, match=r"line \d+: not CSV"):
        import_prices(runner, swallowed)


def test_a_figure_for_a_client_needs_six_months_whoever_asks(
    runner: Runner, delivered: list[str]
) -> None:
    """The display rule lives in the service: every caller asking for a client's figure meets
    it, whatever it asks through."""
    from core.errors import NotMeasurable
    from core.services import runs

    with session_scope(runner.engine) as session:
        run = runs.get(session, delivered[0])
        short = service.measure(session, run, runner.market, to=date(2023, 11, 30))
        assert not short["client_facing"]
        with pytest.raises(NotMeasurable, match="under six months"):
            service.measure(session, run, runner.market, to=date(2023, 11, 30), for_client=True)
        shown = service.measure(session, run, runner.market, to=date(2024, 1, 5), for_client=True)
        assert shown["client_facing"] and not shown["annualised"]
