"""A price import at scale (tools/outcomes/imports.py): read a chunk at a time, other writers
getting the database while it is staged and checked, all or nothing whatever fails, nothing
staged left behind, and judged again when another import lands before its swap."""

from __future__ import annotations

import io
import sqlite3
from datetime import date
from typing import Any

import psycopg
import pytest
from outcomehelp import PRICES, import_csv
from sqlalchemy import Engine, event, text
from sqlmodel import select

from core.database import get_engine, session_scope, sqlite_path
from core.services import price_gate, prices
from core.services.price_files import InvalidPrices, csv_source
from core.services.price_gate import ImplausiblePrices
from core.settings import PricePolicy, Settings
from core.tables import Client
from tools.market.market_data import MarketData
from tools.outcomes import imports

LONG = "date,code,close\n"


@pytest.fixture
def shelf(market: MarketData) -> frozenset[str]:
    return frozenset(market.products)


def _writes_without_waiting(url: str, client_id: str) -> bool:
    """Whether a client is stored at once from a connection of its own that will not wait for
    any lock (on SQLite a busy timeout of 0, on PostgreSQL the shortest lock timeout)."""
    path = sqlite_path(url)
    try:
        if path is not None:
            with sqlite3.connect(path, timeout=0) as db:
                db.execute(
                    "INSERT INTO client (id, data, created_at, updated_at) VALUES (?, '{}', ?, ?)",
                    (client_id, "2026-01-01 00:00:00", "2026-01-01 00:00:00"),
                )
            return True
        with psycopg.connect(url) as db:
            db.execute("SET lock_timeout = '1ms'")
            db.execute(
                "INSERT INTO client (id, data, created_at, updated_at) "
                "VALUES (%s, '{}', now(), now())",
                (client_id,),
            )
        return True
    except (sqlite3.OperationalError, psycopg.errors.LockNotAvailable):
        return False


def _staged(engine: Engine) -> int:
    """Staging tables that exist: on SQLite, on the one connection of `engine`'s pool; on
    PostgreSQL, in any session."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            query = "SELECT count(*) FROM sqlite_temp_master WHERE name LIKE 'pricestage%'"
        else:
            query = "SELECT count(*) FROM pg_class WHERE relname LIKE 'pricestage%'"
        return int(connection.execute(text(query)).scalar_one())


def _stored(engine: Engine) -> tuple[int, list[tuple[str, date, float]]]:
    with session_scope(engine) as session:
        found = prices.series(session, None)
        return prices.version(session), sorted(
            (code, day, close) for code, rows in found.items() for day, close in rows
        )


def _restated(text: str, factor: float) -> str:
    """The wide file with every close multiplied by `factor`: all would be replaced."""
    header, *lines = text.splitlines(keepends=True)
    return header + "".join(
        line.split(",", 1)[0]
        + "".join(f",{float(c) * factor}" if c.strip() else "," for c in line.split(",")[1:])
        + "\n"
        for line in lines
    )


def test_other_writers_get_the_database_while_the_file_is_staged_and_checked(
    settings: Settings, shelf: frozenset[str]
) -> None:
    """Another connection writes without waiting at the end of each of the import's
    transactions, before it commits, when it holds every lock it took: while each chunk is
    staged, and once the file is checked (indexed, duplicates, settled against `price`, the
    sanity gate). Only the swap holds SQLite's write lock, as the probe shows by failing there;
    on PostgreSQL nothing of the import holds a client's row."""
    engine = get_engine(settings.database_url)
    text_ = PRICES.read_text("utf-8")
    import_csv(engine, text_, shelf)  # stored prices for the checks to read
    probes: list[bool] = []

    def probe(_: Any) -> None:  # ConnectionEvents.commit: before the database commits
        probes.append(_writes_without_waiting(settings.database_url, f"C-W{len(probes)}"))

    chunks: list[int] = []
    event.listen(engine, "commit", probe)
    try:
        stored = import_csv(engine, _restated(text_, 1.01), shelf, on_chunk=chunks.append)
    finally:
        event.remove(engine, "commit", probe)
    assert stored["replaced"] == 6 * 2062
    assert chunks == [imports.CHUNK, 2 * imports.CHUNK, 6 * 2062]  # three chunks
    swap = engine.dialect.name != "sqlite"
    # staging tables made, three chunks staged, the file checked, the swap, staging dropped
    assert probes == [True, True, True, True, True, swap, True]
    with session_scope(engine) as session:
        written = set(session.exec(select(Client.id)).all())
    assert written == {f"C-W{n}" for n, ok in enumerate(probes) if ok}


