"""Inbox fixtures without a browser: an app on the test database, staff tokens, a waiting plan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from inboxhelp import Waiting, plan_for_adv_li

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import principals
from core.settings import Settings

STAFF = {"adv-li": "advisor", "adv-wang": "advisor", "sup-zhao": "supervisor"}


@pytest.fixture
def inbox(settings: Settings) -> Iterator[TestClient]:
    """The app as a browser without JavaScript sees it: cookies kept, redirects not followed.

    Tests sign in often from one address; the sign-in limit has a test of its own.
    """
    unlimited = settings.model_copy(update={"sign_in_limit": "10000/minute"})
    with TestClient(create_app(unlimited), follow_redirects=False) as client:
        yield client


@pytest.fixture
def staff(settings: Settings) -> dict[str, str]:
    with session_scope(get_engine(settings.database_url)) as session:
        return {n: principals.create(session, n, r)[1] for n, r in STAFF.items()}  # type: ignore[arg-type]


@pytest.fixture
def waiting(inbox: TestClient, staff: dict[str, str]) -> Waiting:
    return plan_for_adv_li(inbox.app.state.runner)  # type: ignore[attr-defined]
