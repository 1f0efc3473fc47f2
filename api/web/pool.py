"""The inbox's duty pool (值班投顾): reviews whose client has no advisor, listed for advisors on
duty to claim and for supervisors to watch (how many wait, how many past the review-time
target, who is on duty), and the forms that claim a review and put an advisor on or off duty.

The rules are the services' (core/services/approvals.claim, principals.set_duty): these pages
only show what they allow and say what they refused.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Route, RunnerDep, SessionDep
from api.web.i18n import translator
from api.web.routes import Csrf, Viewer, Words, _lang, _target_hours, _waiting, render
from core.database import session_scope
from core.errors import ApprovalAlreadyDecided, ReviewAlreadyClaimed, TierwiseError
from core.services import approvals, principals, review_queue
from core.tables import utcnow

router = APIRouter(prefix="/inbox", include_in_schema=False, route_class=Route)


@router.get("/pool", response_class=HTMLResponse)
def pool_page(
    request: Request,
    db: SessionDep,
    runner: RunnerDep,
    me: Viewer,
    size: Annotated[int, Query(ge=1, le=review_queue.MAX_PAGE_SIZE)] = review_queue.PAGE_SIZE,
    after: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """The pool, oldest first: an advisor on duty claims from it, a supervisor sees what waits
    past the target. An advisor off duty sees only how to go on duty."""
    if me.role not in ("advisor", "supervisor"):
        return RedirectResponse("/inbox/evals", status_code=303)
    target, now = runner.settings.review_target_hours, utcnow()
    t: Words = translator(_lang(request))
    page = None
    if me.role == "supervisor" or me.on_duty:
        wanted = review_queue.QueueQuery(size=size, after=after, pool=True)
        page = review_queue.queue_page(db, me, wanted, overdue_before=now - timedelta(hours=target))
    rows = (
        [{"r": r, "waiting": _waiting(r.created_at, now, target, t)} for r in page.rows]
        if page
        else []
    )
    return render(
        request,
        "pool.html",
        me,
        page=page,
        rows=rows,
        on_duty=principals.on_duty(db),
        target=_target_hours(target, t),
        next_link=f"/inbox/pool?after={page.next}" if page and page.next else "",
    )


@router.post("/approvals/{approval_id}/claim", dependencies=[Csrf])
def claim(request: Request, approval_id: str, runner: RunnerDep, me: Viewer) -> Response:
    """Claim a pool review and open it to decide; a review another advisor claimed first (or
    that was decided meanwhile) goes back to the pool with the reason."""
    try:
        with session_scope(runner.engine) as db:
            approvals.claim(db, approval_id, me.name, duty=runner.settings.duty)
    except ReviewAlreadyClaimed:
        request.session["flash"] = "claimed_by_other"
        return RedirectResponse("/inbox/pool", status_code=303)
    except ApprovalAlreadyDecided:
        request.session["flash"] = "decided"
        return RedirectResponse("/inbox/pool", status_code=303)
    except TierwiseError as exc:
        request.session["flash"], request.session["flash_detail"] = "error", exc.detail
        return RedirectResponse("/inbox/pool", status_code=303)
    request.session["flash"] = "claimed"
    return RedirectResponse(f"/inbox/approvals/{approval_id}", status_code=303)


@router.post("/duty", dependencies=[Csrf])
def set_duty(
    request: Request, db: SessionDep, me: Viewer, on_duty: Annotated[bool, Form()]
) -> Response:
    """An advisor goes on duty or off it, for themselves."""
    principals.set_duty(db, me.name, on_duty, by=me)
    request.session["flash"] = "duty_on" if on_duty else "duty_off"
    return RedirectResponse("/inbox/pool", status_code=303)
