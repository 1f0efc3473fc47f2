"""Prices (core/services/price_files.py, price_stage.py; tools/outcomes/imports.py): the long
and wide files, JSON rows, every bad line with its number, and storing them (all or nothing,
re-imports, corrections and the price mark)."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from outcomehelp import import_csv
from sqlalchemy import Engine, delete, func
from sqlmodel import select

from core.database import get_engine, session_scope
from core.services import prices
from core.services.price_files import (
    KEPT,
    MAX_REPORTED,
    InvalidPrices,
    Item,
    Row,
    csv_source,
    json_source,
)
from core.settings import PricePolicy, Settings
from core.tables import Price
from tools.market.market_data import MarketData
from tools.outcomes import imports

REAL = "allweather_cn_etf_prices_7etf.csv"
SHELF_IN_FILE = ["510300", "510500", "511260", "513100", "513500", "518880"]

LONG = """date,code,close
2024-01-02,510300,3.50
2024-01-02,511260,101.25
2024-01-03,510300,3.55
2024-01-03,511260,101.30
2024-01-04,510300,3.52
"""

WIDE = """date,510300.SH,511260.SH
2024-01-02,3.50,101.25
2024-01-03,3.55,101.30
2024-01-04,3.52,
"""

ITEMS: list[dict[str, Any]] = [
    {"date": "2024-01-02", "code": "510300", "close": 3.5},
    {"date": "2024-01-02", "code": "511260", "close": 101.25},
    {"date": "2024-01-03", "code": "510300", "close": 3.55},
    {"date": "2024-01-03", "code": "511260", "close": 101.3},
    {"date": "2024-01-04", "code": "510300", "close": 3.52},
]


@pytest.fixture(scope="module")
def known(market: MarketData) -> frozenset[str]:
    """The shelf's codes, as the CLI and the API pass them."""
    return frozenset(market.products)


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return get_engine(settings.database_url)


def read(text: str, known: frozenset[str]) -> list[Item]:
    """Each line's prices or problems, as a file is read (no database)."""
    return list(csv_source(io.StringIO(text, newline=""), known).items)


def triples(found: list[Item]) -> list[tuple[str, date, float]]:
    return sorted((row.code, row.day, row.close) for row in found if isinstance(row, Row))


def import_json(engine: Engine, items: list[dict[str, Any]], known: frozenset[str]) -> Any:
    """As the API does."""
    return imports.run(engine, json_source(items, known), PricePolicy(), known, actor="test")


def problems(engine: Engine, text: str, known: frozenset[str]) -> list[str]:
    with pytest.raises(InvalidPrices) as caught:
        import_csv(engine, text, known)
    assert str(caught.value).startswith(f"{caught.value.total} bad price line(s)")
    return caught.value.problems


# ---- reading a file ------------------------------------------------------------------------


def test_the_long_form(known: frozenset[str]) -> None:
    found = read(LONG, known)
    assert found[0] == Row(line=2, code="510300", day=date(2024, 1, 2), close=3.5)
    assert found[-1] == Row(line=6, code="510300", day=date(2024, 1, 4), close=3.52)
    assert len(found) == 5


def test_the_long_form_in_any_column_order_and_case(known: frozenset[str]) -> None:
    shuffled = "Close,CODE,Date\n3.50,510300,2024-01-02\n101.25,511260.SH,2024-01-02\n"
    assert triples(read(shuffled, known)) == [
        ("510300", date(2024, 1, 2), 3.5),
        ("511260", date(2024, 1, 2), 101.25),
    ]


def test_the_wide_form_maps_suffixes_and_reads_a_blank_cell_as_no_price(
    known: frozenset[str],
) -> None:
    found = read(WIDE, known)
    assert triples(found) == triples(read(LONG, known))
    last = [row for row in found if isinstance(row, Row) and row.day == date(2024, 1, 4)]
    assert [(row.line, row.code) for row in last] == [(4, "510300")]


def test_the_wide_form_skips_and_names_columns_not_on_the_shelf(known: frozenset[str]) -> None:
    text = "Date,999999.SZ,510300.SH,FOO\n2024-01-02,1,3.5,x\n2024-01-03,,3.6,\n"
    source = csv_source(io.StringIO(text, newline=""), known)
    assert source.skipped == ["999999.SZ", "FOO"]
    assert triples(list(source.items)) == [
        ("510300", date(2024, 1, 2), 3.5),
        ("510300", date(2024, 1, 3), 3.6),
    ]


