"""Rate limiting per token, in memory and shared through the local Redis."""

from __future__ import annotations

import uuid

import pytest
from apihelp import auth
from fastapi.testclient import TestClient

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import principals
from core.settings import Settings


def _token(settings: Settings, name: str) -> str:
    with session_scope(get_engine(settings.database_url)) as session:
        return principals.create(session, name, "engineer")[1]


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379"])
def test_a_token_over_its_limit_gets_429_with_retry_after(settings: Settings, storage: str) -> None:
    limited = settings.model_copy(update={"rate_limit": "3/minute", "rate_limit_storage": storage})
    first, second = f"eng-{uuid.uuid4().hex[:8]}", f"eng-{uuid.uuid4().hex[:8]}"
    with TestClient(create_app(limited)) as api, TestClient(create_app(limited)) as other:
        mine, theirs = _token(limited, first), _token(limited, second)
        codes = [api.get("/v1/products", headers=auth(mine)).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        # the second app instance shares the limit only through Redis
        over = (other if storage.startswith("redis") else api).get(
            "/v1/products", headers=auth(mine)
        )
        assert over.status_code == 429 and over.json()["error"] == "RateLimited"
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        assert api.get("/v1/products", headers=auth(theirs)).status_code == 200
        assert api.get("/healthz").status_code == 200  # health is never limited


def test_invalid_tokens_are_limited_per_address_and_valid_ones_still_pass(
    settings: Settings,
) -> None:
    """Past the limit of bad tokens from one address, its bad tokens get 429; a valid token from
    the same address (another caller behind the same NAT) is still served."""
    limited = settings.model_copy(update={"auth_failure_limit": "3/minute"})
    allowed = 3  # the limit's count
    with TestClient(create_app(limited)) as api:
        good = _token(limited, f"eng-{uuid.uuid4().hex[:8]}")
        codes = [
            api.get("/v1/products", headers=auth(f"tw_guess_{i}")).status_code
            for i in range(allowed + 2)
        ]
        assert codes == [401] * allowed + [429, 429]
        refused = api.get("/v1/products", headers=auth("tw_guess_again"))
        assert refused.status_code == 429 and "invalid tokens" in refused.json()["detail"]
        assert "Retry-After" in refused.headers
        assert api.get("/v1/products", headers=auth(good)).status_code == 200
