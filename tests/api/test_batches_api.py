"""`/v1/batches` on the embedded engine: queue, progress, items, cancel, idempotency, roles."""

from __future__ import annotations

import base64
import time
from datetime import date, timedelta
from typing import Any

from apihelp import auth, put_client
from fastapi.testclient import TestClient
from sqlmodel import select

from core.database import get_engine, session_scope
from core.settings import Settings
from core.tables import Batch, BatchItem, Run


def _book(api: TestClient, tokens: dict[str, str]) -> None:
    for n in range(3):
        put_client(api, tokens, client_id=f"C-LT{n}", aum=200000, liquidity_need=20000)
    put_client(api, tokens, client_id="C-MID")
    put_client(
        api,
        tokens,
        client_id="C-HNW",
        aum=8_000_000,
        financial_assets=9_000_000,
        advisor_id="adv-wang",
    )


def _settled(api: TestClient, token: str, batch_id: str, settings: Settings) -> dict[str, Any]:
    """Poll the batch until it closes; fail once its counts have not moved for a lease (a
    driver renews its lease between items, and each item is one run)."""
    last, moved = None, time.monotonic()
    while True:
        batch = api.get(f"/v1/batches/{batch_id}", headers=auth(token)).json()
        if batch["status"] in ("done", "cancelled"):
            return batch
        if batch["counts"] != last:
            last, moved = batch["counts"], time.monotonic()
        elif time.monotonic() - moved > settings.lease_seconds:
            raise AssertionError(f"batch {batch_id} stalled at {batch}")
        time.sleep(0.05)


def test_a_batch_of_every_client_runs_each_once_in_process(api, tokens, settings):  # type: ignore[no-untyped-def]
    _book(api, tokens)
    answer = api.post("/v1/batches", json={}, headers=auth(tokens["svc-core"]))
    assert answer.status_code == 202, answer.text
    made = answer.json()
    assert made["total"] == 5 and sum(made["counts"].values()) == 5
    assert made["status"] in ("queued", "running", "done")
    done = _settled(api, tokens["svc-core"], made["id"], settings)
    assert done["status"] == "done" and done["finished_at"] is not None
    assert done["counts"] == {"delivered": 3, "awaiting_approval": 2}
    items = api.get(f"/v1/batches/{made['id']}/items", headers=auth(tokens["svc-core"])).json()
    assert len(items["items"]) == 5 and items["next"] is None
    waiting = api.get(
        f"/v1/batches/{made['id']}/items?status=awaiting_approval",
        headers=auth(tokens["sup-zhao"]),
    ).json()["items"]
    assert sorted(i["client_id"] for i in waiting) == ["C-HNW", "C-MID"]
    # Each waiting run is an ordinary run in its advisor's review queue.
    for item in waiting:
        run = api.get(f"/v1/runs/{item['run_id']}", headers=auth(tokens["svc-core"])).json()
        assert run["status"] == "awaiting_approval" and run["approval"]["status"] == "pending"
    queue = api.get("/v1/approvals", headers=auth(tokens["adv-wang"])).json()["items"]
    assert [a["client_id"] for a in queue] == ["C-HNW"]


def test_a_filter_a_request_and_a_valuation_date_reach_every_run(api, tokens, settings):  # type: ignore[no-untyped-def]
    _book(api, tokens)
    body = {
        "filter": {"tier": "long_tail", "risk_level": "C3"},
        "request": "多配一点债券，我的电话是13912345678",
        "as_of": "2026-11-20",
    }
    made = api.post("/v1/batches", json=body, headers=auth(tokens["sup-zhao"])).json()
    assert made["total"] == 3 and made["as_of"] == "2026-11-20"
    assert "13912345678" not in made["request"]  # masked, stored masked
    done = _settled(api, tokens["svc-core"], made["id"], settings)
    assert done["counts"] == {"delivered": 3}
    with session_scope(get_engine(settings.database_url)) as session:
        found = session.exec(select(Run)).all()
        assert {(r.as_of, r.request) for r in found} == {("2026-11-20", made["request"])}


def test_an_idempotency_key_returns_the_same_batch_and_refuses_another_body(api, tokens):  # type: ignore[no-untyped-def]
    _book(api, tokens)
    key = {**auth(tokens["svc-core"]), "Idempotency-Key": "push-2026-11"}
    first = api.post("/v1/batches", json={"filter": {"tier": "hnw"}}, headers=key)
    again = api.post("/v1/batches", json={"filter": {"tier": "hnw"}}, headers=key)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = api.post("/v1/batches", json={"filter": {"tier": "mid_tier"}}, headers=key)
    assert other.status_code == 409 and other.json()["error"] == "IdempotencyKeyReused"
    with session_scope(get_engine(api.app.state.settings.database_url)) as session:  # type: ignore[attr-defined]
        assert len(session.exec(select(Batch)).all()) == 1
        assert len(session.exec(select(BatchItem)).all()) == 1


def test_cancel_stops_what_has_not_started(api, tokens, settings):  # type: ignore[no-untyped-def]
    _book(api, tokens)
    api.app.state.batch_executor.shutdown(wait=True)  # type: ignore[attr-defined]  # nothing drives it
    made = api.post("/v1/batches", json={}, headers=auth(tokens["svc-core"])).json()
    cancelled = api.post(f"/v1/batches/{made['id']}/cancel", headers=auth(tokens["svc-core"]))
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["counts"] == {"cancelled": 5}
    again = api.post(f"/v1/batches/{made['id']}/cancel", headers=auth(tokens["sup-zhao"]))
    assert again.json() == body
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(Run)).all() == []


