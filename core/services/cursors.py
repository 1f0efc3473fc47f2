"""Keyset cursors, one codec for every list: a page's `next` names the sort keys of the last row
it shows, its id last, and the page after it starts past that row, so rows written or decided
meanwhile never shift a page.

A cursor is its keys' text joined by `|`, in URL-safe base64. Every list service returns the
same shape, a `Page`: each item with the cursor that continues after it (api/paging.py ends a
page early on them), and the next page's cursor, None on the last.

Every check happens here, before any query, by the parser each key is read with: a naive or
out-of-range time, an integer past BIGINT, an infinite number or an id with a NUL byte would
otherwise fail inside the database driver, as a 500.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import ColumnElement, and_, or_

from core.errors import InvalidInput

Item = TypeVar("Item")
Row = TypeVar("Row")
Page: TypeAlias = tuple[list[tuple[Item, str]], str | None]
Key: TypeAlias = date | datetime | int | float | str
MAX_TEXT = 96  # the longest id or label a row has (the tables' max_length: an approval's id)
MAX_SERIAL = 2**63 - 1  # BIGINT, the widest integer column


def encode(*keys: Key) -> str:
    """The cursor that continues after the row with these sort keys (its id last)."""
    parts = [
        k.isoformat() if isinstance(k, date) else repr(k) if isinstance(k, float) else str(k)
        for k in keys
    ]
    if any("|" in part for part in parts[:-1]):  # only the last one reads to the end
        raise ValueError(f"a cursor's keys before its last hold no '|': {parts[:-1]!r}")
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode()


def decode(
    cursor: str, keys: Sequence[Callable[[str], Any]], start: str, *, name: str = "cursor"
) -> tuple[Any, ...]:
    """The sort keys a cursor holds, each read by its parser in `keys`; anything else is
    InvalidInput naming the parameter (`name`) and where leaving it out begins (`start`)."""
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True)
        parts = raw.decode("utf-8").split("|", len(keys) - 1)
        if len(parts) != len(keys):
            raise ValueError(f"a cursor of {len(parts)} keys, not {len(keys)}")
        return tuple(parse(part) for parse, part in zip(keys, parts, strict=True))
    except (ValueError, OverflowError) as exc:  # incl. base64's and Unicode errors
        shown = cursor if len(cursor) <= 80 else f"{cursor[:77]}..."
        raise InvalidInput(
            f"{name}: {shown!r} is not a cursor this API returned; pass one a page gave "
            f"(its `next`), or leave {name} out to start from {start}"
        ) from exc


def after_oldest(created: Any, row_id: Any, keys: tuple[Any, ...]) -> ColumnElement[bool]:
    """Rows after (created, id) in oldest-first order: the keyset a queue pages on."""
    at, last = keys
    return or_(created > at, and_(created == at, row_id > last))


def page(rows: Sequence[Row], limit: int, after: Callable[[Row], str]) -> Page[Row]:
    """The first `limit` of `rows` (fetched with limit + 1), each with the cursor `after` it,
    and the next page's cursor: None when no row was left over."""
    shown = [(row, after(row)) for row in rows[:limit]]
    return shown, shown[-1][1] if len(rows) > limit and shown else None


def every(fetch: Callable[[str | None], Page[Item]]) -> Iterator[Item]:
    """Every item of a list, a page at a time: `fetch` takes a cursor (None for the first)."""
    cursor: str | None = None
    while True:
        found, cursor = fetch(cursor)
        yield from (item for item, _ in found)
        if cursor is None:
            return


def instant(text: str) -> datetime:
    """A cursor's time, in UTC; one without an offset is not one this API wrote."""
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError("the cursor's time has no UTC offset")
    return moment.astimezone(UTC)  # overflows near year 1 and 9999: the caller's mistake


def day(text: str) -> date:
    """A cursor's day."""
    return date.fromisoformat(text)


def text(raw: str) -> str:
    """A cursor's text key (a label such as a risk level, possibly empty): printable, short."""
    if not (len(raw) <= MAX_TEXT and raw.isprintable()):
        raise ValueError("the cursor's text is not one a row can have")
    return raw


def row_id(raw: str) -> str:
    """A cursor's row id: text that is not empty."""
    if not raw:
        raise ValueError("the cursor has no id")
    return text(raw)


def serial(raw: str) -> int:
    """A cursor's integer key (a row number, a rank): ASCII digits, within BIGINT."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_SERIAL:
        raise ValueError("the cursor's number is not one a row can have")
    return int(raw)


def number(raw: str) -> float:
    """A cursor's real key (a volatility): finite."""
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("the cursor's number is not finite")
    return value


def exactly(word: str) -> Callable[[str], str]:
    """A parser for a key that must be `word` (the order a cursor was made in)."""

    def parse(raw: str) -> str:
        if raw != word:
            raise ValueError(f"a cursor of another order ({raw!r}, not {word!r})")
        return raw

    return parse
