"""Price files and bodies, read a line at a time (DESIGN §5.5): each line's prices, or what is
wrong with it.

Two shapes of file are read. The long form has the columns `date, code, close` (in any order),
one price per line. The wide form has a date column first, then one column per product, named
by its code with or without the exchange's suffix (`510300.SH` is the shelf's `510300`); a blank
cell is a day without a price. A wide file's column for a product the shelf does not carry is
left out and named (`skipped`), since a firm's price file often carries more than its shelf.

A line is bad when a close is not a positive number within CLOSE_RANGE, a date is not
YYYY-MM-DD (or is after today, or before 1990), or a code is not on the shelf. Numbers and dates
are written in ASCII digits: a close in full-width (４.５) or Arabic-Indic (٤٫٥) digits is a bad
line, as a firm's systems export ASCII and such a cell was typed by hand. Lines are numbered as
in the file (the header is line 1); a JSON body's rows from 1. Checks across lines (one code and
day given twice with different closes, the sanity gate) run on the staged rows
(core/services/price_stage.py, price_gate.py).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from core.errors import InvalidInput

LONG_COLUMNS = frozenset({"date", "code", "close"})
MAX_REPORTED = 50  # bad lines named in one error; the count says how many there were in all
KEPT = 1_000  # bad lines kept in memory, however many a file has
_SUFFIX = re.compile(r"\.(SH|SZ|BJ|SS|OF)$", re.IGNORECASE)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
_LINE = re.compile(r"line (\d+)")
# A close outside this range is a typo or a unit error; its returns would not be finite.
CLOSE_RANGE = (1e-6, 1e9)
FIRST_DAY = date(1990, 1, 1)  # the Shanghai exchange opened in December 1990


class InvalidPrices(InvalidInput):
    """A price file or body with bad lines; `problems` names them (the first KEPT), `total`
    counts them all."""

    def __init__(self, problems: list[str], total: int | None = None, hint: str = "") -> None:
        total = len(problems) if total is None else total
        shown = problems[:MAX_REPORTED]
        more = total - len(shown)
        tail = (f"; and {more} more" if more else "") + (f"; {hint}" if hint else "")
        super().__init__(f"{total} bad price line(s), nothing stored: {'; '.join(shown)}{tail}")
        self.problems, self.total = problems, total


@dataclass(frozen=True)
class Row:
    line: int
    code: str
    day: date
    close: float


Item = Row | str  # a price, or what is wrong with a line


@dataclass
class Source:
    """The prices of one file or body, read as `items` is iterated."""

    items: Iterator[Item]
    skipped: list[str] = field(default_factory=list)  # wide columns not on the shelf


@dataclass
class Problems:
    """Bad lines found so far: the first KEPT in line order, and how many in all."""

    kept: list[str] = field(default_factory=list)
    total: int = 0

    def add(self, problem: str) -> None:
        """One more, found after every one kept so far (a file is read in line order)."""
        self.total += 1
        if len(self.kept) < KEPT:
            self.kept.append(problem)

    def merge(self, found: list[str], total: int) -> None:
        """`total` more, of which `found` are the earliest, anywhere in the file."""
        self.total += total
        self.kept = sorted([*self.kept, *found], key=line_of)[:KEPT]

    def check(self) -> None:
        """InvalidPrices naming them, if there are any."""
        if self.total:
            raise InvalidPrices(self.kept, self.total)


def line_of(problem: str) -> int:
    """The line a problem names (0 for the file as a whole)."""
    match = _LINE.match(problem)
    return int(match.group(1)) if match else 0


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


def _shown(value: Any) -> str:
    """A value as a message quotes it: a cell of a thousand digits is cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:24]}… ({len(text)} characters)"


def _close(text: Any) -> float | str:
    """A positive, finite close within CLOSE_RANGE, or what is wrong with it. Text must be a
    plain decimal number in ASCII digits (no `1_000`, no `inf`, no `４.５`)."""
    shown = f"close {_shown(text)}"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return f"{shown} is not a positive number"
    if isinstance(text, str) and not _NUMBER.match(text.strip()):
        if any(ch.isdigit() and not ch.isascii() for ch in text):
            return f"{shown} is not written in ASCII digits (0-9)"
        return f"{shown} is not a positive number"
    low, high = CLOSE_RANGE
    if isinstance(text, int):  # judged exactly, either way: it may not fit in a float
        if text <= 0:
            return f"{shown} is not a positive number"
        if text > high:
            return f"{shown} is out of range ({low:g} to {high:g})"
    value = float(text)
    if isinstance(text, str) and math.isinf(value):  # digits too many for a float
        return f"{shown} is out of range ({low:g} to {high:g})"
    if not math.isfinite(value) or value <= 0:
        return f"{shown} is not a positive number"
    if not low <= value <= high:
        return f"{shown} is out of range ({low:g} to {high:g})"
    return value


