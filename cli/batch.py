"""`tierwise batch`: one batch over a file of clients or the stored ones, with a progress bar.

With no broker the batch runs here, under the batch lease, on `batch_workers` threads; Ctrl-C
stops it between items and leaves it resumable (`tierwise batch resume ID`, or any server's or
worker's reconciler once the lease lapses). With a broker the items are published and workers
run them; this command only watches, and Ctrl-C stops watching.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from core.database import session_scope
from core.errors import InvalidInput
from core.schemas.client import ClientInput
from core.services import batches, clients
from core.tables import utcnow
from graphs import engine
from graphs.runner import Runner

POLL_SECONDS = 0.5
NOT_DONE = ("queued", "running")  # counts of items still to be carried on


def read_clients(path: Path) -> list[ClientInput]:
    """Every client of a JSON Lines file; any bad line is InvalidInput naming each bad line
    (the first 20), and then nothing is stored."""
    found: list[ClientInput] = []
    errors: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                found.append(ClientInput.model_validate_json(line))
            except ValidationError as exc:
                fields = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors()
                )
                errors.append(f"line {number}: {fields}")
    if errors:
        more = f" (and {len(errors) - 20} more lines)" if len(errors) > 20 else ""
        raise InvalidInput(f"{path}: " + " | ".join(errors[:20]) + more + "; nothing was stored")
    if not found:
        raise InvalidInput(f"{path} holds no clients")
    return found


def create(
    runner: Runner,
    selection: batches.Selection,
    *,
    as_of: date,
    request: str | None,
    stored: list[ClientInput] | None = None,
) -> str:
    """Store the clients given (if any) and create the batch, in one transaction."""
    with session_scope(runner.engine) as session:
        for client in stored or []:
            clients.upsert(session, client)
        made = batches.create(
            session,
            selection,
            tiers=runner.settings.tiers,
            as_of=as_of,
            actor="cli",
            request=request,
        )
        return made.id


def summary(runner: Runner, batch_id: str) -> dict[str, Any]:
    with session_scope(runner.engine) as session:
        found = batches.get(session, batch_id)
        return {
            "batch_id": found.id,
            "status": found.status,
            "total": found.total,
            "counts": batches.counts(session, batch_id),
        }


def _counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{status} {n}" for status, n in sorted(counts.items()))


def carry_on(runner: Runner, batch_id: str, console: Console, *, resume: bool) -> dict[str, Any]:
    """Run (or, with a broker, publish and watch) the batch with a progress bar on `console`
    until it is done or Ctrl-C; returns the summary. KeyboardInterrupt propagates after the
    items in flight have finished, with the batch left resumable."""
    stop = threading.Event()
    finished = threading.Event()
    if runner.settings.broker_url:
        broker = engine.Broker(runner)
        broker.publish_items(batch_id)
        if resume:  # whatever is still pending is published again; a duplicate is a no-op
            broker.republish(batch_id, before=utcnow())
        work: Callable[[], None] = lambda: None  # noqa: E731 - the workers do the work
    else:

        def work() -> None:
            try:
                threads = runner.settings.batch_workers
                if not engine.drive(runner, batch_id, stop, threads=threads):
                    console.print(f"batch {batch_id} is being run by another process; watching")
                    stop.wait()
            finally:
                finished.set()

    driver = threading.Thread(target=work, name="tw-batch-cli", daemon=True)
    driver.start()
    try:
        _watch(runner, batch_id, console, stop, finished)
    except KeyboardInterrupt:
        stop.set()
        console.print(
            f"stopping after the items in flight; resume with: tierwise batch resume {batch_id}"
        )
        driver.join()
        raise
    stop.set()
    driver.join()
    return summary(runner, batch_id)


def _watch(
    runner: Runner,
    batch_id: str,
    console: Console,
    stop: threading.Event,
    finished: threading.Event,
) -> None:
    """Poll the batch's counts into a progress bar until it closes, or the driver is done."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[counts]}"),
    )
    started = time.monotonic()
    with Progress(*columns, console=console, transient=False) as progress:
        state = summary(runner, batch_id)
        first = state["total"] - sum(state["counts"].get(s, 0) for s in NOT_DONE)
        task = progress.add_task(batch_id, total=state["total"], rate="", counts="")
        while True:
            ending = finished.is_set()  # read before the counts, so the last ones are shown
            state = summary(runner, batch_id)
            done = state["total"] - sum(state["counts"].get(s, 0) for s in NOT_DONE)
            elapsed = max(time.monotonic() - started, 1e-9)
            progress.update(
                task,
                completed=done,
                rate=f"{(done - first) / elapsed:.1f} plans/s",
                counts=_counts_text(state["counts"]),
            )
            if ending or state["status"] in ("done", "cancelled"):
                return
            time.sleep(POLL_SECONDS)
