"""千人千策 throughput: a batch of N long-tail clients on PostgreSQL, run by 1 and by 2
`tierwise worker` processes over RabbitMQ, against the same clients run one after another in
one process without the engine; plus what a batch run writes (rows and checkpoint bytes).

Prints figures and asserts nothing about time.

python benchmarks/bench_batch.py [--clients 2000] [--workers 1 2] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from databases import scratch_database  # noqa: E402
from factories import AS_OF, long_tail_client  # noqa: E402
from kombu import Connection  # noqa: E402
from sqlalchemy import text  # noqa: E402

from core.database import session_scope  # noqa: E402
from core.schemas.client import ClientInput  # noqa: E402
from core.services import batches, clients  # noqa: E402
from core.settings import Settings  # noqa: E402
from graphs import engine  # noqa: E402
from graphs.runner import Runner, open_runner  # noqa: E402

TIERWISE = Path(sys.executable).with_name("tierwise")
LEVELS = ("C1", "C2", "C3", "C4", "C5")
GOALS = ("preservation", "income", "balanced", "growth", "aggressive_growth")


def book(n: int, seed: int = 7) -> list[ClientInput]:
    """N long-tail clients, varied in level, goal, assets and horizon, as a real book is."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        level = rng.choice(LEVELS)
        aum = rng.randrange(20_000, 480_000, 1_000)
        out.append(
            long_tail_client(
                client_id=f"C-{i:06}",
                risk_level=level,
                goal=GOALS[min(LEVELS.index(level), 4)],
                aum=aum,
                financial_assets=aum + rng.randrange(0, 200_000, 1_000),
                liquidity_need=rng.randrange(0, aum // 4, 1_000),
                horizon_years=rng.choice((1, 3, 5, 10)),
                holdings=[{"product_code": "510300", "market_value": round(aum * 0.3)}],
            )
        )
    return out


def store(runner: Runner, found: list[ClientInput]) -> None:
    with session_scope(runner.engine) as session:
        for client in found:
            clients.upsert(session, client)


def make_batch(runner: Runner, ids: list[str]) -> str:
    with session_scope(runner.engine) as session:
        return batches.create(
            session,
            batches.Selection(client_ids=tuple(ids)),
            tiers=runner.settings.tiers,
            as_of=AS_OF,
            shipped_from=runner.market.cma.first_day,
            actor="bench",
        ).id


def wait_done(runner: Runner, batch_id: str) -> dict[str, int]:
    while True:
        with session_scope(runner.engine) as session:
            if batches.get(session, batch_id).status == "done":
                return batches.counts(session, batch_id)
        time.sleep(0.2)


@contextmanager
def worker_processes(
    settings: Settings, n: int, logs: Path, concurrency: int = 1
) -> Iterator[None]:
    env = {
        **os.environ,
        "TIERWISE_DATABASE_URL": settings.database_url,
        "TIERWISE_BROKER_URL": settings.broker_url or "",
        "TIERWISE_QUEUE_PREFIX": settings.queue_prefix,
        "TIERWISE_ENVIRONMENT": "test",
    }
    started = [
        subprocess.Popen(
            [str(TIERWISE), "worker", "--loglevel", "WARNING", "--concurrency", str(concurrency)],
            env=env,
            stdout=(logs / f"worker-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(n)
    ]
    try:
        yield
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            process.wait()


def on_workers(
    base: str, broker: str, found: list[ClientInput], n: int, logs: Path, concurrency: int = 1
) -> float:
    """Plans per second for the batch on n workers, each of `concurrency` pool processes
    (warmed up on a small batch first)."""
    prefix = f"tw-bench-{uuid.uuid4().hex[:8]}"
    with scratch_database(base, "tw_bench") as url:
        settings = Settings(database_url=url, broker_url=broker, queue_prefix=prefix)
        try:
            with (
                open_runner(settings) as runner,
                worker_processes(settings, n, logs, concurrency),
            ):
                store(runner, found)
                publisher = engine.Broker(runner)
                warm = make_batch(runner, [c.client_id for c in found[: 10 * n * concurrency]])
                publisher.start_batch(warm)
                wait_done(runner, warm)
                ids = [c.client_id for c in found]
                batch_id = make_batch(runner, ids)
                started = time.perf_counter()
                publisher.start_batch(batch_id)
                counts = wait_done(runner, batch_id)
                elapsed = time.perf_counter() - started
                if n == 1:
                    report_volume(runner, batch_id, len(ids))
        finally:
            with Connection(broker) as connection:
                for name in engine.queue_names(settings).values():
                    connection.default_channel.queue_delete(name)
                connection.default_channel.exchange_delete(prefix)
    print(
        f"  {n} worker(s) x {concurrency} process(es): {len(found)} plans in {elapsed:.1f}s"
        f" = {len(found) / elapsed:.1f} plans/s {counts}"
    )
    return len(found) / elapsed


def in_process(base: str, found: list[ClientInput], profile: bool) -> float:
    """Plans per second, one after another in this process, without the engine; with
    `profile`, a further 200 plans under cProfile (timed apart: the profiler slows them)."""
    with (
        scratch_database(base, "tw_bench") as url,
        open_runner(Settings(database_url=url)) as runner,
    ):
        store(runner, found)
        for client in found[:10]:  # the same warm-up as the workers get
            runner.execute(runner.create(client, as_of=AS_OF).id)
        started = time.perf_counter()
        for client in found:
            runner.execute(runner.create(client, as_of=AS_OF).id)
        elapsed = time.perf_counter() - started
        print(
            f"  in process, no engine: {len(found)} plans in {elapsed:.1f}s"
            f" = {len(found) / elapsed:.1f} plans/s"
        )
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for client in found[:200]:
                runner.execute(runner.create(client, as_of=AS_OF).id)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print("  where a plan's time goes (200 plans in process, cumulative):")
            print("\n".join("    " + line for line in out.getvalue().splitlines()[6:34]))
    return len(found) / elapsed


def report_volume(runner: Runner, batch_id: str, n: int) -> None:
    """Rows and checkpoint bytes the batch wrote, per run (PostgreSQL's own sizes)."""
    with session_scope(runner.engine) as session:
        rows = {
            table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("run", "batchitem", "auditevent", "approval", "delivery")
        }
        sizes = {
            table: session.execute(
                text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}
            ).scalar_one()
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
        }
        checkpoints = session.execute(text("SELECT count(*) FROM checkpoints")).scalar_one()
    total = sum(rows.values())
    print(f"  written (whole database, {n} batch runs + the warm-up):")
    print(f"    rows: {rows}, {total / n:.1f} per run; checkpoints: {checkpoints / n:.1f} per run")
    print(
        "    checkpoint tables on disk: "
        + ", ".join(f"{t} {b / 1e6:.1f} MB" for t, b in sizes.items())
        + f"; {sum(sizes.values()) / n / 1024:.1f} KiB per run"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--profile", action="store_true", help="profile the in-process runs")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="pool processes per worker (tierwise worker)"
    )
    args = parser.parse_args()
    found = book(args.clients)
    logs = Path(f"/tmp/tw-bench-batch-{uuid.uuid4().hex[:6]}")
    logs.mkdir()
    print(
        f"bench_batch: {args.clients} long-tail clients, PostgreSQL, offline model,"
        f" {os.cpu_count()} cores"
    )
    alone = in_process(args.database, found, args.profile)
    rates = {
        n: on_workers(args.database, args.broker, found, n, logs, args.concurrency)
        for n in args.workers
    }
    for n, rate in rates.items():
        print(
            f"  engine overhead at {n} worker(s): {alone / rate * n * args.concurrency:.2f}x"
            " the in-process time per plan, per process"
        )
    print(f"  (worker logs in {logs})")


if __name__ == "__main__":
    main()
