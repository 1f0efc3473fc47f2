"""Prices: daily closes of shelf products, read from the firm's files (DESIGN §5.5).

Two shapes of file are read. The long form has the columns `date, code, close` (in any order),
one price per line. The wide form has a date column first, then one column per product, named
by its code with or without the exchange's suffix (`510300.SH` is the shelf's `510300`); a blank
cell is a day without a price.

Every bad line is reported with its number (the header is line 1), and then nothing is stored:
a close that is not a positive number, a date that is not YYYY-MM-DD, a code that is not on the
shelf, or one (code, day) given twice with different closes. A wide file's column for a product
the shelf does not carry is left out and named in the answer (`skipped`), since a firm's price
file often carries more than its shelf.

A price already stored is replaced by the file's (a corrected or re-adjusted series), and every
import that changes a price bumps the price mark, so outcomes measured on older prices are
known to be stale.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.errors import InvalidInput
from core.tables import Price, PriceMark, utcnow

LONG_COLUMNS = frozenset({"date", "code", "close"})
MAX_REPORTED = 50  # bad lines named in one error; the count says how many there were in all
_SUFFIX = re.compile(r"\.(SH|SZ|BJ|SS|OF)$", re.IGNORECASE)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHUNK = 500  # rows per INSERT statement
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# A close outside this range is a typo or a unit error; its returns would not be finite.
CLOSE_RANGE = (1e-6, 1e9)
FIRST_DAY = date(1990, 1, 1)  # the Shanghai exchange opened in December 1990


class InvalidPrices(InvalidInput):
    """A price file or body with bad lines; `problems` names each one."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        tail = f"; and {more} more" if more else ""
        super().__init__(
            f"{len(problems)} bad price line(s), nothing stored: {'; '.join(shown)}{tail}"
        )
        self.problems = problems


@dataclass(frozen=True)
class Row:
    line: int
    code: str
    day: date
    close: float


@dataclass(frozen=True)
class Parsed:
    rows: list[Row]
    skipped: list[str]  # wide-form columns for products not on the shelf


def shelf_code(raw: str, known: Collection[str]) -> str | None:
    """The shelf code a file names (`510300.SH` or `510300`), or None if not on the shelf."""
    name = raw.strip()
    if name in known:
        return name
    bare = _SUFFIX.sub("", name)
    return bare if bare in known else None


def _day(text: str) -> date | None:
    value = text.strip()
    if not _DAY.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _close(text: Any) -> float | str:
    """A positive, finite close within CLOSE_RANGE, or what is wrong with it. Text must be a
    plain decimal number (no `1_000`, no `inf`)."""
    shown = f"close {text!r}"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return f"{shown} is not a positive number"
    if isinstance(text, str) and not _NUMBER.match(text.strip()):
        return f"{shown} is not a positive number"
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        return f"{shown} is not a positive number"
    low, high = CLOSE_RANGE
    if not low <= value <= high:
        return f"{shown} is out of range ({low:g} to {high:g})"
    return value


def _row(
    line: int, raw_code: Any, raw_day: Any, raw_close: Any, known: Collection[str]
) -> Row | str:
    """One price, or what is wrong with it."""
    wrong = []
    code = shelf_code(raw_code, known) if isinstance(raw_code, str) else None
    if code is None:
        wrong.append(f"code {raw_code!r} is not on the shelf")
    day = _day(raw_day) if isinstance(raw_day, str) else None
    if day is None:
        wrong.append(f"date {raw_day!r} is not YYYY-MM-DD")
    elif day > date.today():
        wrong.append(f"date {raw_day!r} is in the future")
        day = None
    elif day < FIRST_DAY:
        wrong.append(f"date {raw_day!r} is before {FIRST_DAY.isoformat()}, before any exchange")
        day = None
    close = _close(raw_close)
    if isinstance(close, str):
        wrong.append(close)
    if wrong or code is None or day is None or isinstance(close, str):
        return f"line {line}: {', '.join(wrong)}"
    return Row(line, code, day, close)