def test_bad_input_is_named_and_nothing_is_queued(api, tokens, settings):  # type: ignore[no-untyped-def]
    _book(api, tokens)
    svc = auth(tokens["svc-core"])
    unknown = api.post("/v1/batches", json={"client_ids": ["C-LT0", "C-NOPE"]}, headers=svc)
    assert unknown.status_code == 404 and "'C-NOPE'" in unknown.json()["detail"]
    bad = api.post(
        "/v1/batches",
        json={"filter": {"tier": "gold", "colour": "red"}, "as_of": "someday"},
        headers=svc,
    )
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert "tier" in detail and "colour" in detail and "as_of" in detail
    assert api.post("/v1/batches", json={"client_ids": []}, headers=svc).status_code == 422
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(Batch)).all() == []
    missing = api.get("/v1/batches/batch-missing", headers=svc)
    assert missing.status_code == 404 and missing.json()["error"] == "BatchNotFound"
    made = api.post("/v1/batches", json={"client_ids": ["C-LT0"]}, headers=svc).json()
    cursor = api.get(f"/v1/batches/{made['id']}/items?cursor=zzz", headers=svc)
    assert cursor.status_code == 422
    status = api.get(f"/v1/batches/{made['id']}/items?status=lost", headers=svc)
    assert status.status_code == 422
    huge = base64.urlsafe_b64encode(b"99999999999999999999").decode()
    assert api.get(f"/v1/batches/{made['id']}/items?cursor={huge}", headers=svc).status_code == 422
    # A NUL byte would fail inside PostgreSQL's driver: named, never a 500.
    assert api.get("/v1/batches/a%00b", headers=svc).status_code == 404
    assert api.get("/v1/batches/a%00b/items", headers=svc).status_code == 404
    nul = api.post("/v1/batches", json={"client_ids": ["C\u0000X"]}, headers=svc)
    assert nul.status_code == 422 and "client_ids.0" in nul.json()["detail"]
    nul = api.post("/v1/batches", json={"filter": {"advisor_id": "a\u0000"}}, headers=svc)
    assert nul.status_code == 422 and "advisor_id" in nul.json()["detail"]


def test_a_valuation_date_out_of_range_or_ids_with_a_filter_are_422_and_nothing_is_queued(  # type: ignore[no-untyped-def]
    api, tokens, settings
):
    _book(api, tokens)
    svc = auth(tokens["svc-core"])
    soon = (date.today() + timedelta(days=2)).isoformat()
    shipped = api.app.state.runner.market.cma.first_day  # type: ignore[attr-defined]
    early = (shipped - timedelta(days=1)).isoformat()
    for day, why in (
        ("9999-12-31", "in the future"),
        (soon, "in the future"),
        ("0001-01-01", f"before the first price the shipped assumptions use ({shipped})"),
        (early, f"before the first price the shipped assumptions use ({shipped})"),
        (0, "as_of: Value error, must be a date as YYYY-MM-DD text"),
        ("0", "as_of: Value error, must be a date as YYYY-MM-DD text"),
        (1_700_000_000, "as_of: Value error, must be a date as YYYY-MM-DD text"),
    ):
        refused = api.post("/v1/batches", json={"as_of": day}, headers=svc)
        assert refused.status_code == 422, (day, refused.text)
        assert "as_of" in refused.json()["detail"] and why in refused.json()["detail"], day
    for given in ({}, {"tier": "hnw"}):  # an empty filter beside ids is refused too
        both = api.post("/v1/batches", json={"client_ids": ["C-LT0"], "filter": given}, headers=svc)
        assert both.status_code == 422 and both.json()["error"] == "ValidationError", given
        assert both.json()["detail"].startswith("filter: Value error, client_ids and filter")
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(Batch)).all() == []
    # A null filter is no filter.
    named = api.post("/v1/batches", json={"client_ids": ["C-LT0"], "filter": None}, headers=svc)
    assert named.status_code == 202 and named.json()["selection"] == {"client_ids": 1}
    # A past date after the earliest price is fine.
    past = api.post(
        "/v1/batches", json={"as_of": "2023-06-30", "client_ids": ["C-LT0"]}, headers=svc
    )
    assert past.status_code == 202 and past.json()["as_of"] == "2023-06-30"


def test_only_service_and_supervisor_push_or_read_batches(api, tokens):  # type: ignore[no-untyped-def]
    _book(api, tokens)
    for who in ("adv-li", "eng-chen"):
        refused = api.post("/v1/batches", json={}, headers=auth(tokens[who]))
        assert refused.status_code == 403
    made = api.post("/v1/batches", json={"client_ids": ["C-LT0"]}, headers=auth(tokens["svc-core"]))
    batch_id = made.json()["id"]
    for path in (f"/v1/batches/{batch_id}", f"/v1/batches/{batch_id}/items"):
        assert api.get(path, headers=auth(tokens["adv-li"])).status_code == 403
        assert api.get(path).status_code == 401
    assert (
        api.post(f"/v1/batches/{batch_id}/cancel", headers=auth(tokens["adv-li"])).status_code
        == 403
    )