def test_the_real_wide_file(shared_data: Path, known: frozenset[str]) -> None:
    with (shared_data / REAL).open(encoding="utf-8", newline="") as stream:
        source = csv_source(stream, known)
        found = list(source.items)
    assert source.skipped == ["159941.SZ"]
    rows = [row for row in found if isinstance(row, Row)]
    assert len(rows) == len(found) == 6 * 2062
    assert sorted({row.code for row in rows}) == SHELF_IN_FILE
    days = [row.day for row in rows]
    assert (min(days), max(days)) == (date(2017, 8, 4), date(2026, 2, 26))
    last = {row.code: row.close for row in rows if row.day == date(2026, 2, 26)}
    assert last["510300"] == 4.735000133514404


@pytest.mark.parametrize("text", [LONG, WIDE])
def test_crlf_and_a_byte_order_mark_read_alike(text: str, known: frozenset[str]) -> None:
    assert read("\ufeff" + text.replace("\n", "\r\n"), known) == read(text, known)


def test_line_numbers_count_crlf_and_blank_lines(engine: Engine, known: frozenset[str]) -> None:
    text = "\ufeffdate,code,close\r\n2024-01-02,510300,3.5\r\n\r\n2024-01-03,510300,-1\r\n"
    assert problems(engine, text, known) == ["line 4: close '-1' is not a positive number"]


def test_the_same_close_twice_is_one_price(engine: Engine, known: frozenset[str]) -> None:
    text = "date,code,close\n2024-01-02,510300,3.5\n2024-01-02,510300,3.50\n"
    assert import_csv(engine, text, known)["rows"] == 1
    assert stored(engine) == [("510300", date(2024, 1, 2), 3.5)]


def test_closes_may_carry_spaces_and_exponents(known: frozenset[str]) -> None:
    text = "date,code,close\n 2024-01-02 , 510300 , 3.5 \n2024-01-03,510300,1e2\n"
    assert triples(read(text, known)) == [
        ("510300", date(2024, 1, 2), 3.5),
        ("510300", date(2024, 1, 3), 100.0),
    ]


# ---- bad lines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "wrong"),
    [
        ("2024-01-03,510300,0", "close '0' is not a positive number"),
        ("2024-01-03,510300,-3.5", "close '-3.5' is not a positive number"),
        ("2024-01-03,510300,abc", "close 'abc' is not a positive number"),
        ("2024-01-03,510300,", "close '' is not a positive number"),
        ("2024-01-03,510300,nan", "close 'nan' is not a positive number"),
        ("2024-01-03,510300,NaN", "close 'NaN' is not a positive number"),
        ("2024-01-03,510300,inf", "close 'inf' is not a positive number"),
        ("2024-01-03,510300,-inf", "close '-inf' is not a positive number"),
        ("2024-01-03,510300,1e999", "close '1e999' is out of range (1e-06 to 1e+09)"),
        ("2024/01/03,510300,3.5", "date '2024/01/03' is not YYYY-MM-DD"),
        ("20240103,510300,3.5", "date '20240103' is not YYYY-MM-DD"),
        ("2024-13-01,510300,3.5", "date '2024-13-01' is not YYYY-MM-DD"),
        ("2023-02-29,510300,3.5", "date '2023-02-29' is not YYYY-MM-DD"),
        ("03/01/2024,510300,3.5", "date '03/01/2024' is not YYYY-MM-DD"),
        ("2024-01-03,999999,3.5", "code '999999' is not on the shelf"),
        ("2024-01-03,159941.SZ,3.5", "code '159941.SZ' is not on the shelf"),
        ("2024-01-03,,3.5", "code '' is not on the shelf"),
        ("2024-01-03,510300", "2 fields, expected 3 (date, code, close)"),
        ("2024-01-03,510300,3.5,x", "4 fields, expected 3 (date, code, close)"),
        ("2024-01-02,510300,3.6", "510300 on 2024-01-02 is 3.6 here and 3.5 on line 2"),
    ],
)
def test_each_kind_of_bad_long_line_is_named_with_its_number(
    line: str, wrong: str, engine: Engine, known: frozenset[str]
) -> None:
    text = f"date,code,close\n2024-01-02,510300,3.5\n{line}\n2024-01-04,510300,3.6\n"
    assert problems(engine, text, known) == [f"line 3: {wrong}"]
    assert count(engine) == 0