def parse_csv(text: str, known: Collection[str]) -> Parsed:
    """The prices of a long or wide CSV file; InvalidPrices names every bad line."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _parse(reader, known)
    except csv.Error as exc:  # e.g. an unclosed quote that swallows the rest of the file
        raise InvalidPrices([f"line {reader.line_num}: not CSV ({exc})"]) from exc


def _parse(reader: Any, known: Collection[str]) -> Parsed:
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise InvalidPrices(
            ["line 1: no header (long form: date,code,close; wide: date, then a column per code)"]
        )
    names = [cell.strip() for cell in header]
    lowered = [n.lower() for n in names]
    if set(lowered) >= LONG_COLUMNS:
        if len(names) != 3:
            raise InvalidPrices(
                [f"line 1: the long form has exactly the columns date, code, close, not {names}"]
            )
        return _parse_long(reader, lowered, known)
    return _parse_wide(reader, names, known)


def _parse_long(reader: Any, names: list[str], known: Collection[str]) -> Parsed:
    at = {name: names.index(name) for name in LONG_COLUMNS}
    rows: list[Row | str] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 3:
            rows.append(f"line {line}: {len(cells)} fields, expected 3 (date, code, close)")
            continue
        rows.append(_row(line, cells[at["code"]], cells[at["date"]], cells[at["close"]], known))
    return Parsed(_checked(rows), [])


def _parse_wide(reader: Any, names: list[str], known: Collection[str]) -> Parsed:
    problems: list[str] = []
    if names[0].lower() not in ("date", "day", ""):
        problems.append(f"line 1: the first column is {names[0]!r}; expected date")
    columns: list[tuple[int, str]] = []
    skipped: list[str] = []
    seen: dict[str, str] = {}
    for index, name in enumerate(names[1:], start=1):
        code = shelf_code(name, known)
        if not name:
            problems.append(f"line 1: column {index + 1} has no name")
        elif code is None:
            skipped.append(name)
        elif code in seen:
            problems.append(f"line 1: columns {seen[code]!r} and {name!r} are both {code}")
        else:
            seen[code] = name
            columns.append((index, code))
    if not columns and not problems:
        problems.append(
            "line 1: no column names a product on the shelf"
            + (f" (not on the shelf: {', '.join(skipped)})" if skipped else "")
        )
    rows: list[Row | str] = [*problems]
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            rows.append(f"line {line}: {len(cells)} fields, expected {len(names)}")
            continue
        if _day(cells[0]) is None:  # one bad date is one bad line, whatever its cells
            rows.append(f"line {line}: date {cells[0]!r} is not YYYY-MM-DD")
            continue
        for index, code in columns:
            if cells[index].strip():  # a blank cell: no price that day
                found = _row(line, code, cells[0], cells[index], known)
                if isinstance(found, str):  # name the column: a wide line has several
                    found = found.replace(f"line {line}:", f"line {line}, {names[index]}:", 1)
                rows.append(found)
    return Parsed(_checked(rows), skipped)


def parse_rows(items: Sequence[dict[str, Any]], known: Collection[str]) -> Parsed:
    """Prices sent as JSON (`[{"date", "code", "close"}]`); item n is reported as line n."""
    rows: list[Row | str] = [
        _row(n, item.get("code"), item.get("date"), item.get("close"), known)
        for n, item in enumerate(items, start=1)
    ]
    return Parsed(_checked(rows), [])


def _checked(found: list[Row | str]) -> list[Row]:
    """The rows, once none is bad and no (code, day) has two different closes."""
    problems = [item for item in found if isinstance(item, str)]
    rows = [item for item in found if isinstance(item, Row)]
    first: dict[tuple[str, date], Row] = {}
    unique = []
    for row in rows:
        key = (row.code, row.day)
        if key not in first:
            first[key] = row
            unique.append(row)
        elif first[key].close != row.close:
            problems.append(
                f"line {row.line}: {row.code} on {row.day.isoformat()} is {row.close:g} here "
                f"and {first[key].close:g} on line {first[key].line}"
            )
    if problems:
        problems.sort(key=_line_number)
        raise InvalidPrices(problems)
    if not unique:
        raise InvalidPrices(["no prices in the file"])
    return unique


def _line_number(problem: str) -> int:
    match = re.match(r"line (\d+)", problem)
    return int(match.group(1)) if match else 0


def store(session: Session, parsed: Parsed) -> dict[str, Any]:
    """Insert or replace the prices; the caller's transaction makes it all or nothing."""
    rows = parsed.rows
    codes = sorted({row.code for row in rows})
    first, last = min(row.day for row in rows), max(row.day for row in rows)
    stored = {
        (code, day): close
        for code, day, close in session.execute(
            select(col(Price.code), col(Price.day), col(Price.close)).where(
                col(Price.code).in_(codes), col(Price.day) >= first, col(Price.day) <= last
            )
        ).all()
    }
    # In (code, day) order, as every importer writes: two imports at once never deadlock.
    changed = sorted(
        (row for row in rows if stored.get((row.code, row.day)) != row.close),
        key=lambda row: (row.code, row.day),
    )
    if changed:
        now = utcnow()
        values = [
            {"code": r.code, "day": r.day, "close": r.close, "imported_at": now} for r in changed
        ]
        for start in range(0, len(values), _CHUNK):
            session.execute(_upsert(session, values[start : start + _CHUNK]))
        bump(session)
    return {
        "rows": len(rows),
        "codes": codes,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "changed": len(changed),
        "skipped": parsed.skipped,
    }


