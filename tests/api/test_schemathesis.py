"""Schemathesis against /openapi.json of a live server, with valid tokens: no input gives a 500."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from live import serve
from schemathesis.checks import not_a_server_error

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import demo
from core.settings import Settings


@pytest.fixture(scope="module")
def live_api() -> Iterator[tuple[str, dict[str, str]]]:
    """A real server on a loopback port, seeded with the demo principals and clients."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fuzz.db'}"
        with session_scope(get_engine(url)) as session:
            tokens = {p["role"]: p["token"] for p in demo.seed(session)["principals"]}
        with serve(create_app(Settings(environment="test", database_url=url))) as base:
            yield base, tokens


def _token_for(path: str, method: str, tokens: dict[str, str]) -> str:
    """The role most likely to get past authorisation for the operation."""
    if path.endswith("/decision"):
        return tokens["advisor"]
    if path.endswith(("/feedback", "/special-care/accept")) or (
        method == "PUT" and path.startswith("/v1/clients")
    ):
        return tokens["service"]
    return tokens["supervisor"]


def _fuzz(operation: Any, base_url: str, token: str) -> None:
    """Generate requests for one operation and fail on any 5xx."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def no_server_error(case: schemathesis.Case) -> None:
        if case.path.endswith("/events"):
            case.query = {**(case.query or {}), "follow": "false"}
        case.call_and_validate(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            checks=[not_a_server_error],
            timeout=30,
        )

    no_server_error()


def test_no_input_gets_a_server_error(live_api: tuple[str, dict[str, str]]) -> None:
    base_url, tokens = live_api
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        _fuzz(operation, base_url, _token_for(operation.path, operation.method.upper(), tokens))
