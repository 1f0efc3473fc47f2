"""The inbox's follow-up calls page (回访, issue 28), in real headless Chromium and as a plain
browser: an advisor sees their own and the pool's calls, records one, and it leaves the list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from factories import long_tail_client
from fastapi.testclient import TestClient
from inboxhelp import chromium_signed_in, csrf_in, sign_in
from playwright.sync_api import expect
from specialcarehelp import cooled_off, core_plan, delivered_offer
from sqlmodel import select

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import approvals, principals, special_care
from core.settings import Settings, SpecialCarePolicy
from core.tables import Callback

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WORDS = "我已阅读风险揭示，自愿接受较高风险部分。"


def _calls(settings: Settings) -> dict[str, int]:
    """Accepted offers of three clients, every acceptance sampled: client -> its call's id."""
    every = settings.model_copy(update={"special_care": SpecialCarePolicy(callback_share=1.0)})
    with session_scope(get_engine(settings.database_url)) as session:
        offers = [
            delivered_offer(session, long_tail_client(client_id="C-CB1", name="张伟")),
            delivered_offer(session, long_tail_client(client_id="C-CB2", advisor_id=None)),
            delivered_offer(session, long_tail_client(client_id="C-CB3", advisor_id="adv-wang")),
        ]
        now = max(cooled_off(session, r.id, settings) for r in offers) + timedelta(minutes=1)
        for run in offers:
            special_care.accept(session, run.id, WORDS, by="svc-core", now=now, settings=every)
        principals.set_duty(session, "adv-li", True)  # the pool's calls are for advisors on duty
    with session_scope(get_engine(settings.database_url)) as session:
        return {c.client_id: c.id or 0 for c in session.exec(select(Callback))}


def test_an_advisor_records_a_call_in_chromium(settings: Settings, staff: dict[str, str]) -> None:
    calls = _calls(settings)
    app = create_app(settings.model_copy(update={"sign_in_limit": "1000/minute"}))
    with chromium_signed_in(app, staff["adv-li"]) as browsing:
        page, base = browsing.page, browsing.base
        page.click("#callbacks-link")
        expect(page).to_have_url(f"{base}/inbox/callbacks")
        rows = page.locator("#callbacks tbody tr")
        expect(rows).to_have_count(2)  # their own client's and the pool's, not adv-wang's
        mine = page.locator("tr[data-client='C-CB1']")
        expect(mine).to_contain_text("张伟")
        expect(mine).to_contain_text("512480")
        expect(page.locator("tr[data-client='C-CB2']")).to_contain_text("值班投顾")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "callbacks.png"), full_page=True)
        mine.locator("select[name=outcome]").select_option("confirmed")
        mine.locator("input[name=note]").fill("客户确认已理解，手机13912345678")
        mine.get_by_role("button").click()
        expect(page.locator(".flash")).to_have_text("回访结果已记录。")
        expect(rows).to_have_count(1)
        expect(page.locator("tr[data-client='C-CB1']")).to_have_count(0)
        assert browsing.refused_by_csp() == []
    with session_scope(get_engine(settings.database_url)) as session:
        done = session.get_one(Callback, calls["C-CB1"])
        assert (done.status, done.outcome, done.done_by) == ("done", "confirmed", "adv-li")
        assert done.note is not None and "13912345678" not in done.note


def test_a_call_done_already_gets_a_clear_message(
    inbox: TestClient, settings: Settings, staff: dict[str, str]
) -> None:
    calls = _calls(settings)
    sign_in(inbox, staff["sup-zhao"])
    page = inbox.get("/inbox/callbacks")
    assert page.status_code == 200
    assert all(f'data-client="{c}"' in page.text for c in calls)  # a supervisor sees them all
    csrf = csrf_in(page.text)
    url = f"/inbox/callbacks/{calls['C-CB3']}/done"
    first = inbox.post(url, data={"csrf": csrf, "outcome": "unreachable", "note": ""})
    assert first.status_code == 303
    again = inbox.post(url, data={"csrf": csrf, "outcome": "confirmed", "note": ""})
    assert again.status_code == 303
    shown = inbox.get("/inbox/callbacks").text
    assert "was marked done already by sup-zhao" in shown
    assert 'data-client="C-CB3"' not in shown
    forged = inbox.post(url, data={"csrf": "forged", "outcome": "confirmed", "note": ""})
    assert forged.status_code == 403
    inbox.get("/inbox/lang", params={"to": "en", "back": "/inbox/callbacks"})
    english = inbox.get("/inbox/callbacks").text
    assert "Follow-up calls" in english and "Record the call" in english
    assert "回访" not in english.replace('lang="en"', "")


def test_the_plan_page_of_a_linked_run_shows_the_procedure(
    inbox: TestClient, settings: Settings, staff: dict[str, str]
) -> None:
    """An advisor reviewing an accepted plan sees what was offered, when it was accepted, the
    cooling-off and whether the client's acknowledgement is recorded."""
    with session_scope(get_engine(settings.database_url)) as session:
        offer_run = delivered_offer(session)
        now = cooled_off(session, offer_run.id, settings)
        linked = special_care.accept(
            session, offer_run.id, WORDS, by="svc-core", now=now, settings=settings
        ).run
        plan = core_plan(None)
        review = {"approval_id": f"{linked.id}-r0", "plan_hash": plan["plan_hash"], "plan": plan}
        approval = approvals.open_review(
            session, linked, review | {"findings": [], "verdict": "pass"}
        )
    sign_in(inbox, staff["adv-li"])
    page = inbox.get(f"/inbox/approvals/{approval.id}")
    assert page.status_code == 200, page.text
    card = page.text[page.text.index('id="special-care"') :][:1500]
    assert "512480" in card and "513100" in card
    assert f"冷静期 {settings.compliance.cooling_off_hours} 小时" in card
    assert "客户确认已记录" in card and offer_run.id in card