def _upsert(session: Session, values: list[dict[str, Any]]) -> Any:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(Price).values(values)
    return statement.on_conflict_do_update(
        index_elements=["code", "day"],
        set_={"close": statement.excluded.close, "imported_at": statement.excluded.imported_at},
    )


def bump(session: Session) -> None:
    """Mark every outcome measured so far as measured on older prices (one statement, so two
    first imports at once both count)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(PriceMark).values(id=1, version=1, updated_at=utcnow())
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"],
            set_={"version": PriceMark.version + 1, "updated_at": statement.excluded.updated_at},
        )
    )


def version(session: Session) -> int:
    mark = session.get(PriceMark, 1)
    return mark.version if mark is not None else 0


def _edge(session: Session, which: Any) -> date | None:
    value = session.execute(select(which(Price.day))).scalar_one_or_none()
    return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))


def last_day(session: Session) -> date | None:
    """The latest day any product has a price, or None before the first import."""
    return _edge(session, func.max)


def first_day(session: Session) -> date | None:
    """The earliest day any product has a price, or None before the first import."""
    return _edge(session, func.min)


def check_valuation_day(session: Session, day: date, *, shipped_from: date) -> None:
    """Refuse a valuation date (InvalidInput naming `as_of`) after today, or before the earliest
    price: the first stored close, or, with none stored, the first day of the series the
    shipped assumptions were estimated on (`shipped_from`). A past date in between is fine."""
    if day > date.today():
        raise InvalidInput(
            f"as_of {day.isoformat()} is in the future: a plan is dated today or before"
        )
    stored = first_day(session)
    if day < (stored or shipped_from):
        what = (
            f"the first stored price ({stored.isoformat()})"
            if stored
            else f"the first price the shipped assumptions use ({shipped_from.isoformat()})"
        )
        raise InvalidInput(f"as_of {day.isoformat()} is before {what}")


def series(
    session: Session, codes: Collection[str] | None, until: date | None = None
) -> dict[str, list[tuple[date, float]]]:
    """Each code's closes in date order (codes without any are absent; None: every code)."""
    query = select(col(Price.code), col(Price.day), col(Price.close))
    if codes is not None:
        query = query.where(col(Price.code).in_(sorted(codes)))
    if until is not None:
        query = query.where(col(Price.day) <= until)
    out: dict[str, list[tuple[date, float]]] = {}
    for code, day, close in session.execute(query.order_by(col(Price.code), col(Price.day))).all():
        out.setdefault(code, []).append((day, close))
    return out


def summary(session: Session) -> list[dict[str, Any]]:
    """Per code: how many prices, first and last day."""
    query = (
        select(col(Price.code), func.count(), func.min(Price.day), func.max(Price.day))
        .group_by(col(Price.code))
        .order_by(col(Price.code))
    )
    return [
        {"code": code, "prices": n, "from": str(first), "to": str(last)}
        for code, n, first, last in session.execute(query).all()
    ]
