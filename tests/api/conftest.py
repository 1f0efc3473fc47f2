"""API fixtures: an app on a fresh database, tokens for every role, and small helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import principals
from core.settings import Settings


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def tokens(settings: Settings, api: TestClient) -> dict[str, str]:
    out = {}
    with session_scope(get_engine(settings.database_url)) as session:
        for name, role in [
            ("adv-li", "advisor"),
            ("adv-wang", "advisor"),
            ("sup-zhao", "supervisor"),
            ("eng-chen", "engineer"),
            ("svc-core", "service"),
        ]:
            out[name] = principals.create(session, name, role)[1]  # type: ignore[arg-type]
    return out
