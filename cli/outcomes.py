"""What `tierwise prices`, `tierwise outcomes` and `tierwise demo --past` do, once their
arguments are parsed (imported inside the commands, as cli/batch.py is)."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from core.database import session_scope
from core.errors import InvalidInput
from core.schemas.client import ClientInput
from core.services import approvals, clients, demo, outcomes, price_files, price_imports
from core.tables import Run
from graphs.runner import Runner
from tools.outcomes import imports, service

# The past demo: the demo book planned on three review dates inside the price file of
# ../shared/data (imported first: `tierwise prices import`).
PAST_DATES = (date(2023, 6, 30), date(2024, 6, 28), date(2025, 6, 30))


def import_file(
    runner: Runner,
    path: Path,
    *,
    override: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Read, check and store a price file, a line at a time (InvalidPrices names every bad
    line, ImplausiblePrices what the sanity gate refuses without `override`, and then nothing
    is stored)."""
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    with stream:
        return imports.run(
            runner.engine,
            price_files.csv_source(stream, runner.market.products),
            runner.settings.prices,
            runner.market.products,
            actor=f"cli:{_user()}",
            override=override,
            on_chunk=on_chunk,
        )


def _user() -> str:
    """Who runs the command, as the audit trail records an import."""
    try:
        return getpass.getuser()[:60]
    except (OSError, KeyError):  # no login name in this environment
        return "unknown"


def imported(runner: Runner, import_id: str) -> dict[str, Any]:
    """A stored import as GET /v1/prices/imports/{id} shows it."""
    with session_scope(runner.engine) as session:
        return price_imports.public(session, price_imports.get(session, import_id))


@contextmanager
def progress(console: Console, what: str) -> Iterator[Any]:
    """A transient bar on the console; yields step(done, total), total None while unknown."""
    with Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=None)

        def step(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield step


def refresh(runner: Runner, console: Console) -> service.Refreshed:
    """Bring every delivered plan's stored outcome up to the latest prices, with a bar (or say
    that another process is doing it, and how many it has still to measure)."""
    with progress(console, "Measuring delivered plans") as step:
        done = service.refresh(
            runner.engine,
            runner.market,
            lease_seconds=runner.settings.lease_seconds,
            on_page=step,
        )
    if done.busy:
        console.print(
            f"another process is measuring outcomes: {done.pending} plan(s) still to measure "
            "on the latest prices; the figures below count them on earlier ones, or not yet"
        )
    return done


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.2f}%"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def table(groups: list[dict[str, Any]], group_by: str, disclosure: str) -> Table:
    shown = Table(title=f"Outcomes of delivered plans by {group_by}", caption=disclosure)
    for column in (
        group_by,
        "plans",
        "measured",
        "median vs holdings",
        "IQR vs holdings",
        "median vs 1/N",
        "IQR vs 1/N",
        "breaches",
    ):
        shown.add_column(column, justify="left" if column == group_by else "right")
    for g in groups:
        iqr_h, iqr_e = g["iqr_excess_vs_holdings"], g["iqr_excess_vs_equal_weight"]
        shown.add_row(
            g["key"],
            str(g["plans"]),
            str(g["measured"]),
            _pct(g["median_excess_vs_holdings"]),
            f"{_pct(iqr_h[0])} … {_pct(iqr_h[1])}" if iqr_h else "–",
            _pct(g["median_excess_vs_equal_weight"]),
            f"{_pct(iqr_e[0])} … {_pct(iqr_e[1])}" if iqr_e else "–",
            f"{g['breaches']} ({_share(g['breach_share'])})",
        )
    return shown


def breaches_table(found: list[dict[str, Any]]) -> Table:
    shown = Table(title="Plans whose drawdown passed the client's tolerance")
    columns = (
        "client",
        "advisor",
        "run",
        "from",
        "to",
        "drawdown",
        "tolerance",
        "return",
        "coverage",
        "made by import",
    )
    for column in columns:
        shown.add_column(column)
    for b in found:
        shown.add_row(
            b["client_id"],
            b["advisor_id"] or outcomes.UNASSIGNED,
            b["run_id"],
            b["from"],
            b["to"],
            _share(b["max_drawdown"]),
            _share(b["tolerance"]),
            _pct(b["return"]),
            _share(b["coverage"]),
            b["price_import"] or "–",
        )
    return shown


def breaches(runner: Runner, start: date | None, end: date | None) -> list[dict[str, Any]]:
    with session_scope(runner.engine) as session:
        return [
            outcomes.breach_public(*pair)
            for pair in outcomes.breaches(session, start=start, end=end)
        ]


def as_it_was(client: ClientInput, day: date) -> ClientInput:
    """The client as the firm's systems would have sent them on `day`: assessed a month
    before, and only the trades made by then."""
    data = client.model_dump(mode="json")
    data["risk_assessment"]["assessed_on"] = (day - timedelta(days=30)).isoformat()
    data["trades"] = [t for t in data["trades"] if t["date"] <= day.isoformat()]
    return ClientInput.model_validate(data)


def plan_on(runner: Runner, client: ClientInput, day: date, actor: str) -> Run:
    """A plan for the client as they were on `day`, re-assessed before this review round, and
    approved that day by their advisor if it needs sign-off and its verdict lets them."""
    then = as_it_was(client, day)
    with session_scope(runner.engine) as session:
        clients.upsert(session, then)
    run = runner.execute(runner.create(then, as_of=day, actor=actor).id)
    return _approve(runner, run, then, day) if run.status == "awaiting_approval" else run


def past_demo(runner: Runner, console: Console) -> list[dict[str, Any]]:
    """Plan the demo book on each of PAST_DATES, the advisors approving every plan they may
    (on that day), so that there are plans delivered in the past to measure."""
    with session_scope(runner.engine) as session:
        demo.seed(session)
    book = demo.load_clients()
    made = []
    with progress(console, "Planning the demo book on past dates") as step:
        for done, day in enumerate(PAST_DATES):
            for client in book:
                run = plan_on(runner, client, day, "demo")
                made.append(
                    {
                        "client_id": client.client_id,
                        "as_of": day.isoformat(),
                        "run_id": run.id,
                        "status": run.status,
                    }
                )
            step(done + 1, len(PAST_DATES))
        with session_scope(runner.engine) as session:
            for client in book:  # the book as it stands today
                clients.upsert(session, client)
    return made


def _approve(runner: Runner, run: Run, client: ClientInput, day: date) -> Run:
    """The client's advisor approves the plan on `day`, if its verdict lets them."""
    with session_scope(runner.engine) as session:
        review = approvals.latest_for_run(session, run.id)
    if review is None or review.verdict not in ("pass", "escalate"):
        return run
    decision = {
        "action": "approve",
        "plan_hash": review.plan_hash,
        "advisor": client.advisor_id,
        "comment": "Demo: reviewed with the client.",
    }
    return runner.decide(review.id, decision, on=day)
