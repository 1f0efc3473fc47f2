"""The plan page shows what the client will receive: the letter itself, the same article the
letter endpoint serves, in the client's language whatever the inbox's, beside the advisor's view."""

from __future__ import annotations

from pathlib import Path

from apihelp import auth
from fastapi.testclient import TestClient
from inboxhelp import Waiting, chromium_signed_in, sign_in
from letterdoc import article, lines, parse, text_lines
from playwright.sync_api import expect
from test_inbox_decision import HeldExecutor, _post

from api.app import create_app
from core.database import get_engine, session_scope
from core.schemas.letter import Letter
from core.services import runs
from core.settings import Settings
from tools.letter.text import HEADINGS

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def report(settings: Settings, run_id: str) -> dict[str, object]:
    with session_scope(get_engine(settings.database_url)) as session:
        return dict(runs.get(session, run_id).compliance or {})


def test_the_plan_page_shows_the_letter_in_the_client_s_language(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    sign_in(inbox, staff["adv-li"])
    inbox.get("/inbox/lang", params={"to": "en"})  # the advisor reads the inbox in English
    page = inbox.get(f"/inbox/approvals/{waiting.approval_id}")
    assert page.status_code == 200
    checked = report(settings, waiting.run_id)
    letter = Letter.model_validate(checked["document"])
    assert lines(page.text) == text_lines(str(checked["client_text"]))
    shown = article(parse(page.text))
    assert shown.get("lang") == letter.locale == "zh-CN"
    assert HEADINGS["holdings"]["zh-CN"] in page.text
    assert HEADINGS["holdings"]["en"] not in page.text
    assert 'id="letter-unsigned"' in page.text  # signed on delivery, and the page says so
    # Byte for byte the article the client's copy carries (GET /v1/runs/{id}/letter).
    sent = inbox.get(f"/v1/runs/{waiting.run_id}/letter", headers=auth(staff["adv-li"]))
    assert sent.status_code == 200, sent.text
    assert _article(page.text) == _article(sent.text)


def _article(html: str) -> str:
    start = html.index('<article class="letter"')
    return html[start : html.index("</article>", start) + len("</article>")]


def test_a_revised_plan_s_old_review_does_not_show_the_new_plan_s_letter(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    held = HeldExecutor()
    inbox.app.state.resume_executor = held  # type: ignore[attr-defined]
    sign_in(inbox, staff["adv-li"])
    weights = {"weight_TW-MM-01": "40", "weight_511260": "30", "weight_511010": "30"}
    _post(inbox, waiting, action="revise", **weights)
    held.run_held()
    old = inbox.get(f"/inbox/approvals/{waiting.approval_id}").text
    card = old.split('id="client-text"', 1)[1].split("</div>", 1)[0]
    assert 'id="letter-replaced"' in card
    assert 'class="letter"' not in card and "<pre>" not in card  # no letter, no text
    newer = str(report(settings, waiting.run_id)["client_text"])
    assert newer and newer.splitlines()[0] not in card


def test_chromium_shows_the_letter_with_its_chart_and_cjk_font(
    settings: Settings, staff: dict[str, str], waiting: Waiting
) -> None:
    app = create_app(settings.model_copy(update={"sign_in_limit": "1000/minute"}))
    checked = report(settings, waiting.run_id)
    letter = Letter.model_validate(checked["document"])
    with chromium_signed_in(app, staff["adv-li"]) as browsing:
        page, base = browsing.page, browsing.base
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/inbox/approvals/{waiting.approval_id}")
        shown = page.locator("#client-letter article.letter")
        expect(shown).to_be_visible()
        expect(shown).to_have_attribute("lang", letter.locale)
        assert lines(shown.evaluate("e => e.outerHTML")) == text_lines(str(checked["client_text"]))
        expect(shown.locator("table.holdings tbody tr")).to_have_count(len(letter.holdings))
        chart = shown.locator("svg.allocation-chart")
        expect(chart).to_have_attribute("role", "img")
        expect(chart.locator("g.holding")).to_have_count(len(letter.holdings))
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        table = shown.locator("table.holdings").bounding_box()
        letter_box = shown.bounding_box()
        assert table is not None and letter_box is not None
        assert table["width"] <= letter_box["width"]  # the table fits the letter: no overflow
        assert page.evaluate("() => document.fonts.check('16px \"Noto Sans CJK SC\"', '配置方案')")
        assert browsing.refused_by_csp() == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "8-letter-in-inbox.png"), full_page=True)