def test_a_line_with_several_faults_names_them_all(engine: Engine, known: frozenset[str]) -> None:
    text = "date,code,close\n2024-02-30,NOPE,0\n"
    assert problems(engine, text, known) == [
        "line 2: code 'NOPE' is not on the shelf, date '2024-02-30' is not YYYY-MM-DD, "
        "close '0' is not a positive number"
    ]


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("date,510300.SH\n2024-01-02,3.5\n2024-01-03,abc\n", "line 3, 510300.SH: close 'abc'"),
        ("date,510300.SH\n2024-01-02,3.5\n2024-01-03,0\n", "line 3, 510300.SH: close '0'"),
        ("date,510300.SH\n2024-01-02,3.5\n2024-01-03,inf\n", "line 3, 510300.SH: close 'inf'"),
        ("date,510300.SH\n2024-01-02,3.5\n03.01.2024,3.6\n", "line 3: date '03.01.2024'"),
        ("date,510300.SH\n2024-01-02,3.5\n2099-01-03,3.6\n", "line 3: date '2099-01-03' is in"),
        ("date,510300.SH\n2024-01-02,3.5\n2024-01-03,3.6,1\n", "line 3: 3 fields, expected 2"),
        ("date,510300.SH\n2024-01-02,3.5\n2024-01-02,3.6\n", "line 3: 510300 on 2024-01-02"),
        ("code,510300.SH\n2024-01-02,3.5\n", "line 1: the first column is 'code'"),
        ("date,510300,510300.SH\n2024-01-02,3.5,3.5\n", "line 1: columns '510300' and"),
        ("date,,510300\n2024-01-02,1,3.5\n", "line 1: column 2 has no name"),
        ("date,999999.SZ\n2024-01-02,3.5\n", "line 1: no column names a product on the shelf"),
    ],
)
def test_each_kind_of_bad_wide_line_is_named_with_its_number(
    text: str, wrong: str, engine: Engine, known: frozenset[str]
) -> None:
    found = problems(engine, text, known)
    assert len(found) == 1
    assert found[0].startswith(wrong)


def test_a_wide_line_with_a_bad_date_is_one_bad_line(engine: Engine, known: frozenset[str]) -> None:
    text = "date,510300.SH,511260.SH\n2024-01-02,3.5,101.2\n2024-13-01,3.6,101.3\n"
    with pytest.raises(InvalidPrices) as caught:
        import_csv(engine, text, known)
    assert caught.value.problems == ["line 3: date '2024-13-01' is not YYYY-MM-DD"]
    assert str(caught.value).startswith("1 bad price line(s)")


@pytest.mark.parametrize("text", ["", "\n", "\ufeff", " , ,\n2024-01-02,510300,3.5\n"])
def test_a_file_without_a_header_is_refused(
    text: str, engine: Engine, known: frozenset[str]
) -> None:
    [found] = problems(engine, text, known)
    assert found.startswith("line 1: no header")


@pytest.mark.parametrize(
    "text",
    [
        "date,code,close\n",
        "date,code,close\n\n\n",
        "date,510300.SH\n",
        "date,510300\n2024-01-02,\n",
    ],
)
def test_a_file_without_prices_is_refused(text: str, engine: Engine, known: frozenset[str]) -> None:
    assert problems(engine, text, known) == ["no prices in the file"]


def test_every_bad_line_is_reported_in_order(engine: Engine, known: frozenset[str]) -> None:
    text = (
        "date,code,close\n"
        "2024-01-02,510300,3.5\n"  # 2: good
        "2024-01-03,510300,0\n"  # 3
        "2024-01-04,999999,3.5\n"  # 4
        "\n"  # 5: blank, still counted
        "2024-01-32,510300,3.5\n"  # 6
        "2024-01-08,510300,3.7\n"  # 7: good
        "2024-01-02,510300,3.9\n"  # 8: a second close for line 2's day
        "2024-01-09,510300\n"  # 9
    )
    with pytest.raises(InvalidPrices) as caught:
        import_csv(engine, text, known)
    found = caught.value.problems
    assert [p.split(":")[0] for p in found] == ["line 3", "line 4", "line 6", "line 8", "line 9"]
    message = str(caught.value)
    assert message.startswith("5 bad price line(s), nothing stored: line 3: ")
    for problem in found:
        assert problem in message


