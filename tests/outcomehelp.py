"""Helpers for outcome tests: the real price file, and plans delivered on past dates."""

from __future__ import annotations

import io
import os
from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cli.outcomes import import_file, plan_on
from core.database import session_scope
from core.schemas.client import ClientInput
from core.services import runs
from core.services.price_files import csv_source, json_source
from core.settings import PricePolicy
from graphs.runner import Runner
from tools.outcomes import imports

# Test data only (its licence keeps it out of the package): ../shared/data beside the checkout,
# or TIERWISE_SHARED_DATA, as the shared_data fixture finds it.
SHARED = Path(
    os.environ.get("TIERWISE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
PRICES = SHARED / "allweather_cn_etf_prices_7etf.csv"
LAST_PRICE = date(2026, 2, 26)


def import_prices(runner: Runner, path: Path = PRICES) -> dict[str, Any]:
    return import_file(runner, path)


def import_csv(
    engine: Engine,
    text: str,
    known: Collection[str],
    policy: PricePolicy | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """As the CLI does: read the file's text a line at a time, stage, check and store it."""
    source = csv_source(io.StringIO(text, newline=""), known)
    return imports.run(engine, source, policy or PricePolicy(), known, actor="test", **kw)


def put_prices(
    runner: Runner, rows: list[dict[str, Any]], override: str | None = None
) -> dict[str, Any]:
    """Store JSON price rows as PUT /v1/prices does (as the service principal `svc-test`)."""
    source = json_source(rows, runner.market.products)
    return imports.run(
        runner.engine,
        source,
        runner.settings.prices,
        runner.market.products,
        actor="svc-test",
        override=override,
    )


def deliver_on(runner: Runner, client: ClientInput, day: date) -> str:
    """A plan for the client made and delivered on `day` (approved by their advisor that day
    if it needs sign-off); returns the run id."""
    run = plan_on(runner, client, day, "test")
    with session_scope(runner.engine) as session:
        status = runs.get(session, run.id).status
    assert status == "delivered", f"{run.id} ended {status}"
    return run.id
