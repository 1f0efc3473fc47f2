"""The sanity gate of a price import (core/services/price_gate.py), met by the CLI and the API
alike through tools/outcomes/imports.py: daily moves against imported and stored neighbours, rows
far past the other shelf products' prices, only what an import changes judged, and real market
data let in (the override: test_price_override.py)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from outcomehelp import PRICES, import_csv
from sqlalchemy import Engine, delete, func
from sqlmodel import select

from core.database import get_engine, session_scope
from core.services import prices
from core.services.price_gate import ImplausiblePrices
from core.settings import PricePolicy, Settings
from core.tables import Price, PriceImport

LONG = "date,code,close\n"


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return get_engine(settings.database_url)


def refused(engine: Engine, text: str, known: frozenset[str], **kw: Any) -> list[str]:
    with pytest.raises(ImplausiblePrices) as caught:
        import_csv(engine, text, known, **kw)
    assert "--override REASON" in caught.value.detail
    return caught.value.problems


def close(engine: Engine, code: str, day: date) -> float | None:
    with session_scope(engine) as session:
        found = session.get(Price, (code, day))
        return found.close if found is not None else None


def imports_recorded(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(PriceImport)).one())


def test_the_issues_bad_close_between_stored_ones_is_refused_both_ways(
    real: Engine, shelf: frozenset[str]
) -> None:
    """A close of 0.0045 for 510300 on 2025-09-01 (the true close is about 4.5) is refused for
    the fall into it and the rise out of it, its line named, and nothing is stored."""
    true_close, recorded = close(real, "510300", date(2025, 9, 1)), imports_recorded(real)
    with session_scope(real) as session:
        version = prices.version(session)
    found = refused(real, LONG + "2025-09-01,510300,0.0045\n", shelf)
    assert found == [
        "line 2: 510300 moves -99.9% from 4.48453 on 2025-08-29 to 0.0045 on 2025-09-01; "
        "510300 moves +99,318.0% from 0.0045 on 2025-09-01 to 4.47381 on 2025-09-02, over the "
        "40% a day allowed"
    ]
    assert close(real, "510300", date(2025, 9, 1)) == true_close
    with session_scope(real) as session:
        assert prices.version(session) == version
    assert imports_recorded(real) == recorded


def test_moves_between_imported_rows_and_after_the_last_stored_close(
    engine: Engine, shelf: frozenset[str]
) -> None:
    text = LONG + "2024-01-02,510300,3.5\n2024-01-03,510300,35\n2024-01-04,510300,3.6\n"
    assert [p.split(":")[0] for p in refused(engine, text, shelf)] == ["line 3", "line 4"]
    import_csv(engine, LONG + "2024-01-02,510300,3.5\n2024-01-04,510300,3.6\n", shelf)
    # before the first stored close, and after the last: each move to a stored neighbour
    early = refused(engine, LONG + "2023-12-29,510300,1.0\n", shelf)
    assert early == [
        "line 2: 510300 moves +250.0% from 1 on 2023-12-29 to 3.5 on 2024-01-02, over the 40% "
        "a day allowed"
    ]
    late = refused(engine, LONG + "2024-01-05,510300,2.0\n", shelf)
    assert late[0].startswith("line 2: 510300 moves -44.4% from 3.6 on 2024-01-04 to 2 on")


def test_the_bound_is_the_setting_either_way(engine: Engine, shelf: frozenset[str]) -> None:
    policy = PricePolicy(max_daily_move=0.10)
    up, down = 3.5 * 1.1001, 3.5 * (1 - 0.1001)  # just past the bound, up and down
    for moved in (up, down):
        text = LONG + f"2024-01-02,510300,3.5\n2024-01-03,510300,{moved}\n"
        assert len(refused(engine, text, shelf, policy=policy)) == 1
    within = LONG + f"2024-01-02,510300,3.5\n2024-01-03,510300,{3.5 * 1.0999}\n"
    assert import_csv(engine, within, shelf, policy=policy)["changed"] == 2


def test_a_fall_is_refused_at_the_largest_bound_the_setting_takes(
    real: Engine, shelf: frozenset[str]
) -> None:
    """Up and down alike at any bound the settings accept: at 1 or more, the fall into a close
    of 0.004 was let in, and only the rise out of it named."""
    policy = PricePolicy(max_daily_move=0.999)
    found = refused(real, LONG + "2025-09-01,510300,0.004\n", shelf, policy=policy)
    assert found == [
        "line 2: 510300 moves -99.9% from 4.48453 on 2025-08-29 to 0.004 on 2025-09-01; "
        "510300 moves +111,745.2% from 0.004 on 2025-09-01 to 4.47381 on 2025-09-02, over the "
        "99.9% a day allowed"
    ]


def test_a_row_far_past_the_others_is_refused_and_one_within_the_setting_is_not(
    real: Engine, shelf: frozenset[str]
) -> None:
    """The issue's single row dated 2026-12-04, when every other price ends on 2026-02-26."""
    found = refused(real, LONG + "2026-12-04,510300,4.7\n", shelf)
    assert found == [
        "line 2: 510300 on 2026-12-04 is 281 days past 2026-02-26, the last day most other "
        "shelf products have prices on (10 days allowed)"
    ]
    allowed = PricePolicy().max_days_ahead
    last = date(2026, 2, 26)
    too_far = (last + timedelta(days=allowed + 1)).isoformat()
    assert refused(real, LONG + f"{too_far},510300,4.7\n", shelf)[0].startswith("line 2: 510300")
    within = (last + timedelta(days=allowed)).isoformat()
    assert import_csv(real, LONG + f"{within},510300,4.7\n", shelf)["changed"] == 1