def test_a_long_list_of_bad_lines_is_cut_short_but_counted(
    engine: Engine, known: frozenset[str]
) -> None:
    bad = MAX_REPORTED + 10
    text = "date,code,close\n" + "".join(f"2024-01-02,X{n},3.5\n" for n in range(bad))
    with pytest.raises(InvalidPrices) as caught:
        import_csv(engine, text, known)
    assert len(caught.value.problems) == caught.value.total == bad
    message = str(caught.value)
    assert message.startswith(f"{bad} bad price line(s)")
    assert message.endswith("; and 10 more")
    assert f"line {MAX_REPORTED + 1}:" in message
    assert f"line {MAX_REPORTED + 2}:" not in message


def test_memory_keeps_the_first_bad_lines_and_counts_the_rest(
    engine: Engine, known: frozenset[str]
) -> None:
    """A file of nothing but bad lines is reported in full count, holding only the first KEPT
    (and a second close for a day, found in the staged rows, takes its place in line order)."""
    bad = KEPT + 500
    text = "date,code,close\n2024-01-02,510300,3.5\n2024-01-02,510300,3.6\n" + "".join(
        f"2024-01-03,X{n},3.5\n" for n in range(bad)
    )
    with pytest.raises(InvalidPrices) as caught:
        import_csv(engine, text, known)
    assert caught.value.total == bad + 1
    assert len(caught.value.problems) == KEPT
    assert caught.value.problems[0].startswith("line 3: 510300 on 2024-01-02 is 3.6 here")
    assert caught.value.problems[-1].startswith(f"line {KEPT + 2}: code 'X{KEPT - 2}'")


def test_json_rows_are_read_like_the_long_form(engine: Engine, known: frozenset[str]) -> None:
    assert next(json_source(ITEMS, known).items) == Row(1, "510300", date(2024, 1, 2), 3.5)
    assert import_json(engine, ITEMS, known)["rows"] == 5
    assert stored(engine) == triples(read(LONG, known))


@pytest.mark.parametrize(
    ("item", "wrong"),
    [
        ({"date": "2024-01-03", "code": "510300", "close": 0}, "close 0 is not a positive"),
        ({"date": "2024-01-03", "code": "510300", "close": -1.5}, "close -1.5 is not"),
        ({"date": "2024-01-03", "code": "510300", "close": True}, "close True is not"),
        ({"date": "2024-01-03", "code": "510300", "close": None}, "close None is not"),
        ({"date": "2024-01-03", "code": "510300", "close": float("nan")}, "close nan is not"),
        ({"date": "2024-01-03", "code": "510300", "close": float("inf")}, "close inf is not"),
        ({"date": "2024-01-03", "code": "510300"}, "close None is not a positive number"),
        ({"date": "2024-1-3", "code": "510300", "close": 3.5}, "date '2024-1-3' is not"),
        ({"date": 20240103, "code": "510300", "close": 3.5}, "date 20240103 is not"),
        ({"date": "2024-01-03", "code": "nope", "close": 3.5}, "code 'nope' is not on"),
        ({"date": "2024-01-02", "code": "510300", "close": 3.6}, "510300 on 2024-01-02 is 3.6"),
    ],
)
def test_each_bad_json_row_is_named_by_its_position(
    item: dict[str, Any], wrong: str, engine: Engine, known: frozenset[str]
) -> None:
    with pytest.raises(InvalidPrices) as caught:
        import_json(engine, [ITEMS[0], ITEMS[1], item], known)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"line 3: {wrong}")


def test_an_empty_json_body_has_no_prices(engine: Engine, known: frozenset[str]) -> None:
    with pytest.raises(InvalidPrices) as caught:
        import_json(engine, [], known)
    assert caught.value.problems == ["no prices in the file"]


