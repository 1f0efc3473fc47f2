"""The client's own request on the inbox's plan page, in real headless Chromium (issue 14): the
advisor sees the masked words, how they were read, where each wish went and the warning."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import AS_OF, long_tail_client, make_client
from live import serve
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_inbox_browser import CHROMIUM, FLAGS, shot, sign_in

from api.app import create_app
from core.database import get_engine, session_scope
from core.schemas.client import ClientInput
from core.services import approvals, clients, principals
from core.settings import Settings
from graphs.runner import open_runner

PHONE, MASKED = "13912345678", "139****5678"
GOLD = f"能不能帮我买点黄金ETF？我的电话{PHONE}。"  # both gold ETFs are R3, above a C2 client
MARKUP = "我想买比特币<img src=x onerror=alert(1)><b>马上</b>"
# Each case: a client of adv-li's and what they asked for (None: nothing).
CASES: dict[str, tuple[ClientInput, str | None]] = {
    "gold": (long_tail_client(client_id="C-LT-G", risk_level="C2", goal="income"), GOLD),
    "bitcoin": (long_tail_client(client_id="C-LT-B", risk_level="C3"), "我想买比特币"),
    "bonds": (make_client(client_id="C-MID-B"), "希望多配一些债券，少一点股票，稳一点。"),
    "markup": (long_tail_client(client_id="C-LT-M", risk_level="C3"), MARKUP),
    "none": (make_client(client_id="C-MID-N"), None),
}
Site = tuple[str, str, dict[str, str], dict[str, dict[str, object]]]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """A live server with one plan waiting for adv-li per case: (base URL, adv-li's token,
    approval ids by case, the plans under review by case)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'request.db'}"
        settings = Settings(environment="test", database_url=url, sign_in_limit="10000/minute")
        with session_scope(get_engine(url)) as session:
            token = principals.create(session, "adv-li", "advisor")[1]
            principals.create(session, "adv-wang", "advisor")
            for client, _ in CASES.values():
                clients.upsert(session, client)
        ids, plans = {}, {}
        with open_runner(settings) as runner:
            for case, (client, request) in CASES.items():
                run = runner.create(client, as_of=AS_OF, request=request)
                runner.execute(run.id)
                with session_scope(runner.engine) as session:
                    approval = approvals.latest_for_run(session, run.id)
                    assert approval is not None and approval.status == "pending", case
                    ids[case], plans[case] = approval.id, dict(approval.plan)
        with serve(create_app(settings)) as base:
            yield base, token, ids, plans


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(site: Site, browser: Browser) -> Iterator[Page]:
    base, token, _, _ = site
    page = browser.new_page()
    sign_in(page, base, token)
    expect(page).to_have_url(f"{base}/inbox")
    yield page
    page.close()


def open_plan(page: Page, site: Site, case: str) -> None:
    base, _, ids, _ = site
    page.goto(f"{base}/inbox/approvals/{ids[case]}")
    expect(page.locator("#run-status")).to_have_text("awaiting_approval")


def test_a_request_above_the_level_shows_the_masked_words_the_routes_and_the_warning(
    site: Site, page: Page
) -> None:
    open_plan(page, site, "gold")
    section = page.locator("#client-request")
    expect(section.locator("h2")).to_have_text("客户的要求")
    expect(page.locator("#request-text")).to_have_text(GOLD.replace(PHONE, MASKED))
    assert PHONE not in page.content()
    warnings = section.locator(".warning")
    expect(warnings).to_have_count(2)  # one per gold ETF the client asked for
    for i in range(2):
        expect(warnings.nth(i)).to_contain_text("CN-MIS-06")
        expect(warnings.nth(i)).to_contain_text("不适当警示")
        expect(warnings.nth(i)).to_contain_text("特别风险警示书")
    wishes = page.locator("#request-wishes tr[data-route]")
    expect(wishes).to_have_count(2)
    for i in range(2):
        expect(wishes.nth(i)).to_have_attribute("data-route", "above_level")
        expect(wishes.nth(i)).to_contain_text("买入")
        expect(wishes.nth(i)).to_contain_text("高于风险等级")
        expect(wishes.nth(i)).to_contain_text("(R3)")
    targets = " ".join(wishes.all_text_contents())
    assert "518880 华安黄金ETF" in targets and "159934 易方达黄金ETF" in targets
    expect(page.locator("#not-understood")).to_have_count(0)
    # The request section comes before the plan, where the advisor starts reading.
    box, chart = section.bounding_box(), page.locator("#allocation-chart").bounding_box()
    assert box and chart and box["y"] < chart["y"]
    shot(page, "7-request-above-level")

    page.click("text=English")  # the warning in the advisor's language
    expect(section.locator("h2")).to_have_text("Client's request")
    expect(warnings.first).to_contain_text("Unsuitability warning (不适当警示)")
    expect(warnings.first).not_to_contain_text("如客户坚持")
    expect(wishes.first).to_contain_text("Above the client's risk level")
    assert PHONE not in page.content()
    page.click("text=中文")


def test_a_request_not_understood_is_highlighted(site: Site, page: Page) -> None:
    open_plan(page, site, "bitcoin")
    doubts = page.locator("#not-understood")
    expect(doubts).to_contain_text("未能理解")
    # What is off the shelf is named, as a code not on the shelf is (the reader's lexicon).
    expect(doubts.locator("mark")).to_have_text(["比特币 (not on the shelf)"])
    expect(page.locator("#request-wishes")).to_contain_text("未识别出具体要求")
    expect(page.locator("#client-request .warning")).to_have_count(0)
    expect(page.locator("#findings")).to_contain_text("TW-REQ-01")
    shot(page, "7b-request-not-understood")


def test_a_suitable_request_shows_each_share_before_and_after(site: Site, page: Page) -> None:
    _, _, _, plans = site
    open_plan(page, site, "bonds")
    shaping = plans["bonds"]["request"]
    assert isinstance(shaping, dict)
    rows = page.locator("#request-outcomes tr[data-done]")
    expect(rows).to_have_count(len(shaping["wishes"]))
    for i, outcome in enumerate(shaping["wishes"]):
        cells = rows.nth(i).locator("td")
        expect(cells.nth(1)).to_have_text(f"{outcome['before'] * 100:.1f}%")
        expect(cells.nth(3)).to_have_text(f"{outcome['after'] * 100:.1f}%")
        expect(rows.nth(i)).to_have_attribute("data-done", outcome["done"])
    expect(rows.filter(has_text="债券类资产")).to_contain_text("已完成")
    expect(rows.filter(has_text="股票类资产")).to_contain_text("已完成")
    routes = page.locator("#request-wishes tr[data-route]")
    assert set(routes.evaluate_all("rows => rows.map(r => r.dataset.route)")) == {"shaped"}
    expect(routes.first).to_contain_text("可办理/已调整")
    expect(page.locator("#request-other")).to_contain_text("希望整体更稳健")
    shot(page, "7c-request-shaped")


def test_the_client_s_words_are_text_never_markup(site: Site, page: Page) -> None:
    open_plan(page, site, "markup")
    section = page.locator("#client-request")
    expect(page.locator("#request-text")).to_have_text(MARKUP)
    expect(section.locator("img")).to_have_count(0)
    expect(section.locator("b")).to_have_count(0)


def test_a_run_without_a_request_has_no_request_section(site: Site, page: Page) -> None:
    open_plan(page, site, "none")
    expect(page.locator("#allocation-chart rect")).not_to_have_count(0)
    expect(page.locator("#client-request")).to_have_count(0)
    expect(page.get_by_text("客户的要求")).to_have_count(0)
