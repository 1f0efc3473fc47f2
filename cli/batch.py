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
from datetime import date, timedelta
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
    """Every client of a JSON Lines file (UTF-8, a byte-order mark allowed); any bad line is
    InvalidInput naming each bad line (the first 20), a client id on two lines names both, and
    then nothing is stored."""
    found: list[ClientInput] = []
    errors: list[str] = []
    first_seen: dict[str, int] = {}
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                errors.append(f"line {number}: not UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if not line.strip():
                continue
            try:
                client = ClientInput.model_validate_json(line)
            except ValidationError as exc:
                fields = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors()
                )
                errors.append(f"line {number}: {fields}")
                continue
            if client.client_id in first_seen:
                errors.append(
                    f"line {number}: client {client.client_id!r} is also on line "
                    f"{first_seen[client.client_id]}"
                )
                continue
            first_seen[client.client_id] = number
            found.append(client)
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
    actor: str = "cli",
) -> str:
    """Store the clients given (if any) and create the batch, in one transaction (an `as_of`
    the batch service refuses stores nothing)."""
    with session_scope(runner.engine) as session:
        for client in stored or []:
            clients.upsert(session, client)
        made = batches.create(
            session,
            selection,
            tiers=runner.settings.tiers,
            as_of=as_of,
            shipped_from=runner.market.cma.first_day,
            actor=actor,
            request=request,
        )
        return made.id


def resumable(runner: Runner, batch_id: str) -> None:
    """Check the batch can be carried on (BatchNotFound, BatchCancelled), without counting its
    items."""
    with session_scope(runner.engine) as session:
        batches.resumable(session, batch_id)


def summary(runner: Runner, batch_id: str) -> dict[str, Any]:
    with session_scope(runner.engine) as session:
        found = batches.get(session, batch_id)
        return {
            "batch_id": found.id,
            "status": found.status,
            "total": found.total,
            "counts": batches.counts(session, batch_id),
        }


def _carried(state: dict[str, Any]) -> int:
    """Items carried as far as they go: ended, waiting for an advisor, cancelled or failed."""
    return int(state["total"]) - sum(int(state["counts"].get(s, 0)) for s in NOT_DONE)


def _closed(runner: Runner, batch_id: str) -> bool:
    with session_scope(runner.engine) as session:
        return batches.get(session, batch_id).status in ("done", "cancelled")


def _counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{status} {n}" for status, n in sorted(counts.items()))


def carry_on(runner: Runner, batch_id: str, console: Console, *, resume: bool) -> dict[str, Any]:
    """Run (or, with a broker, publish and watch) the batch with a progress bar on `console`
    until it is done or Ctrl-C; returns the summary. KeyboardInterrupt propagates after the
    items in flight have finished, with the batch left resumable."""
    stop = threading.Event()
    finished = threading.Event()
    lease = runner.settings.lease_seconds
    if runner.settings.broker_url:
        broker = engine.Broker(runner)
        broker.publish_items(batch_id)
        if resume and broker.ready("batch") == 0:
            # Nothing waits in the queue, yet items published a lease ago are still pending:
            # their messages were lost. (A duplicate would be a no-op, but a backlog is not.)
            broker.republish(batch_id, before=utcnow() - timedelta(seconds=lease))
        work: Callable[[], None] = lambda: None  # noqa: E731 - the workers do the work
    else:

        def work() -> None:
            try:
                threads = runner.settings.batch_workers
                told = False
                # Another process holds the batch (a CLI killed a moment ago holds it until
                # its lease lapses): watch, and take it over as soon as it is free.
                while not engine.drive(runner, batch_id, stop, threads=threads):
                    if _closed(runner, batch_id):  # done or cancelled: nothing to wait for
                        return
                    if not told:
                        console.print(f"batch {batch_id} is held by another process; waiting")
                        told = True
                    if stop.wait(lease / 3):
                        return
            finally:
                finished.set()

    driver = threading.Thread(target=work, name="tw-batch-cli", daemon=True)
    driver.start()
    try:
        _watch(runner, batch_id, console, finished)
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
        first = _carried(state)
        task = progress.add_task(batch_id, total=state["total"], rate="", counts="")
        while True:
            ending = finished.is_set()  # read before the counts, so the last ones are shown
            polled = time.monotonic()
            state = summary(runner, batch_id)
            done = _carried(state)
            elapsed = max(time.monotonic() - started, 1e-9)
            progress.update(
                task,
                completed=done,
                rate=f"{(done - first) / elapsed:.1f} plans/s",
                counts=_counts_text(state["counts"]),
            )
            if ending or state["status"] in ("done", "cancelled"):
                return
            # Counting a batch of 100,000 takes a while: poll no more than a tenth of the time.
            time.sleep(max(POLL_SECONDS, 10 * (time.monotonic() - polled)))
