"""A large price import: rows per second, peak memory, and how long the API's writers wait.

    python benchmarks/bench_prices.py [--rows 216000] [--shape long|repeat] [--database URL]

`long` (the default): a generated long-form file of random-walk closes for every shelf product,
on weekdays back from 2026-02-26 (rows / products days each): every row a new price. `repeat`:
the shared 7-ETF wide file repeated until it has that many lines (the same prices again and
again, about 29 MB at 216,000 lines). The import runs in a child process on a fresh database
(SQLite unless --database names a PostgreSQL server), through the CLI's import, beside a thread
that updates a client row on a connection of its own in a loop, as the API's writers would.
Printed: rows per second, the child's peak RSS above what it held before the import, and the
writer's longest and 99th-percentile wait. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from databases import scratch_database  # noqa: E402
from outcomehelp import PRICES  # noqa: E402
from sqlalchemy import update  # noqa: E402

from core.database import get_engine, session_scope  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.tables import Client, utcnow  # noqa: E402
from tools.market.market_data import load_market  # noqa: E402

LAST = date(2026, 2, 26)


def write_long(path: Path, rows: int) -> None:
    """Random-walk closes (daily moves under 3%) for every shelf product."""
    codes = sorted(load_market().products)
    rng = random.Random(7)
    days: list[date] = []
    day = LAST
    while len(days) < -(-rows // len(codes)):
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("date,code,close\n")
        for code in codes:
            close = rng.uniform(1, 100)
            for day in reversed(days):
                if written == rows:
                    return
                close *= 1 + rng.uniform(-0.03, 0.03)
                out.write(f"{day.isoformat()},{code},{close:.6f}\n")
                written += 1


def write_repeat(path: Path, rows: int) -> None:
    """The shared wide file's lines again and again, under one header."""
    header, *lines = PRICES.read_text("utf-8").splitlines(keepends=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        for n in range(rows):
            out.write(lines[n % len(lines)])


def _writer(url: str, stop: threading.Event, waits: list[float]) -> None:
    """Update one client row in a loop, each update its own transaction, timing each."""
    engine = get_engine(url)
    while not stop.is_set():
        start = time.perf_counter()
        with session_scope(engine) as session:
            session.execute(
                update(Client).where(Client.id == "BENCH-WRITER").values(updated_at=utcnow())
            )
        waits.append(time.perf_counter() - start)
        time.sleep(0.005)


def _child(url: str, path: str, found: Any) -> None:
    from cli.outcomes import import_file
    from graphs.runner import open_runner

    settings = Settings(environment="test", database_url=url)
    with open_runner(settings) as runner:
        with session_scope(runner.engine) as session:
            session.add(Client(id="BENCH-WRITER", data={}))
        stop, waits = threading.Event(), list[float]()
        writer = threading.Thread(target=_writer, args=(url, stop, waits))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        writer.start()
        start = time.perf_counter()
        try:
            answer = import_file(runner, Path(path))
        finally:
            spent = time.perf_counter() - start
            stop.set()
            writer.join()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found.put({"answer": answer, "spent": spent, "waits": waits, "rss": (before, peak)})


def bench(url: str, path: Path, lines: int, label: str) -> None:
    context = multiprocessing.get_context("spawn")
    found = context.Queue()
    child = context.Process(target=_child, args=(url, str(path), found))
    child.start()
    result = found.get()
    child.join()
    answer, waits = result["answer"], sorted(result["waits"])
    before, peak = result["rss"]
    p99 = waits[int(len(waits) * 0.99)] if waits else 0.0
    print(f"{label}: {lines:,} lines, {path.stat().st_size / 1e6:.1f} MB")
    print(
        f"  imported {answer['rows']:,} prices ({answer['changed']:,} changed) in "
        f"{result['spent']:.1f} s = {lines / result['spent']:,.0f} lines/s"
    )
    print(f"  peak RSS {peak / 1024:.0f} MB, {(peak - before) / 1024:.0f} MB above the start")
    print(
        f"  a concurrent writer: {len(waits)} writes, longest wait {waits[-1] * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, median {statistics.median(waits) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=216_000)
    parser.add_argument("--shape", choices=("long", "repeat"), default="long")
    parser.add_argument("--database", help="a PostgreSQL URL; default a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        path = Path(tmp) / f"prices-{args.shape}.csv"
        (write_long if args.shape == "long" else write_repeat)(path, args.rows)
        if args.database:
            url = stack.enter_context(scratch_database(args.database, "bench_prices"))
            label = "PostgreSQL"
        else:
            url, label = f"sqlite:///{tmp}/bench.db", "SQLite"
        bench(url, path, args.rows, f"{label}, {args.shape} file")


if __name__ == "__main__":
    main()
