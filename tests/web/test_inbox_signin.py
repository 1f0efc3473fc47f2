"""Inbox sign-in is a server-side session: a saved or forged cookie signs no one in."""

from __future__ import annotations

import json
from base64 import b64encode

import itsdangerous
from fastapi.testclient import TestClient
from inboxhelp import COOKIE, Waiting, approval_status, csrf_in, sign_in
from sqlmodel import select

from core.database import get_engine, session_scope
from core.services import principals
from core.settings import Settings
from core.tables import InboxSession


def signed_cookie(settings: Settings, data: dict[str, str]) -> str:
    """A cookie signed exactly as starlette's SessionMiddleware signs one."""
    signer = itsdangerous.TimestampSigner(settings.session_secret.get_secret_value())
    return signer.sign(b64encode(json.dumps(data).encode())).decode()


def use_cookie(inbox: TestClient, value: str) -> None:
    """Send exactly this cookie from now on, as a browser given a copy would."""
    inbox.cookies.clear()
    inbox.cookies.set(COOKIE, value)


def approve(inbox: TestClient, waiting: Waiting, csrf: str) -> int:
    url = f"/inbox/approvals/{waiting.approval_id}/decide"
    form = {"csrf": csrf, "plan_hash": waiting.plan_hash, "action": "approve"}
    return inbox.post(url, data=form).status_code


def refused_to_sign_in(inbox: TestClient) -> bool:
    queue = inbox.get("/inbox")
    return queue.status_code == 303 and queue.headers["location"] == "/inbox/login"


def test_a_cookie_saved_before_sign_out_is_dead_after_it(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    assert sign_in(inbox, staff["adv-li"]).headers["location"] == "/inbox"
    page = inbox.get(f"/inbox/approvals/{waiting.approval_id}")
    assert page.status_code == 200
    saved, csrf = inbox.cookies[COOKIE], csrf_in(page.text)
    assert "adv-li" not in saved  # the cookie names no one
    inbox.post("/inbox/logout", data={"csrf": csrf})
    assert refused_to_sign_in(inbox)

    use_cookie(inbox, saved)  # the copy an attacker kept
    assert refused_to_sign_in(inbox)
    use_cookie(inbox, saved)
    status = approve(inbox, waiting, csrf)  # the CSRF token in that copy is still valid
    assert status == 303  # to the sign-in page, with nothing decided
    assert approval_status(settings, waiting.approval_id) == "pending"


def test_a_cookie_forged_with_the_development_secret_signs_no_one_in(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    assert settings.session_secret.get_secret_value().startswith("dev-only")  # public
    with session_scope(get_engine(settings.database_url)) as session:
        adv_li = principals.by_name(session, "adv-li")
        assert adv_li is not None
        token_hash = adv_li.token_hash
    sign_in(inbox, staff["adv-li"])  # a live session exists in the database...
    with session_scope(get_engine(settings.database_url)) as session:
        id_hash = session.exec(select(InboxSession.id_hash)).one()
    forgeries = [
        {"principal": "adv-li", "token_hash": token_hash, "csrf": "forged"},  # the old format
        {"sid": id_hash, "csrf": "forged"},  # ...and its hash, as a database copy shows it
    ]
    for data in forgeries:
        use_cookie(inbox, signed_cookie(settings, data))
        assert refused_to_sign_in(inbox), data
        use_cookie(inbox, signed_cookie(settings, data))
        assert approve(inbox, waiting, "forged") == 303, data
        assert approval_status(settings, waiting.approval_id) == "pending"


def test_rotating_a_token_ends_its_inbox_sessions(
    settings: Settings, inbox: TestClient, staff: dict[str, str]
) -> None:
    sign_in(inbox, staff["adv-wang"])
    assert inbox.get("/inbox").status_code == 200
    with session_scope(get_engine(settings.database_url)) as session:
        principals.create(session, "adv-wang", "advisor")
    assert refused_to_sign_in(inbox)


def test_signing_in_again_ends_the_previous_session(
    inbox: TestClient, staff: dict[str, str]
) -> None:
    sign_in(inbox, staff["adv-li"])
    first = inbox.cookies[COOKIE]
    sign_in(inbox, staff["sup-zhao"])
    assert "sup-zhao" in inbox.get("/inbox").text
    use_cookie(inbox, first)
    assert refused_to_sign_in(inbox)