def test_a_huge_integer_close_is_a_named_bad_line_not_a_crash(
    engine: Engine, known: frozenset[str]
) -> None:
    """1 followed by 400 zeros fits no float: as a JSON integer it raised OverflowError (a
    500 in the API); as a CSV cell it is as far out of range."""
    huge = 10**400
    wrong = "close 100000000000000000000000… (401 characters) is out of range (1e-06 to 1e+09)"
    with pytest.raises(InvalidPrices) as caught:
        import_json(engine, [{"date": "2024-01-02", "code": "510300", "close": huge}], known)
    assert caught.value.problems == [f"line 1: {wrong}"]
    text = f"date,code,close\n2024-01-02,510300,{huge}\n"
    cell = "close '10000000000000000000000… (403 characters) is out of range (1e-06 to 1e+09)"
    assert problems(engine, text, known) == [f"line 2: {cell}"]
    assert count(engine) == 0


def test_a_huge_negative_integer_close_is_a_named_bad_line_not_a_crash(
    engine: Engine, known: frozenset[str]
) -> None:
    """Minus 1 followed by 400 zeros: an integer below the range is refused before float()
    is asked for it, as one above it is (it raised OverflowError, a 500 in the API)."""
    rows = [
        {"date": "2024-01-02", "code": "510300", "close": -(10**400)},
        {"date": "2024-01-03", "code": "510300", "close": -1},
        {"date": "2024-01-04", "code": "510300", "close": 0},
    ]
    with pytest.raises(InvalidPrices) as caught:
        import_json(engine, rows, known)
    assert caught.value.problems == [
        "line 1: close -10000000000000000000000… (402 characters) is not a positive number",
        "line 2: close -1 is not a positive number",
        "line 3: close 0 is not a positive number",
    ]
    assert count(engine) == 0


@pytest.mark.parametrize("digits", ["４.５", "٤.٥", "4.５", "৪.৫"])
def test_closes_in_digits_other_than_ascii_are_refused(
    digits: str, engine: Engine, known: frozenset[str]
) -> None:
    """Full-width (４.５), Arabic-Indic (٤.٥) and other Unicode digits are refused, though
    Python's float() reads them: a firm's systems export ASCII, and such a cell was typed."""
    assert float(digits) == 4.5
    wrong = f"close {digits!r} is not written in ASCII digits (0-9)"
    long = f"date,code,close\n2024-01-02,510300,{digits}\n"
    assert problems(engine, long, known) == [f"line 2: {wrong}"]
    wide = f"date,510300.SH\n2024-01-02,3.5\n2024-01-03,{digits}\n"
    assert problems(engine, wide, known) == [f"line 3, 510300.SH: {wrong}"]
    day = "date,code,close\n２０２４-０１-０２,510300,4.5\n"
    assert problems(engine, day, known) == ["line 2: date '２０２４-０１-０２' is not YYYY-MM-DD"]
    assert count(engine) == 0


def test_a_close_given_as_a_json_string_is_read(known: frozenset[str]) -> None:
    body = json.loads('[{"date": "2024-01-02", "code": "510300.SH", "close": "3.5"}]')
    assert triples(list(json_source(body, known).items)) == [("510300", date(2024, 1, 2), 3.5)]


# ---- storing -------------------------------------------------------------------------------


def count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(Price)).one())


def mark(engine: Engine) -> int:
    with session_scope(engine) as session:
        return prices.version(session)


def stored(engine: Engine) -> list[tuple[str, date, float]]:
    with session_scope(engine) as session:
        found = prices.series(session, SHELF_IN_FILE)
    return sorted((code, day, close) for code, rows in found.items() for day, close in rows)


