"""Outcomes of delivered plans in the inbox (issue 17, 服务效果): the page per advisor with its
chart, the breach flags on the queue and the plan page, on the shipped test prices."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from factories import AS_OF, make_client
from fastapi.testclient import TestClient
from inboxhelp import chromium_signed_in, sign_in
from outcomehelp import deliver_on, import_prices, put_prices
from playwright.sync_api import expect
from sqlalchemy import event

from api.app import create_app
from api.web import outcomes as outcomes_page
from core.database import get_engine, session_scope
from core.schemas.client import ClientInput
from core.services import approvals, clients, outcomes
from core.settings import Settings
from core.tables import Outcome
from graphs.runner import Runner
from tools.outcomes import service as measuring

PRICES = "allweather_cn_etf_prices_7etf.csv"
DAY = date(2023, 6, 30)  # the review round the plans were delivered in
# (client, advisor, drawdown tolerance in %). On the shipped prices the balanced C3 plan drawn
# for a 1% tolerance fell about 1.4% from its peak after 2023-06-30, past the client's
# tolerance; the plans for 15% stayed well inside theirs.
BOOK = (("C-OUT1", "adv-li", 1), ("C-OUT2", "adv-li", 15), ("C-OUT3", "adv-wang", 15))
DISCLOSURE = "过往业绩不预示其未来表现"
FLAG = 'class="tag breach-flag"'  # the queue's drawdown flag
GROUP = re.compile(r'<tr data-advisor="([^"]+)">')
CHART_ROW = re.compile(r'<g class="advisor-row" data-advisor="([^"]+)">')
CHART_PLAN = re.compile(r'<g class="plan" data-run="([^"]+)"')
BREACH = re.compile(r'<tr data-client="([^"]+)" data-run="([^"]+)">')
QUEUE_ROW = re.compile(r'<tr data-client="([^"]+)" data-approval="[^"]+"[^>]*>(.*?)</tr>', re.S)


@dataclass(frozen=True)
class Book:
    """Plans delivered on DAY (client -> run), and a review now open for two of the clients."""

    delivered: dict[str, str]
    reviews: dict[str, str]  # client -> the pending approval's id


def client(client_id: str, advisor: str, tolerance: float) -> ClientInput:
    return make_client(
        client_id=client_id, advisor_id=advisor, max_drawdown_tolerance_pct=tolerance
    )


def open_review(runner: Runner, record: ClientInput) -> str:
    """A new plan for the client as they stand today, waiting for their advisor."""
    with session_scope(runner.engine) as session:
        clients.upsert(session, record)
    run = runner.execute(runner.create(record, as_of=AS_OF).id)
    assert run.status == "awaiting_approval"
    with session_scope(runner.engine) as session:
        review = approvals.latest_for_run(session, run.id)
        assert review is not None
        return review.id


def stored(settings: Settings, run_id: str) -> Outcome:
    with session_scope(get_engine(settings.database_url)) as session:
        found = outcomes.get(session, run_id)
        assert found is not None, f"{run_id} was not measured"
        session.expunge(found)
        return found


def measure_all(runner: Runner) -> None:
    """Every delivered plan measured on the latest prices, waiting while an app's background
    refresher holds the lease (it measures them then)."""
    waited = time.monotonic()
    while measuring.refresh(runner.engine, runner.market).pending:
        assert time.monotonic() - waited <= runner.settings.lease_seconds, "refresh stalled"
        time.sleep(0.05)


@pytest.fixture
def book(runner: Runner, staff: dict[str, str], shared_data: Path) -> Book:
    """BOOK delivered on DAY, measured, and reviews open for C-OUT1 and C-OUT2 (measured here,
    so that no app's background refresher is midway through them when a page reads them;
    test_the_pages_measure_new_deliveries_themselves has the pages do it)."""
    import_prices(runner, shared_data / PRICES)
    delivered = {c[0]: deliver_on(runner, client(*c), DAY) for c in BOOK}
    reviews = {c[0]: open_review(runner, client(*c)) for c in BOOK[:2]}
    measure_all(runner)
    return Book(delivered, reviews)


def test_the_outcomes_page_charts_every_advisors_plans_in_chromium(
    settings: Settings, staff: dict[str, str], book: Book
) -> None:
    app = create_app(settings.model_copy(update={"sign_in_limit": "1000/minute"}))
    with chromium_signed_in(app, staff["sup-zhao"]) as browsing:
        page, base = browsing.page, browsing.base
        page.click("#outcomes-link")
        expect(page).to_have_url(f"{base}/inbox/outcomes")

        chart = page.locator("#outcomes-chart")
        expect(chart.locator("g.advisor-row")).to_have_count(2)
        expect(chart.locator("circle.vs-holdings")).to_have_count(len(BOOK))
        expect(chart.locator("rect.vs-equal-weight")).to_have_count(len(BOOK))
        expect(chart.locator(".breach-ring")).to_have_count(1)
        breached = chart.locator("g.plan[data-breach=true]")
        assert breached.get_attribute("data-run") == book.delivered["C-OUT1"]
        expect(breached.locator("title")).to_contain_text("C-OUT1")
        expect(breached.locator("title")).to_contain_text("年化波动率")  # beside its return
        expect(chart.locator("#zero-line")).to_have_count(1)
        ticks = chart.locator("text.tick").all_text_contents()
        assert "0%" in ticks and all(label.endswith("%") for label in ticks)
        expect(chart).to_have_attribute("role", "img")
        expect(chart.locator("#outcomes-chart-desc")).to_contain_text(DISCLOSURE)
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 80
        expect(page.locator("#outcome-groups caption")).to_contain_text(DISCLOSURE)
        expect(page.locator("#outcome-groups tbody tr")).to_have_count(2)
        expect(page.locator("#chart-capped")).to_have_count(0)
        page.screenshot(path=str(screenshots() / "7-outcomes.png"), full_page=True)

        drawdown, tolerance = figures(stored(settings, book.delivered["C-OUT1"]))
        row = page.locator("#breaches tr[data-client='C-OUT1']")
        expect(row).to_contain_text(f"{drawdown} > {tolerance}")
        row.get_by_role("link").click()  # the breached plan's own page
        outcome = page.locator("#last-outcome")
        expect(outcome).to_have_attribute("data-breach", "true")
        expect(outcome.locator("#outcome-breach")).to_be_visible()
        assert browsing.refused_by_csp() == []


def figures(row: Outcome) -> tuple[str, str]:
    """The plan's drawdown and the client's tolerance as the pages show them."""
    drawdown, tolerance = row.figures["plan"]["max_drawdown"], row.figures["tolerance"]
    assert row.breach == (drawdown > tolerance)
    return f"{drawdown * 100:.1f}%", f"{tolerance * 100:.1f}%"


def last_outcome(page: str) -> str:
    """The plan page's card on the client's last delivered plan, through its disclosure."""
    card = page.split('id="last-outcome"', 1)[1]
    return card[: card.index("</p>", card.index('id="outcome-disclosure"'))]


def screenshots() -> Path:
    shots = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def test_an_advisor_sees_only_their_own_plans_and_a_supervisor_every_advisors(
    inbox: TestClient, staff: dict[str, str], book: Book
) -> None:
    sign_in(inbox, staff["adv-wang"])
    page = inbox.get("/inbox/outcomes").text
    assert GROUP.findall(page) == ["adv-wang"] and CHART_ROW.findall(page) == ["adv-wang"]
    assert page.count('class="plan-marker vs-holdings"') == 1
    assert BREACH.findall(page) == []  # C-OUT1's breach is adv-li's
    assert 'id="no-breaches"' in page

    sign_in(inbox, staff["adv-li"])
    page = inbox.get("/inbox/outcomes").text
    assert GROUP.findall(page) == ["adv-li"] and CHART_ROW.findall(page) == ["adv-li"]
    assert page.count('class="plan-marker vs-holdings"') == 2
    assert BREACH.findall(page) == [("C-OUT1", book.delivered["C-OUT1"])]
    group = page.split('<tr data-advisor="adv-li">', 1)[1].split("</tr>", 1)[0]
    assert "<td>2</td><td>2</td>" in group and "50.0%" in group  # plans, measured, breaches

    sign_in(inbox, staff["sup-zhao"])
    page = inbox.get("/inbox/outcomes").text
    assert GROUP.findall(page) == ["adv-li", "adv-wang"]
    assert CHART_ROW.findall(page) == ["adv-li", "adv-wang"]
    assert page.count('class="plan-marker vs-holdings"') == len(BOOK)
    assert page.count(DISCLOSURE) == 4  # the table, the chart and its text, the breaches


def test_a_client_moved_to_another_advisor_is_no_longer_named_on_the_former_ones_page(
    inbox: TestClient, staff: dict[str, str], runner: Runner, book: Book
) -> None:
    """C-OUT1 moves from adv-li to adv-wang. adv-li's page still counts the plan they made, but
    names neither the client nor the run, and gives no period or figures for it; the breach
    goes with the client to adv-wang."""
    moved = book.delivered["C-OUT1"]
    with session_scope(runner.engine) as session:
        clients.upsert(session, client("C-OUT1", "adv-wang", 1))
    sign_in(inbox, staff["adv-li"])
    page = inbox.get("/inbox/outcomes").text
    assert "C-OUT1" not in page and moved not in page
    assert CHART_PLAN.findall(page) == [book.delivered["C-OUT2"]]
    assert page.count('class="plan-marker vs-holdings"') == 2  # the moved plan is still drawn
    unnamed = re.findall(r'<g class="plan"( data-breach="true")?>\s*<title>([^<]*)</title>', page)
    assert unnamed == [(' data-breach="true"', "该客户现已不由您服务：此方案仅计入您的汇总数据")]
    assert page.count(" → ") == 1  # the one period shown is C-OUT2's
    group = page.split('<tr data-advisor="adv-li">', 1)[1].split("</tr>", 1)[0]
    assert "<td>2</td><td>2</td>" in group and "50.0%" in group  # still counted for adv-li
    assert BREACH.findall(page) == []

    sign_in(inbox, staff["adv-wang"])
    page = inbox.get("/inbox/outcomes").text
    assert BREACH.findall(page) == [("C-OUT1", moved)]  # now adv-wang's client to act on
    assert CHART_PLAN.findall(page) == [book.delivered["C-OUT3"]]  # credited to who made them


def test_the_period_counts_plans_by_the_day_they_were_made(
    inbox: TestClient, staff: dict[str, str], book: Book
) -> None:
    sign_in(inbox, staff["sup-zhao"])
    inside = inbox.get("/inbox/outcomes", params={"from": "2023-06-30", "to": "2023-06-30"})
    assert GROUP.findall(inside.text) == ["adv-li", "adv-wang"]
    for period in ({"from": "2023-07-01"}, {"to": "2023-06-29"}):
        outside = inbox.get("/inbox/outcomes", params=period)
        assert outside.status_code == 200
        assert 'id="no-outcomes"' in outside.text and 'id="no-breaches"' in outside.text
    empty = inbox.get("/inbox/outcomes", params={"from": "", "to": ""})  # the form left blank
    assert GROUP.findall(empty.text) == ["adv-li", "adv-wang"]


def test_the_chart_shows_the_newest_plans_up_to_its_limit_and_says_so(
    inbox: TestClient, staff: dict[str, str], book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outcomes_page, "CHART_PLANS", 2)
    sign_in(inbox, staff["sup-zhao"])
    page = inbox.get("/inbox/outcomes").text
    newest = sorted(book.delivered.values())[:2]  # all made on DAY: the run id breaks the tie
    assert sorted(CHART_PLAN.findall(page)) == newest
    assert page.count('class="plan-marker vs-holdings"') == 2
    capped = "图中及波动率中位数仅含该期间最近的 2 个方案（共 3 个）"
    assert page.count(capped) == 2  # above the chart, and in its text for screen readers
    assert GROUP.findall(page) == ["adv-li", "adv-wang"]  # the table still counts every plan
    assert "<td>2</td><td>2</td>" in page.split('<tr data-advisor="adv-li">', 1)[1]

    inbox.get("/inbox/lang", params={"to": "en", "back": "/inbox/outcomes"})
    page = inbox.get("/inbox/outcomes").text
    assert "The chart and the median volatility show the newest 2 of 3 plans" in page

    sign_in(inbox, staff["adv-li"])  # two plans: all of them charted
    page = inbox.get("/inbox/outcomes").text
    assert page.count('class="plan-marker vs-holdings"') == 2 and 'id="chart-capped"' not in page


def test_the_page_reads_columns_not_figures_and_one_query_for_the_breaches_reviews(
    inbox: TestClient, staff: dict[str, str], runner: Runner, book: Book
) -> None:
    more = [deliver_on(runner, client(f"C-OUT{n}", "adv-li", 1), DAY) for n in (5, 6)]
    measure_all(runner)
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))  # (connection, cursor, statement, ...)

    engine = inbox.app.state.runner.engine  # type: ignore[attr-defined]
    sign_in(inbox, staff["sup-zhao"])
    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = inbox.get("/inbox/outcomes").text
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    shown = {run for _, run in BREACH.findall(page)}
    assert shown == {book.delivered["C-OUT1"], *more}
    assert page.count('class="coverage"') == len(shown)
    # No figures document is read at all, neither in bulk nor one by one (a deferred column
    # touched by a template would load it then).
    assert [s for s in statements if "outcome.figures" in s] == []
    assert sum(1 for s in statements if "FROM approval" in s) == 1


def test_a_client_whose_last_plan_breached_is_flagged_on_the_queue_and_the_plan_page(
    inbox: TestClient, settings: Settings, staff: dict[str, str], book: Book
) -> None:
    sign_in(inbox, staff["adv-li"])
    queue = inbox.get("/inbox").text
    rows = dict(QUEUE_ROW.findall(queue))
    assert set(rows) == {"C-OUT1", "C-OUT2"}
    assert FLAG in rows["C-OUT1"] and "回撤超限" in rows["C-OUT1"]
    assert FLAG not in rows["C-OUT2"]

    page = inbox.get(f"/inbox/approvals/{book.reviews['C-OUT1']}").text
    outcome = last_outcome(page)
    assert f'data-run="{book.delivered["C-OUT1"]}" data-breach="true"' in outcome
    assert 'id="outcome-breach"' in outcome and 'id="breach-flag"' in page
    found = stored(settings, book.delivered["C-OUT1"])
    drawdown, tolerance = figures(found)
    assert f"{drawdown} / {tolerance}" in outcome  # the drawdown against the tolerance
    for shown in ("年化波动率", "年化收益", "客户原持仓（不调整）", "等权基准 1/N", "有价格的权重"):
        assert shown in outcome
    for missing in found.figures["plan"]["missing"]:  # the plan's products without prices
        assert f"{missing['code']} ({missing['weight'] * 100:.1f}%)" in outcome
    assert DISCLOSURE in outcome

    page = inbox.get(f"/inbox/approvals/{book.reviews['C-OUT2']}").text
    assert 'data-breach="false"' in page and 'id="outcome-breach"' not in page
    assert 'id="breach-flag"' not in page and DISCLOSURE in page


def test_a_plan_delivered_since_clears_the_flag_and_the_replaced_plan_says_so(
    inbox: TestClient, settings: Settings, staff: dict[str, str], book: Book, runner: Runner
) -> None:
    replaced = book.delivered["C-OUT1"]
    newer = deliver_on(runner, client("C-OUT1", "adv-li", 60), date(2024, 6, 28))
    measure_all(runner)
    sign_in(inbox, staff["adv-li"])
    rows = dict(QUEUE_ROW.findall(inbox.get("/inbox").text))
    assert FLAG not in rows.get("C-OUT1", "")
    # The review opened before the new delivery compares with the plan delivered before it:
    # shown with its figures, as replaced, and no longer flagged.
    page = inbox.get(f"/inbox/approvals/{book.reviews['C-OUT1']}").text
    assert f'data-run="{replaced}" data-breach="false"' in last_outcome(page)
    assert 'id="outcome-replaced"' in page and 'id="breach-flag"' not in page
    with session_scope(runner.engine) as session:
        assert not outcomes.superseded(session, session.get_one(Outcome, newer))
    # The replaced plan's own review page shows its figures, says it was replaced, no flag.
    with session_scope(runner.engine) as session:
        old = session.get_one(Outcome, replaced)
        assert old.breach and outcomes.superseded(session, old)
        review = approvals.latest_for_run(session, replaced)
        assert review is not None  # a mid-tier plan: its advisor approved it
    page = inbox.get(f"/inbox/approvals/{review.id}").text
    outcome = last_outcome(page)
    assert f'data-run="{replaced}" data-breach="false"' in outcome
    assert 'id="outcome-replaced"' in outcome and 'id="breach-flag"' not in page


def test_a_plan_measured_for_under_a_year_shows_no_annualised_figure(
    inbox: TestClient, staff: dict[str, str], runner: Runner, shared_data: Path
) -> None:
    import_prices(runner, shared_data / PRICES)  # they end on 2026-02-26: four months after
    record = client("C-OUT4", "adv-li", 15)
    deliver_on(runner, record, date(2025, 10, 31))
    review = open_review(runner, record)
    sign_in(inbox, staff["adv-li"])
    page = inbox.get(f"/inbox/approvals/{review}").text
    outcome = last_outcome(page)
    assert "期间波动率" in outcome and "期间收益" in outcome
    assert "年化" not in outcome
    assert "不足六个月，不得向客户展示" in outcome and DISCLOSURE in outcome


def test_the_pages_measure_new_deliveries_themselves(
    settings: Settings, staff: dict[str, str], runner: Runner, shared_data: Path
) -> None:
    # Background refreshers that ran once at start-up (nothing to measure) and sleep after.
    quiet = settings.model_copy(
        update={"sweep_interval_seconds": 3600, "sign_in_limit": "1000/minute"}
    )
    lazy = quiet.model_copy(update={"outcome_refresh_inline": 0})  # leaves every one pending
    with (
        TestClient(create_app(quiet), follow_redirects=False) as reader,
        TestClient(create_app(lazy), follow_redirects=False) as late_reader,
    ):
        import_prices(runner, shared_data / PRICES)
        record = client(*BOOK[0])
        run_id = deliver_on(runner, record, DAY)
        open_review(runner, record)

        sign_in(late_reader, staff["adv-li"])
        page = late_reader.get("/inbox/outcomes").text
        assert 'id="outcomes-pending"' in page and "仍有 1 个已发送方案" in page
        assert FLAG not in late_reader.get("/inbox").text

        sign_in(reader, staff["adv-li"])
        assert FLAG in reader.get("/inbox").text  # the queue measured it
        page = reader.get("/inbox/outcomes").text
        assert 'id="outcomes-pending"' not in page
        assert BREACH.findall(page) == [("C-OUT1", run_id)]


@pytest.mark.parametrize(
    "query",
    [
        "from=2023-13-01",
        "to=2023-02-30",
        "from=yesterday",
        "from=20230630",
        "from=1688083200",
        "to=2023-06-30T00:00:00",
        "from=2023-07-01&to=2023-06-30",
        "from=%00",
        f"to={'9' * 400}",
    ],
)
def test_a_bad_period_is_refused_with_a_reason(
    inbox: TestClient, staff: dict[str, str], query: str
) -> None:
    sign_in(inbox, staff["adv-li"])
    refused = inbox.get(f"/inbox/outcomes?{query}")
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] in ("ValidationError", "InvalidInput") and body["detail"]


def test_a_breach_made_by_a_price_import_names_it_on_the_page(
    inbox: TestClient, staff: dict[str, str], runner: Runner, settings: Settings, book: Book
) -> None:
    """A breach found when a plan was measured again names the import whose prices made it; one
    found at the plan's first measure says so instead (issue 26, item 3)."""
    bad = put_prices(
        runner, [{"date": "2025-09-01", "code": "510300", "close": 0.0045}], override="testing"
    )
    measure_all(runner)
    made = {r for r in book.delivered.values() if stored(settings, r).breach_import}
    assert made, "the bad close made no new breach in the book"
    sign_in(inbox, staff["sup-zhao"])
    inbox.get("/inbox/lang", params={"to": "en", "back": "/inbox/outcomes"})
    page = inbox.get("/inbox/outcomes").text
    rows = re.findall(r'<tr data-client="[^"]+" data-run="([^"]+)">(.*?)</tr>', page, re.S)
    causes = {run: re.findall(r'<td class="cause">([^<]*)</td>', row) for run, row in rows}
    assert set(causes) >= made | {book.delivered["C-OUT1"]}
    for run_id, cause in causes.items():
        expected = bad["import_id"] if run_id in made else "Beyond at its first measure"
        assert cause == [expected], run_id
