"""Crafted cursors are the caller's mistake: 422 naming the cursor, never a 500 (issue 12 §5)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from apihelp import auth
from factories import make_client
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.database import get_engine, session_scope
from core.services import cursors, runs
from core.settings import Settings


def encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()


_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
_stamps = st.datetimes(timezones=st.none() | _offsets).map(datetime.isoformat)
_ids = st.text(max_size=80) | st.just("run-0")
# Any text at all; any text base64-encoded; and well-formed-looking "time|id" pairs whose time
# may be naive, at the edges of the calendar, or shifted out of it by its offset.
CURSORS = st.one_of(
    st.text(),
    st.text().map(encoded),
    st.tuples(_stamps, _ids).map(lambda p: encoded(f"{p[0]}|{p[1]}")),
)
CRAFTED = [
    "0001-01-01T00:00:00+14:00|run-0",  # before year 1 once in UTC
    "9999-12-31T23:59:59-14:00|run-0",  # after year 9999 once in UTC
    "2026-01-01T00:00:00|run-0",  # naive: no offset
    "2026-01-01T00:00:00+00:00|run\x00-0",  # a NUL byte PostgreSQL refuses
    "2026-01-01T00:00:00+00:00|",  # no id
    "2026-01-01T00:00:00+00:00",  # no separator
]


@pytest.fixture
def supervisor(api: TestClient, tokens: dict[str, str], settings: Settings) -> dict[str, str]:
    """A supervisor's headers, with three runs stored so that a cursor has rows to compare."""
    with session_scope(get_engine(settings.database_url)) as session:
        for n in range(3):
            runs.create(session, make_client(client_id=f"c-cursor-{n}"), as_of=date(2026, 1, 5))
    return auth(tokens["sup-zhao"])


@pytest.mark.parametrize("raw", CRAFTED)
def test_a_crafted_cursor_is_refused_by_name(
    api: TestClient, supervisor: dict[str, str], raw: str
) -> None:
    answer = api.get("/v1/runs", params={"cursor": encoded(raw)}, headers=supervisor)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "InvalidInput" and body["detail"].startswith("cursor: ")


def test_the_cursors_the_api_returns_still_page_through_every_run(
    api: TestClient, supervisor: dict[str, str]
) -> None:
    seen, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/runs", params=params, headers=supervisor).json()
        seen += [r["id"] for r in page["items"]]
        if not (cursor := page["next"]):
            break
    assert len(seen) == len(set(seen)) == 3


def test_a_cursor_shifted_by_its_offset_means_the_same_instant() -> None:
    created = datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    cursor = encoded(f"{created.isoformat()}|run-0")
    keys = (cursors.instant, cursors.row_id)
    assert cursors.decode(cursor, keys, "") == (datetime(2026, 1, 1, tzinfo=UTC), "run-0")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cursor=CURSORS)
def test_any_cursor_is_answered_200_or_422_never_500(
    api: TestClient, supervisor: dict[str, str], cursor: str
) -> None:
    try:
        cursor.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be sent in a URL at all
        return
    answer = api.get("/v1/runs", params={"cursor": cursor}, headers=supervisor)
    assert answer.status_code in (200, 422), (cursor, answer.text)
    if answer.status_code == 422:
        assert answer.json()["detail"].startswith("cursor: ")
