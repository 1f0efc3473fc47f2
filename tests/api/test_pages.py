"""List pages under TIERWISE_MAX_PAGE_BYTES (api/paging.py): every list route stops a page
before its body passes the budget, whatever `limit` asks, and `next` goes on from the first item
left out, so walking the pages finds every item once, in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from apihelp import auth
from factories import AS_OF, make_client
from fastapi.testclient import TestClient

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import batches, clients, principals, runs
from core.settings import Settings
from core.tables import Client, Outcome, Run
from graphs.runner import Runner

BUDGET = 6000  # bytes: a few items of each kind a page
LIMIT = {"limit": 200}


@pytest.fixture
def capped(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The API with a small page budget, and a supervisor's and the service's headers."""
    small = settings.model_copy(update={"max_page_bytes": BUDGET})
    with session_scope(get_engine(small.database_url)) as session:
        headers = {
            role: auth(principals.create(session, name, role)[1])["Authorization"]
            for name, role in (("sup-zhao", "supervisor"), ("svc-core", "service"))
        }
    with TestClient(create_app(small)) as api:
        yield api, headers


def walk(api: TestClient, path: str, token: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following `next`; each page's body within BUDGET unless it is one
    item alone."""
    pages, cursor = [], None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        answer = api.get(path, params=query, headers={"Authorization": token})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(answer.content) <= BUDGET or len(page["items"]) == 1, len(answer.content)
        pages.append(page["items"])
        if not (cursor := page["next"]):
            return pages


def test_runs_pages_stop_at_the_budget_and_next_loses_and_repeats_nothing(
    capped: tuple[TestClient, dict[str, str]], settings: Settings
) -> None:
    api, token = capped
    with session_scope(get_engine(settings.database_url)) as session:
        for n in range(12):  # requests of 100 to 1,200 characters: items of uneven sizes
            client = make_client(client_id=f"C-PAGE{n:02d}")
            clients.upsert(session, client)
            runs.create(session, client, as_of=AS_OF, request="多配债券。" * (20 + 20 * n))
    pages = walk(api, "/v1/runs", token["supervisor"], **LIMIT)
    assert len(pages) > 2 and all(len(p) < 12 for p in pages)  # the budget, not the limit, cut
    ids = [r["id"] for page in pages for r in page]
    with TestClient(create_app(settings)) as roomy:  # the default budget: one page of all
        whole = roomy.get("/v1/runs", params=LIMIT, headers={"Authorization": token["supervisor"]})
    assert ids == [r["id"] for r in whole.json()["items"]] and len(set(ids)) == 12
    assert whole.json()["next"] is None


def test_an_item_larger_than_the_budget_is_a_page_of_its_own(
    capped: tuple[TestClient, dict[str, str]], settings: Settings
) -> None:
    api, token = capped
    with session_scope(get_engine(settings.database_url)) as session:
        for n, words in enumerate((10, 400, 10)):  # the middle run alone is over BUDGET
            client = make_client(client_id=f"C-BIG{n}")
            clients.upsert(session, client)
            runs.create(session, client, as_of=AS_OF, request="多配债券。" * words)
    pages = walk(api, "/v1/runs", token["supervisor"], **LIMIT)
    assert [[r["client_id"] for r in page] for page in pages] == [
        ["C-BIG2"],
        ["C-BIG1"],
        ["C-BIG0"],
    ]


def test_the_review_queue_pages_oldest_first_within_the_budget(
    capped: tuple[TestClient, dict[str, str]], runner: Runner
) -> None:
    api, token = capped
    for n in range(5):
        record = make_client(client_id=f"C-REVIEW{n}")
        with session_scope(runner.engine) as session:
            clients.upsert(session, record)
        assert runner.execute(runner.create(record, as_of=AS_OF).id).status == "awaiting_approval"
    pages = walk(api, "/v1/approvals", token["supervisor"], **LIMIT)
    assert len(pages) > 1
    listed = [a["client_id"] for page in pages for a in page]
    assert listed == [f"C-REVIEW{n}" for n in range(5)]
    by_two = walk(api, "/v1/approvals", token["supervisor"], limit=2)
    assert [a["client_id"] for page in by_two for a in page] == listed


def test_batch_items_page_within_the_budget(
    capped: tuple[TestClient, dict[str, str]], settings: Settings
) -> None:
    api, token = capped
    with session_scope(get_engine(settings.database_url)) as session:
        for n in range(120):
            clients.upsert(session, make_client(client_id=f"C-ITEM{n:03d}"))
        batch = batches.create(
            session,
            batches.Selection(client_ids=tuple(f"C-ITEM{n:03d}" for n in range(120))),
            tiers=settings.tiers,
            as_of=date.today(),
            shipped_from=date(2017, 8, 4),  # where the shipped assumptions' prices begin
            actor="svc-core",
        )
    pages = walk(api, f"/v1/batches/{batch.id}/items", token["service"], limit=500)
    assert len(pages) > 1
    listed = [i["client_id"] for page in pages for i in page]
    assert listed == [f"C-ITEM{n:03d}" for n in range(120)]


def test_breaches_page_newest_first_within_the_budget(
    capped: tuple[TestClient, dict[str, str]], settings: Settings
) -> None:
    api, token = capped
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with session_scope(get_engine(settings.database_url)) as session:
        for n in range(40):  # five plans a day: the keyset breaks ties by run id
            client_id, day = f"C-FELL{n:02d}", date(2024, 1, 2) + timedelta(days=n // 5)
            session.add(Client(id=client_id, advisor_id="adv-li", data={}))
            session.add(_run(f"run-fell-{n:02d}", client_id, day))
            session.flush()
            session.add(_breach(f"run-fell-{n:02d}", client_id, day, start + timedelta(n)))
    pages = walk(api, "/v1/outcomes/breaches", token["supervisor"], limit=1000)
    assert len(pages) > 1
    listed = [b["run_id"] for page in pages for b in page]
    newest_first = sorted(range(40), key=lambda n: (-(n // 5), n))
    assert listed == [f"run-fell-{n:02d}" for n in newest_first]


def _run(run_id: str, client_id: str, day: date) -> Run:
    return Run(
        id=run_id,
        client_id=client_id,
        advisor_id="adv-li",
        status="delivered",
        tier="mid_tier",
        locale="zh-CN",
        as_of=day.isoformat(),
        client_snapshot={"advisor_id": "adv-li"},
    )


def _breach(run_id: str, client_id: str, day: date, delivered: datetime) -> Outcome:
    return Outcome(
        run_id=run_id,
        client_id=client_id,
        advisor_id="adv-li",
        tier="mid_tier",
        from_day=day,
        to_day=date(2026, 2, 26),
        delivered_at=delivered,
        coverage=1.0,
        plan_return=-0.2,
        max_drawdown=0.25,
        tolerance=0.1,
        breach=True,
        figures={},
        prices_version=1,
    )


NO_ZONE = "MjAyNi0wMS0wMVQwMDowMDowMHxydW4tMA=="  # "2026-01-01T00:00:00|run-0": a naive time


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/v1/approvals", "not-a-cursor"),
        ("/v1/approvals", NO_ZONE),
        ("/v1/outcomes/breaches", "not-a-cursor"),
        ("/v1/outcomes/breaches", NO_ZONE),  # a breach cursor holds a day, not a time
    ],
)
def test_a_crafted_cursor_is_refused_by_name_on_every_keyset_list(
    capped: tuple[TestClient, dict[str, str]], path: str, cursor: str
) -> None:
    api, token = capped
    answer = api.get(
        path, params={"cursor": cursor}, headers={"Authorization": token["supervisor"]}
    )
    assert answer.status_code == 422 and answer.json()["detail"].startswith("cursor: ")
