"""Follow-up calls (回访) after special-care acceptances: the advisors' queue and its outcomes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from api.deps import Reviewer, Route, RunnerDep, SessionDep
from api.paging import paged
from api.schemas import CallbackDone, CallbackPublic, Page
from core.services import callbacks, cursors
from core.tables import utcnow

router = APIRouter(prefix="/v1/callbacks", tags=["callbacks"], route_class=Route)
CallbackId = Annotated[int, Path(ge=1, le=cursors.MAX_SERIAL, description="the call's number")]


@router.get("", response_model=Page[CallbackPublic])
def list_callbacks(
    session: SessionDep,
    runner: RunnerDep,
    principal: Reviewer,
    status_filter: Annotated[
        Literal["open", "done", "all"], Query(alias="status", description="open by default")
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    """Follow-up calls, the longest waiting first: an advisor sees their own clients' and the
    unassigned ones (the duty pool's), a supervisor every call."""
    found, next_cursor = callbacks.list_callbacks(
        session,
        principal,
        status=None if status_filter == "all" else status_filter,
        limit=limit,
        cursor=cursor,
    )
    shown = callbacks.public_many(session, [c for c, _ in found])
    entries = (
        (CallbackPublic.model_validate(view), after)
        for view, (_, after) in zip(shown, found, strict=True)
    )
    return paged(entries, next_cursor, runner.settings.max_page_bytes)


@router.post("/{callback_id}/done")
def mark_done(
    callback_id: CallbackId, body: CallbackDone, session: SessionDep, principal: Reviewer
) -> CallbackPublic:
    """The call was made: its outcome (confirmed, concerns, unreachable) and a note, stored
    masked and audited on the linked run. 409 once it was marked done already."""
    callback = callbacks.done(
        session, principal, callback_id, body.outcome, body.note, now=utcnow()
    )
    return CallbackPublic.model_validate(callbacks.public(session, callback))
