"""Service effect over the API: PUT /v1/prices, GET /v1/runs/{id}/outcome, GET /v1/outcomes."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from apihelp import auth
from factories import long_tail_client, make_client
from fastapi.testclient import TestClient
from outcomehelp import LAST_PRICE, deliver_on, import_prices
from sqlmodel import col, func, select

from api.app import create_app
from core.database import session_scope
from core.services import outcomes, prices
from core.settings import Settings
from core.tables import Client, Outcome, Price
from graphs.runner import Runner
from tools.outcomes import service

PAST = date(2023, 6, 30)


def _runner(api: TestClient) -> Runner:
    runner: Runner = api.app.state.runner  # type: ignore[attr-defined]
    return runner


def _price_count(runner: Runner) -> int:
    with session_scope(runner.engine) as session:
        return int(session.exec(select(func.count()).select_from(Price)).one())


@pytest.fixture
def book(api: TestClient, tokens: dict[str, str]) -> dict[str, str]:
    """Real prices, and plans delivered on 2023-06-30 for a client of each advisor."""
    runner = _runner(api)
    import_prices(runner)
    return {
        "li": deliver_on(runner, long_tail_client(client_id="C-LI"), PAST),
        "wang": deliver_on(
            runner, long_tail_client(client_id="C-WANG", advisor_id="adv-wang"), PAST
        ),
    }


def test_a_delivered_plan_has_its_outcome_against_both_baselines(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    got = api.get(f"/v1/runs/{book['li']}/outcome", headers=auth(tokens["adv-li"]))
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["from"], body["to"]) == (PAST.isoformat(), LAST_PRICE.isoformat())
    assert body["annualised"] is True and body["client_facing"] is True
    assert 0 < body["coverage"] <= 1
    for figures in (body["plan"], *body["baselines"].values()):
        assert {"return", "volatility", "max_drawdown"} <= set(figures)
        assert figures["volatility"] is not None  # always beside the return
    excess = body["excess"]
    assert excess["holdings"] == pytest.approx(
        body["plan"]["return"] - body["baselines"]["holdings"]["return"]
    )
    assert body["disclosure"] == "过往业绩不预示其未来表现。"
    # The same figures as the service computes them.
    runner = _runner(api)
    with session_scope(runner.engine) as session:
        from core.services import runs

        direct = service.measure(session, runs.get(session, book["li"]), runner.market)
    assert body["plan"]["return"] == pytest.approx(direct["plan"]["return"])


def test_under_a_year_nothing_is_annualised_and_under_six_months_nothing_for_clients(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    headers = auth(tokens["svc-core"])
    short = api.get(f"/v1/runs/{book['li']}/outcome?to=2023-11-30", headers=headers).json()
    assert short["months"] == 5 and short["annualised"] is False
    assert short["client_facing"] is False
    assert short["plan"]["annualised_return"] is None
    assert short["plan"]["volatility"] is not None
    refused = api.get(
        f"/v1/runs/{book['li']}/outcome?to=2023-11-30&audience=client", headers=headers
    )
    assert refused.status_code == 409 and "six months" in refused.json()["detail"]
    shown = api.get(f"/v1/runs/{book['li']}/outcome?to=2024-01-05&audience=client", headers=headers)
    assert shown.status_code == 200 and shown.json()["annualised"] is False
    year = api.get(f"/v1/runs/{book['li']}/outcome?to=2024-07-05", headers=headers).json()
    assert year["annualised"] is True and year["plan"]["annualised_return"] is not None


def test_outcome_access_follows_the_client(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    path = f"/v1/runs/{book['li']}/outcome"
    for name, status in [
        ("adv-li", 200),
        ("sup-zhao", 200),
        ("svc-core", 200),
        ("adv-wang", 404),  # another advisor's client answers as a missing run
        ("eng-chen", 403),
    ]:
        assert api.get(path, headers=auth(tokens[name])).status_code == status, name
    assert api.get("/v1/runs/run-nope/outcome", headers=auth(tokens["sup-zhao"])).status_code == 404


def test_no_outcome_before_delivery_or_before_the_plan(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    runner = _runner(api)
    waiting = runner.execute(
        runner.create(make_client(client_id="C-MID", aum=850_000), as_of=PAST, actor="t").id
    )
    headers = auth(tokens["sup-zhao"])
    got = api.get(f"/v1/runs/{waiting.id}/outcome", headers=headers)
    assert got.status_code == 409 and got.json()["error"] == "RunNotDelivered"
    early = api.get(f"/v1/runs/{book['li']}/outcome?to=2023-06-01", headers=headers)
    assert early.status_code == 409 and "not after" in early.json()["detail"]
    bad = api.get(f"/v1/runs/{book['li']}/outcome?to=yesterday", headers=headers)
    assert bad.status_code == 422


def test_a_plan_delivered_after_the_last_price_is_not_measurable(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    late = deliver_on(_runner(api), long_tail_client(client_id="C-LATE"), date(2026, 6, 30))
    got = api.get(f"/v1/runs/{late}/outcome", headers=auth(tokens["adv-li"]))
    assert got.status_code == 409 and "no prices after" in got.json()["detail"]


def _groups(api: TestClient, token: str, query: str = "") -> dict[str, dict[str, Any]]:
    got = api.get(f"/v1/outcomes{query}", headers=auth(token))
    assert got.status_code == 200, got.text
    return {g["key"]: g for g in got.json()["groups"]}


def test_outcomes_per_advisor_are_scoped(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    everyone = _groups(api, tokens["sup-zhao"])
    assert set(everyone) == {"adv-li", "adv-wang"}
    assert everyone["adv-li"]["plans"] == everyone["adv-li"]["measured"] == 1
    assert set(_groups(api, tokens["adv-li"])) == {"adv-li"}
    assert set(_groups(api, tokens["adv-wang"], "?group_by=tier")) == {"long_tail"}
    assert _groups(api, tokens["adv-wang"], "?group_by=tier")["long_tail"]["plans"] == 1
    for name in ("eng-chen", "svc-core"):
        assert api.get("/v1/outcomes", headers=auth(tokens[name])).status_code == 403


def test_outcomes_filter_by_period_and_refuse_bad_ones(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    token = tokens["sup-zhao"]
    assert _groups(api, token, "?from=2023-07-01") == {}
    assert set(_groups(api, token, "?from=2023-06-30&to=2023-06-30")) == {"adv-li", "adv-wang"}
    for query in ("?from=2024-01-01&to=2023-01-01", "?group_by=region", "?from=June"):
        got = api.get(f"/v1/outcomes{query}", headers=auth(token))
        assert got.status_code == 422, query


def test_every_plan_delivered_counts_whatever_became_of_the_client(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    """No survivorship bias: a client who left, one planned again and one who moved to another
    advisor all still count, in the period and with the advisor of the plan."""
    runner = _runner(api)
    # C-LI is planned again a year later: both plans count.
    deliver_on(runner, long_tail_client(client_id="C-LI"), date(2024, 6, 28))
    # C-WANG leaves the firm: the record goes, the delivered plan stays counted.
    with session_scope(runner.engine) as session:
        session.delete(session.get_one(Client, "C-WANG"))
    # A third client moves from adv-li to adv-wang after their plan.
    deliver_on(runner, long_tail_client(client_id="C-MOVE"), PAST)
    moved = long_tail_client(client_id="C-MOVE", advisor_id="adv-wang")
    with session_scope(runner.engine) as session:
        from core.services import clients

        clients.upsert(session, moved)
    groups = _groups(api, tokens["sup-zhao"])
    assert groups["adv-li"]["plans"] == 3  # C-LI twice, C-MOVE (advised by adv-li then)
    assert groups["adv-wang"]["plans"] == 1  # C-WANG, gone since
    first_year = _groups(api, tokens["sup-zhao"], "?to=2023-12-31")
    assert first_year["adv-li"]["plans"] == 2 and first_year["adv-wang"]["plans"] == 1


def test_prices_put_stores_all_or_nothing(api: TestClient, tokens: dict[str, str]) -> None:
    runner = _runner(api)
    headers = auth(tokens["svc-core"])
    good = [
        {"date": "2026-03-02", "code": "510300.SH", "close": 4.8},
        {"date": "2026-03-02", "code": "518880", "close": 11.0},
    ]
    got = api.put("/v1/prices", json={"rows": good}, headers=headers)
    assert got.status_code == 200, got.text
    assert got.json() == {
        "rows": 2,
        "codes": ["510300", "518880"],
        "from": "2026-03-02",
        "to": "2026-03-02",
        "changed": 2,
        "replaced": 0,
        "skipped": [],
        "import_id": got.json()["import_id"],
        "overridden": 0,
    }
    bad = [
        {"date": "2026-03-03", "code": "510300", "close": 4.9},
        {"date": "2026-03-03", "code": "000001", "close": 10.0},
        {"date": "2026-03-03", "code": "518880", "close": -1},
        {"date": "2026-03-03", "code": "510300", "close": 5.0},
    ]
    refused = api.put("/v1/prices", json={"rows": bad}, headers=headers)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert "line 2: code '000001' is not on the shelf" in detail
    assert "line 3: close -1" in detail
    assert "line 4: 510300 on 2026-03-03 is 5 here and 4.9 on line 1" in detail
    assert _price_count(runner) == 2  # nothing of the bad body was stored
    for rows in (
        [],
        [{"date": "2026-13-01", "code": "510300", "close": 1}],
        [{"date": 0, "code": "510300", "close": 1}],  # not seconds since 1970
        [{"date": "2024-01-02T00:00:00", "code": "510300", "close": 1}],
        [{"date": "2024-01-02", "code": "510300", "close": True}],
        [{"date": "2024-01-02", "code": "510300", "close": "4.5"}],
        [{"date": "0001-01-01", "code": "510300", "close": 0.5}],  # before any exchange
    ):
        refused = api.put("/v1/prices", json={"rows": rows}, headers=headers)
        assert refused.status_code == 422, (rows, refused.text)
    nan = '{"rows": [{"date": "2026-03-04", "code": "510300", "close": NaN}]}'
    sent = api.put(
        "/v1/prices", content=nan, headers={**headers, "content-type": "application/json"}
    )
    assert sent.status_code == 422
    for name in ("adv-li", "sup-zhao", "eng-chen"):
        assert (
            api.put("/v1/prices", json={"rows": good}, headers=auth(tokens[name])).status_code
            == 403
        )


@pytest.mark.parametrize(
    ("sign", "wrong"), [("", "is out of range"), ("-", "is not a positive number")]
)
def test_a_huge_integer_close_is_422_naming_the_row_not_a_500(
    api: TestClient, tokens: dict[str, str], sign: str, wrong: str
) -> None:
    """1 or -1 followed by 400 zeros, a JSON integer no float holds: it raised OverflowError."""
    close = sign + "1" + "0" * 400
    body = '{"rows": [{"date": "2024-01-02", "code": "510300", "close": ' + close + "}]}"
    headers = {**auth(tokens["svc-core"]), "content-type": "application/json"}
    got = api.put("/v1/prices", content=body, headers=headers)
    assert got.status_code == 422, got.text
    assert got.json()["error"] == "InvalidPrices"
    assert f"line 1: close {sign}1000" in got.json()["detail"]
    assert wrong in got.json()["detail"]
    assert _price_count(_runner(api)) == 0


def test_a_bad_close_is_refused_unless_overridden_and_its_import_says_what_it_changed(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    runner = _runner(api)
    headers = auth(tokens["svc-core"])
    _groups(api, tokens["sup-zhao"])  # the two plans measured on the real prices
    bad = [{"date": "2025-09-01", "code": "510300", "close": 0.0045}]
    refused = api.put("/v1/prices", json={"rows": bad}, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"] == "ImplausiblePrices"
    assert refused.json()["detail"].startswith("1 bad price line(s), nothing stored: line 1: ")
    assert '"override": {"reason": ...}' in refused.json()["detail"]
    for blank, error in [
        ({"reason": ""}, "ValidationError"),
        ({"reason": "   "}, "ValidationError"),
        ({}, "ValidationError"),
        ({"reason": "x" * 501}, "ValidationError"),
        ({"reason": "\u200b\u2060"}, "InvalidInput"),  # invisible: blank to the service
        ({"reason": "restated\u0000"}, "InvalidInput"),
    ]:
        sent = api.put("/v1/prices", json={"rows": bad, "override": blank}, headers=headers)
        assert (sent.status_code, sent.json()["error"]) == (422, error), blank
        assert "reason" in sent.text, sent.text
    assert _price_count(runner) == 6 * 2062  # the real file's, nothing more
    reason = "restated by the exchange, confirmed with Li on 13912345678"
    stored = api.put(
        "/v1/prices", json={"rows": bad, "override": {"reason": reason}}, headers=headers
    )
    assert stored.status_code == 200, stored.text
    assert (stored.json()["replaced"], stored.json()["overridden"]) == (1, 1)
    path = f"/v1/prices/imports/{stored.json()['import_id']}"
    _groups(api, tokens["sup-zhao"])  # a reader measures them again (inline: only two)
    got = api.get(path, headers=auth(tokens["sup-zhao"]))
    assert got.status_code == 200, got.text
    record = got.json()
    assert (record["actor"], record["rows"], record["codes"]) == ("svc-core", 1, ["510300"])
    assert record["override"]["reason"] == reason.replace("13912345678", "139****5678")
    assert (record["override"]["needed"], record["override"]["overridden"]) == (True, 1)
    assert record["override"]["overridden_lines"][0].startswith("line 1: 510300 moves -99.9%")
    assert record["outcomes"]["pending"] == 0 and record["outcomes"]["changed"] >= 1
    assert record["outcomes"]["largest_change"]["run_id"] in book.values()
    with session_scope(runner.engine) as session:
        assert prices.version(session) == 2
    for name, status in [("svc-core", 200), ("adv-li", 403), ("eng-chen", 403)]:
        assert api.get(path, headers=auth(tokens[name])).status_code == status, name
    missing = api.get("/v1/prices/imports/imp-nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"] == "PriceImportNotFound"


def test_new_prices_measure_stored_outcomes_again(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    runner = _runner(api)
    _groups(api, tokens["sup-zhao"])  # measured on the file's prices
    with session_scope(runner.engine) as session:
        before = session.get_one(Outcome, book["li"])
        version = prices.version(session)
    assert before.prices_version == version and before.to_day == LAST_PRICE
    rows = [
        {"date": "2026-03-02", "code": code, "close": close}
        for code, close in [
            ("510300", 4.0),
            ("510500", 8.0),
            ("511260", 135.0),
            ("518880", 11.0),
            ("513100", 1.8),
            ("513500", 2.3),
        ]
    ]
    assert (
        api.put("/v1/prices", json={"rows": rows}, headers=auth(tokens["svc-core"])).status_code
        == 200
    )
    _groups(api, tokens["sup-zhao"])
    with session_scope(runner.engine) as session:
        after = session.get_one(Outcome, book["li"])
        assert after.prices_version == prices.version(session) == version + 1
        assert outcomes.stale_count(session, prices.version(session)) == 0
        assert (
            session.exec(select(func.count()).select_from(Outcome).where(col(Outcome.breach))).one()
            >= 0
        )
    assert after.to_day == date(2026, 3, 2)


def test_the_openapi_schema_covers_outcomes(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    for path in (
        "/v1/prices",
        "/v1/prices/imports/{import_id}",
        "/v1/runs/{run_id}/outcome",
        "/v1/outcomes",
        "/v1/outcomes/breaches",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert {
        "OutcomePublic",
        "PortfolioOutcome",
        "OutcomeSummary",
        "OutcomeGroup",
        "PricesPut",
        "PriceImportPublic",
    } <= set(schemas)
    assert "from" in schemas["OutcomePublic"]["properties"]
    assert "return" in schemas["PortfolioOutcome"]["properties"]


def test_after_a_large_import_reads_answer_at_once_and_the_server_measures_in_the_background(
    settings: Settings, tokens: dict[str, str]
) -> None:
    """A read never re-measures more than TIERWISE_OUTCOME_REFRESH_INLINE plans itself: it
    answers from the stored outcomes with `pending`, and the API's refresher catches up."""
    quick = settings.model_copy(update={"outcome_refresh_inline": 0, "sweep_interval_seconds": 0.1})
    with TestClient(create_app(quick)) as api:
        runner = _runner(api)
        with session_scope(runner.engine) as session:
            assert outcomes.take_refresh(session, "test-holds-it", quick.lease_seconds)
        import_prices(runner)
        deliver_on(runner, long_tail_client(client_id="C-BG"), PAST)
        waiting = api.get("/v1/outcomes", headers=auth(tokens["sup-zhao"])).json()
        assert waiting["pending"] == 1 and waiting["groups"] == []
        with session_scope(runner.engine) as session:
            outcomes.release_refresh(session, "test-holds-it")
        deadline = time.monotonic() + quick.lease_seconds
        while (body := api.get("/v1/outcomes", headers=auth(tokens["sup-zhao"])).json())["pending"]:
            assert time.monotonic() < deadline, body
            time.sleep(quick.sweep_interval_seconds)
        assert body["groups"][0]["plans"] == 1