def test_an_empty_database_has_no_prices(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert prices.version(session) == 0
        assert prices.last_day(session) is None
        assert prices.summary(session) == []
        assert prices.series(session, ["510300"]) == {}


def test_storing_answers_what_was_stored(engine: Engine, known: frozenset[str]) -> None:
    text = "date,510300.SH,511260.SH,159941.SZ\n2024-01-02,3.50,101.25,0.8\n2024-01-04,3.52,,\n"
    answer = import_csv(engine, text, known)
    assert answer["import_id"].startswith("imp-")
    assert {k: v for k, v in answer.items() if k != "import_id"} == {
        "rows": 3,
        "codes": ["510300", "511260"],
        "from": "2024-01-02",
        "to": "2024-01-04",
        "changed": 3,
        "replaced": 0,
        "skipped": ["159941.SZ"],
        "overridden": 0,
    }
    assert count(engine) == 3
    assert mark(engine) == 1


def test_a_bad_file_stores_nothing(engine: Engine, known: frozenset[str]) -> None:
    bad = LONG + "2024-01-05,510300,0\n"
    with pytest.raises(InvalidPrices):
        import_csv(engine, bad, known)
    assert count(engine) == 0
    assert mark(engine) == 0
    import_csv(engine, LONG, known)
    before = stored(engine)
    with pytest.raises(InvalidPrices):
        import_csv(engine, bad.replace("3.55", "3.66"), known)
    assert stored(engine) == before
    assert mark(engine) == 1


def test_a_re_import_changes_nothing(engine: Engine, known: frozenset[str]) -> None:
    first = import_csv(engine, LONG, known)
    assert first["changed"] == 5 and mark(engine) == 1
    before = stored(engine)
    again = import_csv(engine, LONG, known)
    assert again["changed"] == 0 and again["rows"] == 5
    assert mark(engine) == 1
    assert stored(engine) == before
    # the same prices in the other forms are the same prices
    assert import_csv(engine, WIDE, known)["changed"] == 0
    assert import_json(engine, ITEMS, known)["changed"] == 0
    assert mark(engine) == 1
    assert count(engine) == 5


def test_a_corrected_price_replaces_the_stored_one(engine: Engine, known: frozenset[str]) -> None:
    import_csv(engine, LONG, known)
    corrected = LONG.replace("2024-01-03,510300,3.55", "2024-01-03,510300,3.56")
    answer = import_csv(engine, corrected, known)
    assert (answer["changed"], answer["replaced"], answer["rows"]) == (1, 1, 5)
    assert mark(engine) == 2
    assert count(engine) == 5
    assert ("510300", date(2024, 1, 3), 3.56) in stored(engine)
    assert ("510300", date(2024, 1, 3), 3.55) not in stored(engine)
    # a file that adds a day changes that day only, and restates nothing
    answer = import_csv(engine, "date,code,close\n2024-01-05,510300,3.6\n", known)
    assert (answer["changed"], answer["replaced"]) == (1, 0)
    assert mark(engine) == 3
    assert count(engine) == 6


def test_the_long_form_and_json_rows_store_the_same_rows(
    engine: Engine, known: frozenset[str]
) -> None:
    import_csv(engine, LONG, known)
    from_csv = stored(engine)
    with session_scope(engine) as session:
        session.execute(delete(Price))
    assert count(engine) == 0
    assert import_json(engine, ITEMS, known)["changed"] == 5
    assert stored(engine) == from_csv == triples(read(LONG, known))


def test_the_real_file_stored_and_read_back(
    engine: Engine, known: frozenset[str], shared_data: Path
) -> None:
    text = (shared_data / REAL).read_text(encoding="utf-8")
    answer = import_csv(engine, text, known)
    assert answer["rows"] == answer["changed"] == 6 * 2062
    assert answer["codes"] == SHELF_IN_FILE
    assert (answer["from"], answer["to"]) == ("2017-08-04", "2026-02-26")
    assert answer["skipped"] == ["159941.SZ"]
    with session_scope(engine) as session:
        assert prices.last_day(session) == date(2026, 2, 26)
        assert prices.summary(session) == [
            {"code": code, "prices": 2062, "from": "2017-08-04", "to": "2026-02-26"}
            for code in SHELF_IN_FILE
        ]
        until = prices.series(session, ["510300", "TW-BD-01"], until=date(2023, 6, 30))
    assert set(until) == {"510300"}  # a code without prices is absent
    assert until["510300"][-1] == (date(2023, 6, 30), 3.6227028369903564)
    assert [day for day, _ in until["510300"]] == sorted(day for day, _ in until["510300"])
    assert stored(engine) == triples(read(text, known))  # every close exactly as in the file
    # and a re-import of the real file changes nothing
    assert import_csv(engine, text, known)["changed"] == 0
    assert mark(engine) == 1
