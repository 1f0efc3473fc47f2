"""A backlog of queued runs drained the way one API process drains it: an executor pool and the
sweeper, in threads of one process. Prints how many runs were executed more than once.

python benchmarks/bench_backlog.py [--runs N] [--lease-seconds S] [--workers W]

A short lease makes the sweeper take runs that wait in the executor's queue, which is the race
an execution-scoped lease must settle (issue 11 §5). Runs are long-tail, so every execution of
a run is a start or a recovery, never an advisor's resume.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories import AS_OF, long_tail_client  # noqa: E402

from core.database import session_scope  # noqa: E402
from core.errors import RunBusy  # noqa: E402
from core.schemas.vocabulary import FINAL_STATUSES  # noqa: E402
from core.services import runs  # noqa: E402
from core.settings import Settings  # noqa: E402
from graphs.runner import Runner, open_runner  # noqa: E402

EXPECTED = [
    "profile_client",
    "research_products",
    "allocate_portfolio",
    "check_compliance",
    "deliver_plan",
]


def count_executions(runner: Runner) -> tuple[Counter[str], list[str]]:
    """Wrap the runner's one execution path: counts per run, and runs executed concurrently."""
    counts: Counter[str] = Counter()
    active: Counter[str] = Counter()
    overlapped: list[str] = []
    lock = threading.Lock()
    inner = runner._drive_leased

    def counted(run_id: str, *args: Any) -> Any:
        with lock:
            counts[run_id] += 1
            active[run_id] += 1
            if active[run_id] > 1:
                overlapped.append(run_id)
        try:
            return inner(run_id, *args)
        finally:
            with lock:
                active[run_id] -= 1

    runner._drive_leased = counted  # type: ignore[method-assign]
    return counts, overlapped


def drain(runner: Runner, run_ids: list[str], workers: int) -> float:
    """Execute every run in a pool while the sweeper sweeps, until every run has ended."""
    stop = threading.Event()

    def sweep() -> None:
        while not stop.is_set():
            runner.sweep()
            stop.wait(runner.settings.sweep_interval_seconds)

    def execute(run_id: str) -> None:
        with contextlib.suppress(RunBusy):  # the sweeper has it
            runner.execute(run_id)

    started = time.perf_counter()
    sweeper = threading.Thread(target=sweep, daemon=True)
    sweeper.start()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(execute, run_ids))
    while True:
        with session_scope(runner.engine) as session:
            if all(runs.get(session, r).status in FINAL_STATUSES for r in run_ids):
                break
        time.sleep(runner.settings.sweep_interval_seconds)
    stop.set()
    sweeper.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--lease-seconds", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            environment="test",
            database_url=f"sqlite:///{Path(tmp) / 'backlog.db'}",
            lease_seconds=args.lease_seconds,
            sweep_interval_seconds=args.lease_seconds / 4,
        )
        with open_runner(settings) as runner:
            run_ids = [
                runner.create(long_tail_client(client_id=f"C-{i}"), as_of=AS_OF).id
                for i in range(args.runs)
            ]
            counts, overlapped = count_executions(runner)
            seconds = drain(runner, run_ids, args.workers)
            with session_scope(runner.engine) as session:
                ended = [runs.get(session, r) for r in run_ids]
        twice = sum(1 for r in run_ids if counts[r] > 1)
        corrupted = sum(1 for r in ended if r.trajectory != EXPECTED)
        statuses = Counter(r.status for r in ended)
        print(
            f"backlog of {args.runs} long-tail runs, lease {args.lease_seconds}s, "
            f"{args.workers} executor threads + the sweeper, one process"
        )
        print(f"  drained in {seconds:.1f}s; statuses {dict(statuses)}")
        print(f"  runs executed more than once:   {twice}")
        print(f"  runs executed concurrently:     {len(set(overlapped))}")
        print(f"  trajectories not the one path:  {corrupted}")


if __name__ == "__main__":
    main()