def test_breaches_are_listed_for_the_advisor_and_cleared_by_a_new_plan(
    api: TestClient, tokens: dict[str, str], book: dict[str, str]
) -> None:
    runner = _runner(api)
    hurt = deliver_on(
        runner, long_tail_client(client_id="C-HURT", max_drawdown_tolerance_pct=0), PAST
    )
    got = api.get("/v1/outcomes/breaches", headers=auth(tokens["adv-li"]))
    assert got.status_code == 200, got.text
    items = got.json()["items"]
    assert [i["run_id"] for i in items] == [hurt]
    assert items[0]["max_drawdown"] > items[0]["tolerance"] == 0 and 0 < items[0]["coverage"] <= 1
    assert items[0]["advisor_id"] == items[0]["planned_by"] == "adv-li"
    assert items[0]["price_import"] is None  # in breach from its first measure
    assert got.json()["disclosure"].startswith("过往业绩不预示其未来表现。")
    assert got.json()["pending"] == 0
    early = api.get("/v1/outcomes/breaches?to=2023-06-29", headers=auth(tokens["adv-li"]))
    assert early.json()["items"] == []
    backwards = "/v1/outcomes/breaches?from=2024-01-01&to=2023-01-01"
    assert api.get(backwards, headers=auth(tokens["adv-li"])).status_code == 422
    assert api.get("/v1/outcomes/breaches", headers=auth(tokens["adv-wang"])).json()["items"] == []
    assert (
        len(api.get("/v1/outcomes/breaches", headers=auth(tokens["sup-zhao"])).json()["items"]) == 1
    )
    for name in ("eng-chen", "svc-core"):
        assert api.get("/v1/outcomes/breaches", headers=auth(tokens[name])).status_code == 403
    # The client moves to adv-wang: the open breach is theirs to act on now, while the plan
    # stays credited to adv-li in the aggregates.
    from core.services import clients

    moved = long_tail_client(client_id="C-HURT", max_drawdown_tolerance_pct=0)
    moved = moved.model_copy(update={"advisor_id": "adv-wang"})
    with session_scope(runner.engine) as session:
        current = clients.get(session, "C-HURT")
        clients.upsert(session, current.model_copy(update={"advisor_id": "adv-wang"}))
    assert api.get("/v1/outcomes/breaches", headers=auth(tokens["adv-li"])).json()["items"] == []
    theirs = api.get("/v1/outcomes/breaches", headers=auth(tokens["adv-wang"])).json()["items"]
    assert [(i["advisor_id"], i["planned_by"]) for i in theirs] == [("adv-wang", "adv-li")]
    assert _groups(api, tokens["adv-li"])["adv-li"]["breaches"] == 1
    with session_scope(runner.engine) as session:
        clients.upsert(session, current)  # back to adv-li
    # A new plan delivered to the client (here one that accepts some loss) clears the flag.
    deliver_on(
        runner,
        long_tail_client(client_id="C-HURT", max_drawdown_tolerance_pct=50),
        date(2024, 6, 28),
    )
    assert api.get("/v1/outcomes/breaches", headers=auth(tokens["adv-li"])).json()["items"] == []