def test_two_products_far_ahead_together_are_both_refused(
    real: Engine, shelf: frozenset[str]
) -> None:
    """Most of the other products count, not the furthest: two bad rows do not vouch for each
    other."""
    text = LONG + "2026-12-04,510300,4.7\n2026-12-04,510500,7.0\n"
    assert [p.split(":")[0] for p in refused(real, text, shelf)] == ["line 2", "line 3"]


def _restated(text: str, day: str, close: str) -> str:
    """The wide file with 510300's close on `day` (its first column) replaced."""
    return "".join(
        f"{day},{close},{line.split(',', 2)[2]}" if line.startswith(f"{day},") else line
        for line in text.splitlines(keepends=True)
    )


def test_only_what_an_import_changes_is_judged(real: Engine, shelf: frozenset[str]) -> None:
    """History holding a jump and a row far ahead, let in once by an override, is imported
    again without one: nothing in it changes, so nothing is judged (the gate judged every
    staged row, and refused such history every time). A close it changes is still judged
    against its neighbours, the stored jump among them."""
    history = (
        _restated(PRICES.read_text("utf-8"), "2025-09-01", "0.0045") + "2026-12-04,4.7,,,,,,\n"
    )
    first = import_csv(real, history, shelf, override="the exchange's own figures")
    assert (first["changed"], first["overridden"]) == (2, 2)
    again = import_csv(real, history, shelf)
    assert (again["changed"], again["replaced"], again["overridden"]) == (0, 0, 0)
    found = refused(real, _restated(history, "2025-09-02", "4.5"), shelf)
    assert [p.split(":")[0] for p in found] == ["line 1951"]
    assert "510300 moves +99,900.0% from 0.0045 on 2025-09-01 (line 1950) to 4.5 on" in found[0]


def test_a_whole_shelf_moving_on_together_is_not_ahead(real: Engine, shelf: frozenset[str]) -> None:
    with session_scope(real) as session:
        last = {code: rows[-1][1] for code, rows in prices.series(session, None).items()}
    day = (date(2026, 2, 26) + timedelta(days=40)).isoformat()
    text = LONG + "".join(f"{day},{code},{last[code]}\n" for code in sorted(last))
    assert import_csv(real, text, shelf)["changed"] == len(last)


def test_the_others_are_shelf_products_and_a_lone_first_import_has_none(
    real: Engine, engine: Engine, shelf: frozenset[str]
) -> None:
    """Products the shelf no longer carries do not hold the rest back; a product alone with
    prices has no others to be ahead of (the future-date check still applies to it)."""
    text = LONG + "2026-06-01,510300,4.7\n2026-06-01,510500,7.0\n"
    assert len(refused(real, text, shelf)) == 2  # four stored products end on 2026-02-26
    assert import_csv(real, text, frozenset({"510300", "510500"}))["changed"] == 2
    with session_scope(engine) as session:
        session.execute(delete(Price))
    alone = LONG + "2024-01-02,510300,3.5\n2026-12-04,510300,3.6\n"
    assert import_csv(engine, alone, shelf)["changed"] == 2


@pytest.mark.parametrize(
    "name",
    [
        "allweather_us_etf_prices.csv",
        "pypfopt_spy_prices.csv",
        "riskfolio_stock_prices.csv",
        "riskfolio_assets_mixed.csv",
        "skfolio_factors_dataset.csv",
        "skfolio_sp500_index.csv",
    ],
)
def test_real_funds_and_indices_pass_without_an_override(
    name: str, engine: Engine, shared_data: Path
) -> None:
    """The shared price files of funds and indices, with their columns as the shelf."""
    text = (shared_data / name).read_text("utf-8")
    columns = frozenset(c.strip() for c in text.splitlines()[0].split(",")[1:])
    stored = import_csv(engine, text, columns)
    assert stored["rows"] == stored["changed"] > 1000


def test_real_single_stocks_are_refused_on_their_days_past_the_bound(
    engine: Engine, shared_data: Path
) -> None:
    """The default fits a fund shelf: single stocks do move more than 40% in a day, and the
    gate names exactly the lines pandas finds such a move on (blank days skipped)."""
    path = shared_data / "skfolio_sp500_dataset.csv"
    frame = pd.read_csv(path, index_col=0)
    bound = PricePolicy().max_daily_move
    flagged: set[int] = set()
    for column in frame:
        series = frame[column].dropna()
        moved = (series / series.shift() - 1).abs() > bound
        flagged |= {frame.index.get_loc(day) + 2 for day in series.index[moved]}
    assert flagged  # RRC, AMD and AAPL have such days
    with pytest.raises(ImplausiblePrices) as caught:
        import_csv(engine, path.read_text("utf-8"), frozenset(frame.columns))
    assert {int(p.split(":")[0].removeprefix("line ")) for p in caught.value.problems} == flagged
    assert caught.value.total == len(flagged)


def test_the_gate_is_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWISE_PRICES__MAX_DAILY_MOVE", "0.25")
    monkeypatch.setenv("TIERWISE_PRICES__MAX_DAYS_AHEAD", "5")
    assert Settings().prices == PricePolicy(max_daily_move=0.25, max_days_ahead=5)
    for name, value in (
        ("MAX_DAILY_MOVE", "0"),
        ("MAX_DAILY_MOVE", "-1"),
        ("MAX_DAILY_MOVE", "1"),  # no fall passes 100%: from 1 on, none would be refused
        ("MAX_DAILY_MOVE", "10"),
        ("MAX_DAYS_AHEAD", "-1"),
    ):
        monkeypatch.setenv(f"TIERWISE_PRICES__{name}", value)
        with pytest.raises(ValueError, match=name.lower()):
            Settings()
        monkeypatch.delenv(f"TIERWISE_PRICES__{name}")
