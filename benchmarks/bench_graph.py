"""Latency of a full offline long-tail run on SQLite against a bare 4-node graph, same checkpointer,
and what a run writes: its transactions (commits of the application's tables) and rows.

python benchmarks/bench_graph.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories import AS_OF, long_tail_client  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from core.settings import Settings  # noqa: E402
from graphs.checkpointer import open_checkpointer  # noqa: E402
from graphs.runner import open_runner  # noqa: E402


class BareState(TypedDict, total=False):
    value: int


def _step(state: BareState) -> BareState:
    return {"value": state.get("value", 0) + 1}


def bare_graph_latencies(url: str, runs: int) -> list[float]:
    builder = StateGraph(BareState)
    for name in ("a", "b", "c", "d"):
        builder.add_node(name, _step)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", "d")
    builder.add_edge("d", END)
    out = []
    with open_checkpointer(url) as saver:
        graph = builder.compile(checkpointer=saver)
        for _ in range(runs):
            config = {"configurable": {"thread_id": uuid.uuid4().hex}}
            started = time.perf_counter()
            graph.invoke({"value": 0}, config, durability="sync")
            out.append(time.perf_counter() - started)
    return out


@dataclass
class Writes:
    """Commits of the application's tables and rows they wrote (INSERT, UPDATE, DELETE)."""

    commits: int = 0
    rows: int = 0

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "after_cursor_execute", self._executed)

    def _commit(self, *_: object) -> None:
        self.commits += 1

    def _executed(self, _conn: object, cursor: Any, statement: str, *_: object) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.rows += max(cursor.rowcount, 0)


CHECKPOINT_TABLES = ("checkpoints", "writes")


def _checkpoint_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in CHECKPOINT_TABLES
        )


def advisory_latencies(
    url: str, runs: int, writes: Writes | None = None
) -> tuple[list[float], int]:
    """Each run's latency, and the checkpoint rows the runs wrote."""
    out = []
    with open_runner(Settings(environment="test", database_url=url)) as runner:
        client = long_tail_client(risk_level="C2", goal="income")
        before = _checkpoint_rows(runner.engine)
        if writes is not None:
            writes.watch(runner.engine)
        for _ in range(runs):
            started = time.perf_counter()
            run = runner.create(client, as_of=AS_OF)
            finished = runner.execute(run.id)
            out.append(time.perf_counter() - started)
            if finished.status != "delivered":
                raise SystemExit(f"benchmark run ended {finished.status}, expected delivered")
        if writes is not None:
            event.remove(runner.engine, "commit", writes._commit)
            event.remove(runner.engine, "after_cursor_execute", writes._executed)
        return out, _checkpoint_rows(runner.engine) - before


def summary(name: str, samples: list[float]) -> tuple[float, float]:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"{name:<38} median {median * 1e3:8.1f} ms   p95 {p95 * 1e3:8.1f} ms   n={len(samples)}")
    return median, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full_url = f"sqlite:///{Path(tmp) / 'full.db'}"
        bare_url = f"sqlite:///{Path(tmp) / 'bare.db'}"
        advisory_latencies(full_url, args.warmup)
        bare_graph_latencies(bare_url, args.warmup)
        writes = Writes()
        full, checkpoint_rows = advisory_latencies(full_url, args.runs, writes)
        bare = bare_graph_latencies(bare_url, args.runs)
    full_median, full_p95 = summary("full long-tail advisory run (offline)", full)
    bare_median, bare_p95 = summary("bare 4-node graph, same checkpointer", bare)
    ratio = f"median {full_median / bare_median:8.1f} x    p95 {full_p95 / bare_p95:8.1f} x"
    print(f"{'ratio full / bare':<38} {ratio}")
    n = args.runs
    print(
        f"{'per run':<38} {writes.commits / n:5.1f} commits, {writes.rows / n:5.1f} rows "
        f"of the application's tables; {checkpoint_rows / n:5.1f} checkpoint rows"
    )


if __name__ == "__main__":
    main()
