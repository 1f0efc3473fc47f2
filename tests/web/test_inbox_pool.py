"""The duty pool's inbox page in real headless Chromium: a supervisor sees what waits unclaimed
past the review target; an advisor goes on duty, claims the review (the first claim wins) and
approves it, and the plan is delivered signed by them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from factories import AS_OF, long_tail_client
from fastapi.testclient import TestClient
from inboxhelp import chromium_signed_in, csrf_in, sign_in, wait_for_run
from playwright.sync_api import expect
from sqlalchemy import update
from sqlmodel import col

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import approvals, clients, principals
from core.settings import Settings
from core.tables import Approval, utcnow
from graphs.runner import open_runner

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
STAFF = {"adv-li": "advisor", "adv-wang": "advisor", "sup-zhao": "supervisor"}


def _pool_review(settings: Settings) -> tuple[str, str]:
    """A lowest-category long-tail client with no advisor, run to its review (run, review)."""
    client = long_tail_client(
        client_id="C-POOL", advisor_id=None, risk_level="C1", lowest_category=True,
        goal="preservation",
    )  # fmt: skip
    with open_runner(settings) as runner:
        with session_scope(runner.engine) as session:
            clients.upsert(session, client)
        run = runner.create(client, as_of=AS_OF)
        runner.execute(run.id)
        with session_scope(runner.engine) as session:
            review = approvals.latest_for_run(session, run.id)
            assert review is not None and approvals.in_pool(review)
            return run.id, review.id


def test_a_supervisor_sees_the_pool_past_the_target_and_an_advisor_on_duty_claims_it(
    settings: Settings,
) -> None:
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        tokens = {n: principals.create(session, n, r)[1] for n, r in STAFF.items()}  # type: ignore[arg-type]
    run_id, review_id = _pool_review(settings)
    late = utcnow() - timedelta(hours=2 * settings.review_target_hours)
    with session_scope(engine) as session:
        session.execute(
            update(Approval).where(col(Approval.id) == review_id).values(created_at=late)
        )
    unlimited = settings.model_copy(update={"sign_in_limit": "10000/minute"})
    app = create_app(unlimited)

    with chromium_signed_in(app, tokens["sup-zhao"]) as sup:
        page = sup.page
        expect(page.locator("#pool-waiting")).to_contain_text("值班池中共 1 个未领取，其中 1 个")
        page.click("#pool-waiting a")
        expect(page.locator("#pool-count")).to_contain_text("其中 1 个已超过审核时限")
        expect(page.locator("#on-duty")).to_contain_text("当前无人值班")
        row = page.locator(f"tr[data-approval='{review_id}']")
        expect(row).to_have_class("late")
        expect(row.locator("button[name=claim]")).to_have_count(0)  # supervisors watch
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "pool-supervisor.png"), full_page=True)

    with chromium_signed_in(app, tokens["adv-wang"]) as wang:
        page = wang.page
        page.goto(f"{wang.base}/inbox/pool")
        expect(page.locator("#my-duty")).to_have_text("您未在值班，值班后才能领取审核。")
        expect(page.locator("#pool")).to_have_count(0)  # off duty: nothing to claim from
        page.click("#duty-toggle")
        expect(page.locator(".flash")).to_have_text("您已开始值班。")
        expect(page.locator("#on-duty")).to_contain_text("adv-wang")
        row = page.locator(f"tr[data-approval='{review_id}']")
        expect(row).to_be_visible()
        page.screenshot(path=str(SHOTS / "pool-advisor.png"), full_page=True)
        # adv-li, on duty too, claims it first from another session.
        with session_scope(engine) as session:
            principals.set_duty(session, "adv-li", True)
        with TestClient(create_app(unlimited), follow_redirects=False) as li:  # another server
            sign_in(li, tokens["adv-li"])
            form = {"csrf": csrf_in(li.get("/inbox/pool").text)}
            taken = li.post(f"/inbox/approvals/{review_id}/claim", data=form)
            assert taken.headers["location"] == f"/inbox/approvals/{review_id}"
        row.locator("button[name=claim]").click()
        expect(page.locator(".flash")).to_have_text("该审核已被其他值班投顾领取。")
        expect(page.locator("#pool-empty")).to_be_visible()
        with session_scope(engine) as session:  # taken back to the pool, as if li went home
            session.execute(
                update(Approval)
                .where(col(Approval.id) == review_id)
                .values(claimed_by=None, claimed_at=None, advisor_id=None)
            )
        page.goto(f"{wang.base}/inbox/approvals/{review_id}")
        expect(page.locator("#decide")).to_have_count(0)  # a pool review is claimed first
        page.click("#claim button")
        expect(page.locator(".flash")).to_have_text("已领取，现在由您审核。")
        expect(page.locator("#claimed-by")).to_contain_text("adv-wang")
        page.click("#approve")
        expect(page.locator(".flash")).to_contain_text("审核决定已记录")
        assert wait_for_run(settings, run_id, {"delivered"}) == "delivered"
    with session_scope(engine) as session:
        decided = approvals.get(session, review_id)
        assert (decided.decided_by, decided.claimed_by) == ("adv-wang", "adv-wang")
