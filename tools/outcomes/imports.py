"""A price import, from first line to stored (README "Service effect"): PUT /v1/prices and
`tierwise prices import` both run one here.

The rows are staged a chunk per transaction in a temporary table of one connection
(core/services/price_stage.py), checked across lines and by the sanity gate
(core/services/price_gate.py), and swapped into `price` in one short transaction that also
bumps the price mark and records the import (core/services/price_imports.py). Memory holds one
chunk and the first bad lines, whatever the size of the file; on SQLite the API's writers go on
while the rows are staged and checked, and wait only for the swap. All or nothing: a bad line,
a refusal or a crash before the swap leaves `price` as it was, and the staged rows go with the
connection.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from core.database import session_scope
from core.errors import NotCommitted
from core.services import price_gate, price_imports, price_stage, prices
from core.services.price_files import InvalidPrices, Item, Problems, Row, Source
from core.settings import PricePolicy

CHUNK = 5_000  # rows staged per transaction


def run(
    engine: Engine,
    source: Source,
    policy: PricePolicy,
    known: Collection[str],
    *,
    actor: str,
    override: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Stage, check and store the source's prices for `actor`: InvalidPrices names the bad
    lines, ImplausiblePrices what the sanity gate refuses (unless `override` gives the reason
    to store them anyway), and then nothing is stored; a bad reason is InvalidInput before a
    line is read. `on_chunk` is told the rows staged so far after each chunk's commit."""
    reason = price_imports.override_reason(override)
    with engine.connect() as connection:
        try:
            with session_scope(connection) as session:
                price_stage.open_stage(session)
            problems = Problems()
            for staged in _stage(connection, source.items, problems):
                if on_chunk is not None:
                    on_chunk(staged)
            return _store(connection, source, problems, policy, known, actor, reason)
        finally:
            _drop(connection)


def _stage(connection: Connection, items: Iterable[Item], problems: Problems) -> Iterator[int]:
    """Stage the good rows a chunk per transaction, counting the bad lines; yields the rows
    staged so far after each chunk."""
    chunk: list[Row] = []
    staged = 0
    for item in items:
        if isinstance(item, str):
            problems.add(item)
            continue
        chunk.append(item)
        if len(chunk) == CHUNK:
            with session_scope(connection) as session:
                price_stage.stage(session, chunk)
            staged, chunk = staged + len(chunk), []
            yield staged
    if chunk:
        with session_scope(connection) as session:
            price_stage.stage(session, chunk)
        yield staged + len(chunk)


def _store(
    connection: Connection,
    source: Source,
    problems: Problems,
    policy: PricePolicy,
    known: Collection[str],
    actor: str,
    reason: str | None,
) -> dict[str, Any]:
    with session_scope(connection) as session:  # writes only the staging tables: no lock on SQLite
        price_stage.index(session)
        problems.merge(*price_stage.duplicates(session))
        problems.check()
        seen = prices.version(session)
        summary = price_stage.settle(session)
        if summary is None:
            raise InvalidPrices(["no prices in the file"])
        refused = _gate(session, policy, known, reason)
    with session_scope(connection) as session:
        if price_stage.lock(session) != seen:  # another import landed meanwhile: judge again
            price_stage.mark_changes(session)
            refused = _gate(session, policy, known, reason)
        changed, replaced, version = price_stage.swap(session)
        stored = {**summary, "changed": changed, "replaced": replaced, "skipped": source.skipped}
        entry = price_imports.record(
            session,
            actor=actor,
            stored=stored,
            reason=reason,
            refused=refused,
            version=version,
        )
    return {
        **stored,
        "from": summary["from"].isoformat(),
        "to": summary["to"].isoformat(),
        "import_id": entry.id,
        "overridden": refused[1],
    }


def _gate(
    session: Session, policy: PricePolicy, known: Collection[str], reason: str | None
) -> tuple[list[str], int]:
    """What the sanity gate refuses, raised unless the import is overridden for a reason."""
    found, total = price_gate.check(session, policy, known)
    if total and reason is None:
        raise price_gate.ImplausiblePrices(found, total)
    return found, total


def _drop(connection: Connection) -> None:
    """Drop the staging tables; a connection that cannot is discarded instead of pooled."""
    try:
        with session_scope(connection) as session:
            price_stage.close_stage(session)
    except (SQLAlchemyError, NotCommitted):
        connection.invalidate()
