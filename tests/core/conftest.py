"""Fixtures of the price tests: the shelf's codes, and the shared price file stored."""

from __future__ import annotations

import pytest
from outcomehelp import PRICES, import_csv
from sqlalchemy import Engine

from core.database import get_engine
from core.settings import Settings
from tools.market.market_data import MarketData


@pytest.fixture
def shelf(market: MarketData) -> frozenset[str]:
    """The shelf's codes, as the CLI and the API pass them."""
    return frozenset(market.products)


@pytest.fixture
def real(settings: Settings, shelf: frozenset[str]) -> Engine:
    """The shared 7-ETF file stored (its six shelf products end on 2026-02-26)."""
    engine = get_engine(settings.database_url)
    import_csv(engine, PRICES.read_text("utf-8"), shelf)
    return engine
