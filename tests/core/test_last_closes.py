"""The last stored close of a product on or before a day: what a plan buys exchange lots at."""

from __future__ import annotations

from datetime import date

import pytest
from outcomehelp import import_csv
from sqlalchemy import Engine

from core.database import get_engine, session_scope
from core.services import prices
from core.settings import Settings

ROWS = """date,code,close
2024-01-02,510300,3.50
2024-01-02,518880,4.80
2024-01-02,511260,101.25
2024-01-10,510300,3.55
2024-01-10,518880,4.85
2024-01-17,510300,3.60
2024-01-17,518880,4.90
"""


@pytest.fixture
def stored(settings: Settings, shelf: frozenset[str]) -> Engine:
    engine = get_engine(settings.database_url)
    import_csv(engine, ROWS, shelf, override="a bond fund priced only once, on purpose")
    return engine


def closes(engine: Engine, codes: list[str], on: date) -> dict[str, float]:
    with session_scope(engine) as session:
        return prices.last_closes(session, codes, on)


def test_the_last_close_on_or_before_the_day(stored: Engine) -> None:
    codes = ["510300", "518880", "511260", "159919"]
    # 511260: 14 days old on the 16th, too stale to buy at; 159919: never stored.
    assert closes(stored, codes, date(2024, 1, 16)) == {"510300": 3.55, "518880": 4.85}
    assert closes(stored, codes, date(2024, 1, 17)) == {"510300": 3.60, "518880": 4.90}
    assert closes(stored, codes, date(2024, 1, 12)) == {
        "510300": 3.55, "518880": 4.85, "511260": 101.25,  # ten days old: still a price
    }  # fmt: skip
    assert closes(stored, ["510300"], date(2024, 1, 28)) == {}  # eleven days: stale


def test_no_codes_and_no_prices_give_no_closes(stored: Engine) -> None:
    assert closes(stored, [], date(2024, 1, 17)) == {}
    assert closes(stored, ["510300"], date(2023, 12, 31)) == {}
