"""The inbox at batch scale: the queue pages and sorts in the database, shows each review's wait
against the review-time target, and the plan page shows what a plan changes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inboxhelp import Waiting, sign_in
from live import serve
from playwright.sync_api import ConsoleMessage, expect, sync_playwright
from sqlmodel import Session, select

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import cursors
from core.services.review_queue import VERDICT_SEVERITY, QueueSort
from core.settings import Settings
from core.tables import Approval, Delivery, Run, as_utc, utcnow

ROW = re.compile(r'<tr data-client="[^"]*" data-approval="([^"]+)"')
NEXT = re.compile(r'id="next-page" rel="next" href="([^"]+)"')
PREVIOUS = re.compile(r'id="previous-page" rel="prev" href="([^"]+)"')
SORTS: tuple[QueueSort, ...] = ("waited", "risk", "verdict")
CHROMIUM = "/usr/bin/chromium"


def add_review(
    session: Session,
    template: Waiting,
    key: str,
    *,
    hours_ago: float,
    advisor: str = "adv-li",
    verdict: str = "pass",
    level: str = "C3",
    volatility: float = 0.07,
    status: str = "pending",
    now: datetime | None = None,
) -> str:
    """A copy of the template's run and review (a real run's shapes), opened `hours_ago`."""
    run = session.get_one(Run, template.run_id)
    approval = session.get_one(Approval, template.approval_id)
    opened = (now or utcnow()) - timedelta(hours=hours_ago)
    client_id = f"C-{key}"
    copy = {**run.model_dump(), "id": f"run-{key}", "idempotency_key": None}
    copy |= {"client_id": client_id, "advisor_id": advisor, "created_at": opened}
    copy["client_snapshot"] = {**run.client_snapshot, "client_id": client_id}
    session.add(Run(**copy))
    session.flush()  # the run before its review: the review's foreign key names it
    review = {**approval.model_dump(), "id": f"rv-{key}", "run_id": f"run-{key}"}
    review |= {"client_id": client_id, "advisor_id": advisor, "status": status}
    review |= {"verdict": verdict, "risk_level": level, "volatility": volatility}
    review["created_at"] = opened
    session.add(Approval(**review))
    return f"rv-{key}"


@pytest.fixture
def queue(settings: Settings, waiting: Waiting) -> Waiting:
    """Eleven reviews for adv-li besides the real one (ties in every sort key, every verdict,
    one decided), and three for adv-wang."""
    verdicts = ["pass", "escalate", "revise", "block", "escalate", "pass", "revise"]
    now = utcnow()  # one clock for all, so that equal waits are equal times
    with session_scope(get_engine(settings.database_url)) as session:
        for i in range(10):
            add_review(
                session,
                waiting,
                f"li{i:02d}",
                hours_ago=[50, 30, 30, 20, 12, 9, 5, 3.5, 2, 1][i],  # 30 twice: a tie
                verdict=verdicts[i % len(verdicts)],
                level=f"C{[3, 5, 1, 3, 4, 3, 2, 5, 3, 1][i]}",
                volatility=[0.07, 0.15, 0.02, 0.07, 0.1, 0.09, 0.04, 0.15, 0.07, 0.02][i],
                now=now,
            )
        add_review(session, waiting, "li99", hours_ago=70, status="approved")
        for i in range(3):
            add_review(session, waiting, f"wang{i}", hours_ago=40 - i, advisor="adv-wang")
    return waiting


def pending_for(settings: Settings, advisor: str | None) -> list[Approval]:
    with session_scope(get_engine(settings.database_url)) as session:
        query = select(Approval).where(Approval.status == "pending")
        if advisor:
            query = query.where(Approval.advisor_id == advisor)
        return list(session.exec(query))


def expected_order(reviews: list[Approval], sort: QueueSort) -> list[str]:
    def key(a: Approval) -> tuple[Any, ...]:
        waited = (as_utc(a.created_at), a.id)
        if sort == "risk":
            return (-int(a.risk_level[1:]), -a.volatility, *waited)
        if sort == "verdict":
            return (-VERDICT_SEVERITY[a.verdict], *waited)
        return waited

    return [a.id for a in sorted(reviews, key=key)]


def follow(inbox: TestClient, url: str, link: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    """Every page from `url` on, following `link` (next or previous): (url, its review ids)."""
    pages: list[tuple[str, list[str]]] = []
    next_url: str | None = url
    while next_url:
        page = inbox.get(next_url)
        assert page.status_code == 200, page.text
        pages.append((next_url, ROW.findall(page.text)))
        found = link.search(page.text)
        next_url = unescape(found.group(1)) if found else None
        assert len(pages) < 50, "the pages never end"
    return pages


def english(inbox: TestClient, token: str) -> None:
    sign_in(inbox, token)
    inbox.get("/inbox/lang?to=en")


@pytest.mark.parametrize("sort", SORTS)
def test_pages_show_every_review_once_in_each_order_forward_and_back(
    settings: Settings, inbox: TestClient, staff: dict[str, str], queue: Waiting, sort: QueueSort
) -> None:
    english(inbox, staff["adv-li"])
    mine = pending_for(settings, "adv-li")
    assert len(mine) == 11  # ten copies and the real review; the decided one is not pending
    forward = follow(inbox, f"/inbox?sort={sort}&size=4", NEXT)
    assert [len(ids) for _, ids in forward] == [4, 4, 3]
    shown = [i for _, ids in forward for i in ids]
    assert shown == expected_order(mine, sort)  # each once, none lost, in the sort's order
    back = follow(inbox, forward[-1][0], PREVIOUS)
    assert [ids for _, ids in back] == [ids for _, ids in reversed(forward)]
    last = inbox.get(forward[-1][0]).text
    assert "9–11 of 11" in last and 'id="first-page"' in last and 'id="next-page"' not in last
    first = inbox.get(f"/inbox?sort={sort}&size=4").text
    assert "1–4 of 11" in first and 'id="previous-page"' not in first


def test_a_page_starts_after_its_cursor_even_when_reviews_before_it_are_decided(
    settings: Settings, inbox: TestClient, staff: dict[str, str], queue: Waiting
) -> None:
    english(inbox, staff["adv-li"])
    first = inbox.get("/inbox?size=4").text
    decided = ROW.findall(first)
    with session_scope(get_engine(settings.database_url)) as session:
        for approval_id in decided:  # the advisor works through page 1, then turns the page
            session.get_one(Approval, approval_id).status = "approved"
    following = unescape(NEXT.search(first).group(1))  # type: ignore[union-attr]
    ids = ROW.findall(inbox.get(following).text)
    order = expected_order(pending_for(settings, "adv-li"), "waited")
    assert ids == order[:4]  # nothing skipped, although offset 4 would now skip four


def test_the_queue_shows_each_wait_against_the_target_and_marks_those_past_it(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    with session_scope(get_engine(settings.database_url)) as session:
        fresh = add_review(session, waiting, "fresh", hours_ago=3.2)
        late = add_review(session, waiting, "late", hours_ago=30.5)
        older = add_review(session, waiting, "older", hours_ago=50.2)
    english(inbox, staff["adv-li"])
    page = inbox.get("/inbox").text
    rows = {i: row(page, i) for i in (fresh, late, older)}
    assert "waited 3 h of 24 h" in rows[fresh] and "past target" not in rows[fresh]
    assert 'class="late"' not in rows[fresh]
    assert "waited 30 h of 24 h" in rows[late] and "past target by 6 h" in rows[late]
    assert 'class="late"' in rows[late] and 'value="1.000"' in rows[late]  # a full bar
    assert "waited 2 d 2 h of 24 h" in rows[older] and "past target by 26 h" in rows[older]
    assert "4 waiting; 2 past the review target of 24 h." in page
    inbox.get("/inbox/lang?to=zh-CN")
    chinese = row(inbox.get("/inbox").text, late)
    assert "已等待 30 小时（时限 24 小时）" in chinese and "已超时 6 小时" in chinese


def test_the_review_target_is_the_setting(
    settings: Settings, staff: dict[str, str], waiting: Waiting
) -> None:
    tight = settings.model_copy(update={"review_target_hours": 2, "sign_in_limit": "1000/minute"})
    with session_scope(get_engine(settings.database_url)) as session:
        review = add_review(session, waiting, "three", hours_ago=3.2)
    with TestClient(create_app(tight), follow_redirects=False) as inbox:
        english(inbox, staff["adv-li"])
        page = inbox.get("/inbox").text
    assert "waited 3 h of 2 h" in row(page, review) and "past target by 1 h" in row(page, review)
    assert "2 waiting; 1 past the review target of 2 h." in page


def row(page: str, approval_id: str) -> str:
    return page.split(f'data-approval="{approval_id}"', 1)[1].split("</tr>", 1)[0]


def test_an_advisor_never_sees_another_advisors_reviews_and_a_supervisor_sees_all(
    settings: Settings, inbox: TestClient, staff: dict[str, str], queue: Waiting
) -> None:
    theirs = {a.id for a in pending_for(settings, "adv-wang")}
    english(inbox, staff["adv-li"])
    for sort in SORTS:
        shown = {i for _, ids in follow(inbox, f"/inbox?sort={sort}&size=5", NEXT) for i in ids}
        assert shown == {a.id for a in pending_for(settings, "adv-li")}
        assert not shown & theirs
    assert inbox.get(f"/inbox/approvals/{min(theirs)}").status_code == 404
    english(inbox, staff["sup-zhao"])
    everyone = [i for _, ids in follow(inbox, "/inbox?size=6", NEXT) for i in ids]
    assert everyone == expected_order(pending_for(settings, None), "waited")


def test_filters_narrow_the_queue_in_the_database(
    settings: Settings, inbox: TestClient, staff: dict[str, str], queue: Waiting
) -> None:
    english(inbox, staff["adv-li"])
    mine = pending_for(settings, "adv-li")
    c5 = ROW.findall(inbox.get("/inbox?level=C5&sort=risk").text)
    assert c5 == expected_order([a for a in mine if a.risk_level == "C5"], "risk")
    page = inbox.get("/inbox?verdict=revise&size=1").text
    revise = [i for _, ids in follow(inbox, "/inbox?verdict=revise&size=1", NEXT) for i in ids]
    assert revise == expected_order([a for a in mine if a.verdict == "revise"], "waited")
    assert "verdict=revise" in unescape(NEXT.search(page).group(1))  # type: ignore[union-attr]
    assert ROW.findall(inbox.get("/inbox?tier=hnw").text) == []  # every copy is mid-tier
    assert len(ROW.findall(inbox.get("/inbox?tier=mid_tier").text)) == len(mine)


def crafted(sort: str, values: list[Any]) -> str:
    """A page link encoded as the queue encodes its own, holding the given sort keys."""
    return cursors.encode(sort, *values)


@pytest.mark.parametrize(
    "query",
    [
        "sort=oldest",
        "size=0",
        "size=101",
        "size=ten",
        "tier=vip",
        "level=C9",
        "verdict=maybe",
        "after=not-a-cursor",
        "before=%25%25",
        f"after={'x' * 401}",
        # Well-formed links with values the database driver would fail on (a 500 otherwise).
        "sort=verdict&after=" + crafted("verdict", [10**30, "2026-11-01T00:00:00+00:00", "a"]),
        "after=" + crafted("waited", ["0001-01-01T00:00:00+01:00", "a"]),
        "after=" + crafted("waited", ["9999-12-31T23:59:59-01:00", "a"]),
        "after=" + crafted("waited", ["2026-11-01T00:00:00+00:00", "a\u0000b"]),
        "sort=risk&after=" + crafted("risk", ["C3", 1e308 * 10, "2026-11-01T00:00:00+00:00", "a"]),
    ],
)
def test_bad_queue_parameters_are_refused_with_a_reason(
    inbox: TestClient, staff: dict[str, str], query: str
) -> None:
    sign_in(inbox, staff["adv-li"])
    refused = inbox.get(f"/inbox?{query}")
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] in ("ValidationError", "InvalidInput") and body["detail"]


def test_a_page_link_from_one_order_is_refused_in_another(
    inbox: TestClient, staff: dict[str, str], queue: Waiting
) -> None:
    sign_in(inbox, staff["adv-li"])
    link = unescape(NEXT.search(inbox.get("/inbox?sort=risk&size=3").text).group(1))  # type: ignore[union-attr]
    assert inbox.get(link).status_code == 200
    refused = inbox.get(link.replace("sort=risk", "sort=verdict"))
    assert refused.status_code == 422 and refused.json()["error"] == "InvalidInput"
    assert refused.json()["detail"].startswith("after: ")  # the link's parameter, named


def cells(page: str, code: str) -> list[str]:
    """The weight-change table's cells for a product, as text."""
    found = page.split('<div class="card" id="weight-changes">', 1)[1]
    found = found.split(f'<tr data-code="{code}">', 1)[1].split("</tr>", 1)[0]
    return [
        re.sub(r"<small>.*?</small>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", found)
    ]