def _when(raw: Any, today: date) -> date | str:
    """A price's day, or what is wrong with it."""
    day = _day(raw) if isinstance(raw, str) else None
    if day is None:
        return f"date {_shown(raw)} is not YYYY-MM-DD"
    if day > today:
        return f"date {_shown(raw)} is in the future"
    if day < FIRST_DAY:
        return f"date {_shown(raw)} is before {FIRST_DAY.isoformat()}, before any exchange"
    return day


def _row(line: int, raw_code: Any, raw_day: Any, raw_close: Any, known: Collection[str]) -> Item:
    """One price, or what is wrong with it."""
    code = shelf_code(raw_code, known) if isinstance(raw_code, str) else None
    day, close = _when(raw_day, date.today()), _close(raw_close)
    if code is None or isinstance(day, str) or isinstance(close, str):
        wrong = [] if code is not None else [f"code {_shown(raw_code)} is not on the shelf"]
        wrong += [found for found in (day, close) if isinstance(found, str)]
        return f"line {line}: {', '.join(wrong)}"
    return Row(line, code, day, close)


def csv_source(stream: TextIO, known: Collection[str]) -> Source:
    """The prices of a long or wide CSV file, read from `stream` (opened with newline="") as
    they are iterated; a header that cannot be read is InvalidPrices at once."""
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InvalidPrices([f"line 1: {_unreadable(exc)}"]) from exc
    if header:
        header[0] = header[0].removeprefix("\ufeff")
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
        return Source(_guarded(reader, _long(reader, lowered, known)))
    columns, skipped, problems = _wide_header(names, known)
    return Source(_guarded(reader, _wide(reader, names, columns, problems)), skipped)


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"the file is not UTF-8 text ({exc.reason})"
    return f"not CSV ({exc})"  # e.g. an unclosed quote that swallows the rest of the file


def _guarded(reader: Any, items: Iterator[Item]) -> Iterator[Item]:
    """The items, ending with the line where the file stops being readable CSV or UTF-8."""
    try:
        yield from items
    except (csv.Error, UnicodeDecodeError) as exc:
        yield f"line {reader.line_num + 1}: {_unreadable(exc)}"


def _long(reader: Any, names: list[str], known: Collection[str]) -> Iterator[Item]:
    at = {name: names.index(name) for name in LONG_COLUMNS}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 3:
            yield f"line {line}: {len(cells)} fields, expected 3 (date, code, close)"
            continue
        yield _row(line, cells[at["code"]], cells[at["date"]], cells[at["close"]], known)


def _wide_header(
    names: list[str], known: Collection[str]
) -> tuple[list[tuple[int, str]], list[str], list[str]]:
    """The (index, code) of each shelf product's column, the columns skipped, and what is
    wrong with the header."""
    problems: list[str] = []
    if names[0].lower() not in ("date", "day", ""):
        problems.append(f"line 1: the first column is {_shown(names[0])}; expected date")
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
    return columns, skipped, problems


def _wide(
    reader: Any,
    names: list[str],
    columns: list[tuple[int, str]],
    problems: list[str],
) -> Iterator[Item]:
    yield from problems
    today = date.today()
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            yield f"line {line}: {len(cells)} fields, expected {len(names)}"
            continue
        day = _when(cells[0], today)
        if isinstance(day, str):  # one bad date is one bad line, whatever its cells
            yield f"line {line}: {day}"
            continue
        for index, code in columns:
            if cells[index].strip():  # a blank cell: no price that day
                close = _close(cells[index])
                # name the column: a wide line has several
                yield (
                    Row(line, code, day, close)
                    if isinstance(close, float)
                    else (f"line {line}, {names[index]}: {close}")
                )


def json_source(items: Iterable[dict[str, Any]], known: Collection[str]) -> Source:
    """Prices sent as JSON (`[{"date", "code", "close"}]`); item n is reported as line n."""
    return Source(
        _row(n, item.get("code"), item.get("date"), item.get("close"), known)
        for n, item in enumerate(items, start=1)
    )
