"""The advisor inbox in real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import AS_OF
from live import serve
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlmodel import select

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import clients, demo, principals
from core.settings import Settings
from core.tables import Approval
from graphs.runner import open_runner

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DATABASES: dict[str, str] = {}
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, dict[str, str]]]:
    """A live server with the demo data and four plans waiting (three for adv-li)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'web.db'}"
        # Every test signs in from 127.0.0.1; the sign-in limit has a test of its own.
        settings = Settings(environment="test", database_url=url, sign_in_limit="10000/minute")
        DATABASES["site"] = settings.database_url
        with session_scope(get_engine(settings.database_url)) as session:
            tokens = {p["name"]: p["token"] for p in demo.seed(session)["principals"]}
            waiting = [clients.get(session, c) for c in ("C-1001", "C-1006", "C-1009", "C-1007")]
        with open_runner(settings) as runner:
            for client in waiting:
                runner.execute(runner.create(client, as_of=AS_OF).id)
        with serve(create_app(settings)) as base:
            yield base, tokens


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


def sign_in(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/inbox")
    expect(page).to_have_url(f"{base}/inbox/login")
    page.fill("#token", token)
    page.click("button[type=submit]")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_an_advisor_revises_then_approves_and_the_plan_is_delivered(
    site: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = site
    page = browser.new_page()
    sign_in(page, base, tokens["adv-li"])
    row = page.locator("#queue tr[data-client='C-1001']")
    expect(row).to_have_count(1)
    shot(page, "1-queue")
    row.get_by_role("link").click()
    expect(page.locator("#allocation-chart rect")).not_to_have_count(0)
    expect(page.locator("#run-status")).to_have_text("awaiting_approval")
    shot(page, "2-plan")

    inputs = page.locator("#revise-form input[type=number]")
    for i in range(inputs.count()):
        inputs.nth(i).fill("0")
    page.fill("input[name=weight_TW-MM-01]", "40")
    page.fill("input[name=weight_511260]", "30")
    page.fill("input[name=weight_511010]", "30")
    page.click("#revise")
    # Recorded at once; the page follows the run to the revision's own review, then says so.
    expect(page.locator(".flash")).to_contain_text("请查看新的合规检查结果")
    expect(page.locator("#verdict")).to_have_text("pass")
    expect(page.locator("#run-status")).to_have_text("awaiting_approval")
    shot(page, "3-revised")

    page.click("#approve")
    expect(page.locator(".flash")).to_contain_text("已发送")  # once delivered, not before
    expect(page.locator("#run-status")).to_have_text("delivered")
    expect(page.locator("#client-text")).to_contain_text("适当性匹配意见")
    shot(page, "4-delivered")
    page.close()


def test_a_stale_or_decided_plan_gets_a_clear_message(
    site: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = site
    first, second = browser.new_page(), browser.new_page()
    sign_in(first, base, tokens["adv-li"])
    sign_in(second, base, tokens["adv-li"])
    link = first.locator("#queue tr a").first.get_attribute("href")
    first.goto(f"{base}{link}")
    second.goto(f"{base}{link}")
    first.fill("textarea[name=comment]", "client prefers to wait")
    first.click("#reject")
    expect(first.locator(".flash")).to_contain_text("退回")
    second.click("#approve")  # this page still shows the review someone else just closed
    expect(second.locator(".flash")).to_contain_text("已有审核决定")
    shot(second, "5-already-decided")


def test_a_plan_for_a_client_who_changed_says_why_and_cannot_be_approved(
    site: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = site
    with session_scope(get_engine(DATABASES["site"])) as session:
        client = clients.get(session, "C-1007")
        level = client.risk_assessment.model_copy(update={"level": "C1", "lowest_category": True})
        clients.upsert(session, client.model_copy(update={"risk_assessment": level}))
        advisor = client.advisor_id
    page = browser.new_page()
    sign_in(page, base, tokens[advisor or "sup-zhao"])
    page.locator("#queue tr[data-client='C-1007']").get_by_role("link").click()
    expect(page.locator("#client-changed")).to_contain_text("lowest category False → True")
    expect(page.locator("#client-changed")).to_contain_text("客户信息自方案生成后已变更")
    if advisor:
        expect(page.locator("#approve")).to_be_disabled()
        expect(page.locator("#revise-form")).to_have_count(0)
    shot(page, "5b-client-changed")
    page.close()


def test_english_supervisor_and_engineer_views(
    site: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = site
    page = browser.new_page()
    sign_in(page, base, tokens["sup-zhao"])
    page.click("text=English")
    expect(page.locator("h1")).to_have_text("Plans awaiting sign-off")
    advisors = page.locator("#queue tbody tr td:nth-child(4)").all_text_contents()
    assert {"adv-li", "adv-wang"} <= set(advisors)  # every advisor's queue
    shot(page, "6-supervisor-en")
    page.click("text=Sign out")
    sign_in(page, base, tokens["eng-chen"])
    expect(page).to_have_url(f"{base}/inbox/evals")
    expect(page.locator("h1")).to_have_text("Eval reports")
    page.goto(f"{base}/inbox")  # engineers review no plans
    expect(page).to_have_url(f"{base}/inbox/evals")


def test_the_pages_render_their_styles_and_chart_under_the_content_security_policy(
    site: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = site
    with session_scope(get_engine(DATABASES["site"])) as session:
        approval_id = session.exec(select(Approval.id)).first()
    page = browser.new_page()
    console: list[ConsoleMessage] = []
    page.on("console", lambda message: console.append(message))
    login = page.goto(f"{base}/inbox/login")
    assert login is not None and "default-src 'none'" in login.headers["content-security-policy"]
    expect(page.locator(".card")).to_have_css("max-width", "420px")  # a style attribute
    sign_in(page, base, tokens["sup-zhao"])
    expect(page.locator("header")).to_have_css("background-color", "rgb(20, 50, 92)")  # <style>
    plan = page.goto(f"{base}/inbox/approvals/{approval_id}")
    assert plan is not None and plan.headers["x-frame-options"] == "DENY"
    chart = page.locator("#allocation-chart")
    expect(chart.locator("rect")).not_to_have_count(0)
    expect(chart.locator("rect").first).to_have_css("fill", "rgb(20, 50, 92)")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 20
    expect(page.locator(".grid").first).to_have_css("display", "grid")
    blocked = [m.text for m in console if "Content Security Policy" in m.text]
    assert blocked == []
    page.close()


def test_forms_need_the_session_csrf_token(site: tuple[str, dict[str, str]]) -> None:
    import httpx

    base, tokens = site
    with httpx.Client(base_url=base) as http:
        refused = http.post("/inbox/login", data={"token": tokens["adv-li"], "csrf": "forged"})
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"


def test_a_new_token_signs_the_old_browser_session_out(
    site: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = site
    page = browser.new_page()
    sign_in(page, base, tokens["adv-wang"])
    expect(page).to_have_url(f"{base}/inbox")
    with session_scope(get_engine(DATABASES["site"])) as session:
        principals.create(session, "adv-wang", "advisor")  # rotates the token
    page.goto(f"{base}/inbox")
    expect(page).to_have_url(f"{base}/inbox/login")
