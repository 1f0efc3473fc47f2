"""The inbox's follow-up calls page (回访, issue 28): the calls an advisor owes after special-care
acceptances, the longest waiting first, each marked done with its outcome and a note.

An advisor sees their own clients' calls and the unassigned ones (the duty pool's); a
supervisor sees every call. Marking a call done goes through core/services/callbacks.done,
the same rule as the API's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Route, SessionDep
from api.web.routes import Csrf, FormFields, Viewer, render
from core.errors import Forbidden, TierwiseError
from core.services import callbacks
from core.tables import utcnow

router = APIRouter(prefix="/inbox", include_in_schema=False, route_class=Route)
SHOWN = 200  # the oldest calls listed; the page says when there are more


@router.get("/callbacks", response_class=HTMLResponse)
def callbacks_page(request: Request, db: SessionDep, me: Viewer) -> Response:
    """The open calls the viewer sees, oldest first."""
    if me.role not in ("advisor", "supervisor"):
        raise Forbidden("follow-up calls are for advisors and supervisors")
    found, more = callbacks.list_callbacks(db, me, status="open", limit=SHOWN)
    rows = callbacks.public_many(db, [c for c, _ in found])
    return render(
        request,
        "callbacks.html",
        me,
        rows=rows,
        more=more is not None,
        outcomes=callbacks.OUTCOMES,
    )


@router.post("/callbacks/{callback_id}/done", dependencies=[Csrf])
def callback_done(
    request: Request, callback_id: int, db: SessionDep, me: Viewer, form: FormFields
) -> Response:
    """Record the call's outcome; the page then says whether it was recorded, and why not."""
    try:
        callbacks.done(db, me, callback_id, form.get("outcome", ""), form.get("note"), now=utcnow())
        request.session["flash"] = "callback_recorded"
    except TierwiseError as exc:
        db.rollback()
        request.session["flash"] = "error"
        request.session["flash_detail"] = exc.detail
    return RedirectResponse("/inbox/callbacks", status_code=303)
