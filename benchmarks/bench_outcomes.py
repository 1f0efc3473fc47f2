"""Outcomes at firm scale: measuring delivered plans on the shared price file, then the
aggregates, on PostgreSQL (a fresh database, created and dropped) and SQLite.

    python benchmarks/bench_outcomes.py [--plans 20000] [--advisors 50] [--database URL]
                                        [--no-sqlite]

Four real offline runs, delivered on a past date, give the shapes (a long-tail, a mid-tier and
an HNW plan, and one with no holdings); the delivered plans are copies of them inserted in bulk,
with their as_of spread over trading days from 2019 to 2025 and their clients over `--advisors`
advisors. Printed: plans measured per second by a full refresh (every plan, as after a price
import), a refresh with nothing stale, and the time of GET-equivalent aggregates per advisor and
per tier, and of the breach list. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from databases import scratch_database  # noqa: E402
from factories import add_advisors, hnw_client, long_tail_client, make_client  # noqa: E402
from outcomehelp import deliver_on, import_prices  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from core.database import get_engine, session_scope  # noqa: E402
from core.services import outcomes, prices  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.tables import Client, Delivery, Price, Run  # noqa: E402
from graphs.runner import open_runner  # noqa: E402
from tools.outcomes import service  # noqa: E402

SEED_DAY = date(2023, 6, 30)


def _seed(runner: Any) -> list[str]:
    import_prices(runner)
    return [
        deliver_on(runner, long_tail_client(client_id="S-LT"), SEED_DAY),
        deliver_on(runner, make_client(client_id="S-MID"), SEED_DAY),
        deliver_on(runner, hnw_client(client_id="S-HNW"), SEED_DAY),
        deliver_on(runner, long_tail_client(client_id="S-NONE", holdings=[]), SEED_DAY),
    ]


def _copies(runner: Any, seeds: list[str], plans: int, advisors: int) -> None:
    rng = random.Random(17)
    with session_scope(runner.engine) as session:
        shapes = [session.get_one(Run, s) for s in seeds]
        deliveries = {
            d.run_id: d
            for d in session.exec(select(Delivery).where(col(Delivery.run_id).in_(seeds)))
        }
        days = sorted(
            d
            for (d,) in session.execute(
                select(col(Price.day)).where(
                    col(Price.code) == "510300", col(Price.day) >= date(2019, 1, 2)
                )
            ).all()
            if d <= date(2025, 12, 31)
        )
    batch_runs: list[dict[str, Any]] = []
    batch_deliveries: list[dict[str, Any]] = []
    batch_clients: list[dict[str, Any]] = []
    for n in range(plans):
        shape = shapes[n % len(shapes)]
        advisor = f"adv-{n % advisors:03d}"
        snapshot = {**shape.client_snapshot, "advisor_id": advisor, "client_id": f"B-{n:07d}"}
        run_id = f"run-bench-{n:07d}"
        batch_runs.append(
            {
                **{c: getattr(shape, c) for c in Run.model_fields if c not in ("id",)},
                "id": run_id,
                "client_id": snapshot["client_id"],
                "advisor_id": advisor,
                "as_of": rng.choice(days).isoformat(),
                "client_snapshot": snapshot,
                "idempotency_key": None,
                "request_hash": None,
            }
        )
        batch_clients.append({"id": snapshot["client_id"], "advisor_id": advisor, "data": snapshot})
        delivery = deliveries[shape.id]
        batch_deliveries.append(
            {
                "run_id": run_id,
                "plan_hash": delivery.plan_hash,
                "channel": delivery.channel,
                "approved_by": delivery.approved_by,
                "text": delivery.text,
            }
        )
        if len(batch_runs) == 2000 or n == plans - 1:
            with session_scope(runner.engine) as session:
                session.execute(insert(Client), batch_clients)
                session.execute(insert(Run), batch_runs)
                session.execute(insert(Delivery), batch_deliveries)
            batch_runs, batch_deliveries, batch_clients = [], [], []


def _timed(what: str, call: Any, repeat: int = 5) -> Any:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    times.sort()
    print(
        f"  {what}: median {times[len(times) // 2] * 1000:.1f} ms, worst {times[-1] * 1000:.1f} ms"
    )
    return result


def bench(url: str, plans: int, advisors: int, label: str) -> None:
    settings = Settings(environment="test", database_url=url)
    with session_scope(get_engine(url)) as session:
        add_advisors(session)
    with open_runner(settings) as runner:
        seeds = _seed(runner)
        _copies(runner, seeds, plans, advisors)
        total = plans + len(seeds)
        print(f"{label}: {total:,} delivered plans")
        start = time.perf_counter()
        measured = service.refresh(runner.engine, runner.market).measured
        spent = time.perf_counter() - start
        print(
            f"  full refresh: {measured:,} plans in {spent:.1f} s = {measured / spent:,.0f} plans/s"
        )
        _timed("refresh with nothing stale", lambda: service.refresh(runner.engine, runner.market))
        with session_scope(runner.engine) as session:
            groups = _timed(
                "aggregate per advisor (all periods)",
                lambda: outcomes.aggregate(session, "advisor"),
            )
            _timed(
                "aggregate per tier, 2024",
                lambda: outcomes.aggregate(
                    session, "tier", start=date(2024, 1, 1), end=date(2024, 12, 31)
                ),
            )
            found = _timed("breach list", lambda: outcomes.breaches(session))
            version = prices.version(session)
            assert outcomes.stale_count(session, version) == 0
        counted = sum(g["plans"] for g in groups)
        print(f"  {len(groups)} advisor groups, {counted:,} plans counted, {len(found):,} breaches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=20_000)
    parser.add_argument("--advisors", type=int, default=50)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    with scratch_database(args.database, "bench_outcomes") as url:
        bench(url, args.plans, args.advisors, "PostgreSQL")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{tmp}/bench.db", args.plans, args.advisors, "SQLite")


if __name__ == "__main__":
    main()
