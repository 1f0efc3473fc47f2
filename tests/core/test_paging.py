"""Every list service pages one way (core/services/cursors.py): each item with the cursor that
continues after it, and the next page's cursor, None on the last; a cursor the service did not
write is InvalidInput naming it, before any query."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from factories import AS_OF, make_client, pending_review
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session
from test_outcomes_store import _plan

from core.database import get_engine, session_scope
from core.errors import InvalidInput
from core.services import approvals, batches, clients, cursors, outcomes, runs
from core.services.review_queue import SORT_KEYS
from core.settings import Settings
from core.tables import Client, Principal

Fetch = Callable[[Session, int, str | None], cursors.Page[Any]]
SUPERVISOR = Principal(name="sup-zhao", role="supervisor", token_hash="-")
LISTS = ("runs", "reviews", "batch items", "breaches")


def _stored(engine: Engine, settings: Settings, kind: str) -> tuple[Fetch, Callable[[Any], str]]:
    """Five rows of the list stored, the service call that pages it, and an item's identity."""
    with session_scope(engine) as session:
        if kind == "breaches":  # two plans a day: ties broken by run id
            for n in range(5):
                session.add(Client(id=f"C-{n:03d}", advisor_id="adv-li", data={}))
                _plan(session, n, breach=True, day=date(2024, 1, 2) + timedelta(days=n // 2))
            return (
                lambda s, limit, cursor: outcomes.breach_page(s, limit=limit, cursor=cursor),
                lambda breach: breach[0].run_id,
            )
        made = [make_client(client_id=f"C-P{n}") for n in range(5)]
        for client in made:
            clients.upsert(session, client)
        if kind == "runs":
            for client in made:
                runs.create(session, client, as_of=AS_OF)
            return (
                lambda s, limit, cursor: runs.list_runs(s, limit=limit, cursor=cursor),
                lambda run: run.client_id,
            )
        if kind == "reviews":
            for client in made:
                pending_review(session, client)
            months = settings.compliance.assessment_valid_months
            return (
                lambda s, limit, cursor: approvals.queue(
                    s, SUPERVISOR, AS_OF, months, limit=limit, cursor=cursor
                ),
                lambda review: review["id"],
            )
        batch = batches.create(
            session,
            batches.Selection(client_ids=tuple(c.client_id for c in made)),
            tiers=settings.tiers,
            as_of=AS_OF,
            shipped_from=date(2017, 8, 4),
            actor="svc-core",
        )
        return (
            lambda s, limit, cursor: batches.item_page(s, batch.id, None, limit, cursor),
            lambda item: item["client_id"],
        )


@pytest.fixture(params=LISTS)
def listed(request: pytest.FixtureRequest, settings: Settings) -> Iterator[tuple[Engine, Fetch]]:
    engine = get_engine(settings.database_url)
    fetch, identity = _stored(engine, settings, request.param)

    def ids(session: Session, limit: int, cursor: str | None) -> cursors.Page[str]:
        found, more = fetch(session, limit, cursor)
        return [(identity(item), after) for item, after in found], more

    yield engine, ids


def test_a_list_walked_two_at_a_time_is_the_list_in_one_page(
    listed: tuple[Engine, Fetch],
) -> None:
    engine, fetch = listed
    with session_scope(engine) as session:
        whole, more = fetch(session, 100, None)
        assert more is None and len(whole) == 5
        assert fetch(session, 100, "") == (whole, None)  # an empty cursor, as none
        assert fetch(session, 2, None)[1] is not None
        walked = list(cursors.every(lambda cursor: fetch(session, 2, cursor)))
    assert walked == [item for item, _ in whole]


def test_each_items_cursor_goes_on_from_the_item_after_it(listed: tuple[Engine, Fetch]) -> None:
    engine, fetch = listed
    with session_scope(engine) as session:
        whole, _ = fetch(session, 100, None)
        for k, (_, after) in enumerate(whole):
            rest, more = fetch(session, 100, after)
            assert rest == whole[k + 1 :] and more is None


def encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


CRAFTED = [
    "not-a-cursor",
    encoded("99999999999999999999"),  # past BIGINT, as an item number
    encoded("-1"),
    encoded("１２"),  # full-width digits: int() reads them, a cursor never holds them
    encoded("12") + "!!",  # characters base64 does not use, which a lenient decoder skips
    encoded("2026-01-01T00:00:00|run-0"),  # a time without its offset
    encoded("2026-01-01T00:00:00+00:00|run\x00-0"),  # a NUL byte PostgreSQL refuses
]


@pytest.mark.parametrize("cursor", CRAFTED)
def test_a_crafted_cursor_is_refused_naming_it(listed: tuple[Engine, Fetch], cursor: str) -> None:
    engine, fetch = listed
    with session_scope(engine) as session, pytest.raises(InvalidInput, match=r"^cursor: '"):
        fetch(session, 2, cursor)


_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
_instants = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_offsets
)
_labels = st.text(st.characters(blacklist_characters="|"), max_size=cursors.MAX_TEXT)
_KEYS = {  # every key kind a list sorts on, with the parser that reads it back
    cursors.instant: _instants,
    cursors.day: st.dates(),
    cursors.serial: st.integers(0, cursors.MAX_SERIAL),
    cursors.number: st.floats(allow_nan=False, allow_infinity=False),
    cursors.text: _labels.filter(str.isprintable),
}
_ids = st.text(min_size=1, max_size=cursors.MAX_TEXT).filter(str.isprintable)  # "|" included


@given(
    st.lists(st.sampled_from(list(_KEYS)), max_size=4).flatmap(
        lambda parsers: st.tuples(st.just(parsers), st.tuples(*(_KEYS[p] for p in parsers)), _ids)
    )
)
def test_any_keys_read_back_as_they_were_written(
    drawn: tuple[list[Callable[[str], Any]], tuple[Any, ...], str],
) -> None:
    parsers, keys, row_id = drawn
    cursor = cursors.encode(*keys, row_id)
    assert cursors.decode(cursor, (*parsers, cursors.row_id), "") == (*keys, row_id)


ORDERS = {  # the keys each list's cursor holds
    "runs, reviews": (cursors.instant, cursors.row_id),
    "breaches": (cursors.day, cursors.row_id),
    "batch items": (cursors.serial,),
    **{
        f"inbox by {sort}": (cursors.exactly(sort), *(k.parse for k in keys))
        for sort, keys in SORT_KEYS.items()
    },
}


@pytest.mark.parametrize("keys", ORDERS.values(), ids=ORDERS.keys())
@given(cursor=st.text() | st.text().map(encoded) | st.binary().map(base64.urlsafe_b64encode))
def test_any_text_is_a_cursor_or_refused_by_name(
    keys: tuple[Callable[[str], Any], ...], cursor: str | bytes
) -> None:
    text = cursor.decode() if isinstance(cursor, bytes) else cursor
    try:
        assert len(cursors.decode(text, keys, "the start", name="after")) == len(keys)
    except InvalidInput as refused:
        assert refused.detail.startswith("after: ")