class _Counted(io.StringIO):
    """A file's text that counts the lines read from it."""

    lines = 0

    def readline(self, size: int = -1, /) -> str:
        self.lines += 1
        return super().readline(size)


def test_the_file_is_read_a_chunk_at_a_time(settings: Settings, shelf: frozenset[str]) -> None:
    """Memory holds one chunk: the first is staged as soon as its rows are read, long before
    the end of the file (the wide file has six shelf prices a line)."""
    stream = _Counted(PRICES.read_text("utf-8"), newline="")
    read: list[tuple[int, int]] = []
    imports.run(
        get_engine(settings.database_url),
        csv_source(stream, shelf),
        PricePolicy(),
        shelf,
        actor="test",
        on_chunk=lambda staged: read.append((staged, stream.lines)),
    )
    header = 1
    assert read[0] == (imports.CHUNK, header + -(-imports.CHUNK // 6))
    assert read[1] == (2 * imports.CHUNK, header + -(-2 * imports.CHUNK // 6))
    assert read[-1][1] >= header + 2062


@pytest.mark.parametrize("fails_at", [1, 3])
def test_a_failure_mid_import_leaves_price_untouched_and_nothing_staged(
    settings: Settings, shelf: frozenset[str], fails_at: int
) -> None:
    engine = get_engine(settings.database_url, connections=1)  # the import's connection, reused
    text_ = PRICES.read_text("utf-8")
    import_csv(engine, text_, shelf)
    before = _stored(engine)
    restated = _restated(text_, 1.01)
    chunks: list[int] = []

    def crash(staged: int) -> None:
        chunks.append(staged)
        if len(chunks) == fails_at:
            raise KeyboardInterrupt  # Ctrl-C, or anything else that stops it mid-way

    with pytest.raises(KeyboardInterrupt):
        import_csv(engine, restated, shelf, on_chunk=crash)
    assert _stored(engine) == before
    assert _staged(engine) == 0
    # and a bad line at the very end, after every chunk was staged
    with pytest.raises(InvalidPrices, match=r"line 2064: 2 fields, expected 8"):
        import_csv(engine, restated + "2026-02-27,1\n", shelf)
    assert _stored(engine) == before
    assert _staged(engine) == 0
    assert import_csv(engine, restated, shelf)["replaced"] == 6 * 2062


def test_an_import_landing_before_the_swap_is_judged_with(
    settings: Settings, shelf: frozenset[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Import A is checked, then import B lands a close beside A's row before A swaps its
    rows in: A is checked again against B's close, and refused."""
    engine = get_engine(settings.database_url)
    import_csv(engine, LONG + "2024-01-02,510300,3.5\n", shelf)
    check = price_gate.check
    landed: list[dict[str, Any]] = []

    def then_b_lands(*args: Any) -> Any:
        found = check(*args)
        if not landed:  # once: B's own import comes through here too
            landed.append({})
            b = import_csv(engine, LONG + "2024-01-03,510300,10\n", shelf, override="B")
            landed[0] = b
        return found

    monkeypatch.setattr(price_gate, "check", then_b_lands)
    with pytest.raises(ImplausiblePrices) as caught:
        import_csv(engine, LONG + "2024-01-04,510300,3.6\n", shelf)
    assert landed[0]["changed"] == 1
    assert caught.value.problems[0].startswith("line 2: 510300 moves -64.0% from 10 on 2024-01-03")
    version, rows = _stored(engine)
    assert version == 2 and [r[1] for r in rows] == [date(2024, 1, 2), date(2024, 1, 3)]