def pct(weight: float) -> str:
    return f"{weight * 100:.1f}%"


def test_the_plan_page_compares_with_holdings_when_nothing_was_delivered_before(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    english(inbox, staff["adv-li"])
    page = inbox.get(f"/inbox/approvals/{waiting.approval_id}").text
    assert "No earlier plan was delivered to this client" in page
    assert 'id="last-delivered"' not in page
    weights = plan_weights(settings, waiting)
    held = 300_000 / 850_000  # the factory client's one holding
    proposed = weights["510300"]
    assert cells(page, "510300") == ["510300", pct(held), pct(proposed), points(proposed - held)]
    other = next(c for c in weights if c != "510300")
    assert cells(page, other) == [other, "0.0%", pct(weights[other]), points(weights[other])]


def plan_weights(settings: Settings, waiting: Waiting) -> dict[str, float]:
    with session_scope(get_engine(settings.database_url)) as session:
        plan = session.get_one(Approval, waiting.approval_id).plan
    return {h["product_code"]: h["weight"] for h in plan["holdings"]}


def points(change: float) -> str:
    return f"{change * 100:+.1f}"


def delivered(
    session: Session,
    waiting: Waiting,
    key: str,
    days_ago: float,
    weights: dict[str, float],
    **run: Any,
) -> None:
    """An earlier run of the template's client, delivered with `weights` a day after it began."""
    template = session.get_one(Run, waiting.run_id)
    began = as_utc(template.created_at) - timedelta(days=days_ago)
    plan = {
        **(template.plan or {}),
        "holdings": [{"product_code": c, "weight": w} for c, w in weights.items()],
    }
    copy = {**template.model_dump(), "id": f"run-{key}", "idempotency_key": None, "plan": plan}
    copy |= {"status": "delivered", "created_at": began, **run}
    session.add(Run(**copy))
    session.flush()
    if copy["status"] == "delivered":
        session.add(
            Delivery(
                run_id=f"run-{key}",
                plan_hash=f"hash-{key}",
                channel="app",
                approved_by="adv-li",
                text="…",
                delivered_at=began + timedelta(days=1),
            )
        )


def test_the_plan_page_compares_with_the_last_plan_delivered_to_the_client(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    last = {"510300": 0.5, "159919": 0.3, "TW-MM-01": 0.2}
    with session_scope(get_engine(settings.database_url)) as session:
        delivered(session, waiting, "old", 30, {"510300": 0.9, "TW-MM-01": 0.1})
        delivered(session, waiting, "last", 10, last)
        delivered(session, waiting, "rejected", 5, {"510300": 1.0}, status="rejected")
        delivered(session, waiting, "other", 3, {"510300": 1.0}, client_id="C-2002")
        delivered(session, waiting, "later", -0.01, {"510300": 1.0})  # begun after this run
    english(inbox, staff["adv-li"])
    page = inbox.get(f"/inbox/approvals/{waiting.approval_id}").text
    assert "No earlier plan" not in page
    with session_scope(get_engine(settings.database_url)) as session:
        last_one = session.exec(select(Delivery).where(Delivery.run_id == "run-last")).one()
    day = as_utc(last_one.delivered_at).strftime("%Y-%m-%d")
    assert f"delivered to this client on {day} (run run-last)" in page
    weights, held = plan_weights(settings, waiting), 300_000 / 850_000
    now = weights["510300"]
    assert cells(page, "510300") == [
        "510300",
        pct(held),
        "50.0%",
        pct(now),
        points(now - held),
        points(now - 0.5),
    ]
    assert cells(page, "159919")[1:] == ["0.0%", "30.0%", "0.0%", "—", "-30.0"]
    assert cells(page, "TW-MM-01")[2] == "20.0%"


def test_the_queue_renders_under_the_content_security_policy(
    settings: Settings, staff: dict[str, str], queue: Waiting
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    app = create_app(settings.model_copy(update={"sign_in_limit": "1000/minute"}))
    with serve(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        console: list[ConsoleMessage] = []
        page.on("console", lambda message: console.append(message))
        page.goto(f"{base}/inbox/login")
        page.fill("#token", staff["adv-li"])
        page.click("button[type=submit]")
        page.goto(f"{base}/inbox?size=4")
        late = page.locator("#queue tr.late").first
        expect(late.locator(".late-label")).to_be_visible()
        expect(late.locator("td.waiting")).to_have_css("border-left-color", "rgb(179, 38, 30)")
        bar = late.locator("meter").bounding_box()
        assert bar is not None and bar["width"] > 30
        first = page.locator("#queue tbody tr").first.get_attribute("data-approval")
        page.click("#next-page")
        expect(page.locator("#queue tbody tr")).to_have_count(4)
        assert page.locator("#queue tbody tr").first.get_attribute("data-approval") != first
        assert [m.text for m in console if "Content Security Policy" in m.text] == []
        browser.close()
