"""The `tierwise` command line: seed, run, review and serve, on the same settings as the server.

Help and argument errors must stay as cheap as typer itself (benchmarks/bench_cli.py): this module
imports only typer, rich and light parts of core at the top. The settings, the database, the
services, the graphs (LangGraph, cvxpy, pandas...), the evals and the API are imported inside
the commands that use them, once the arguments are parsed. tests/cli/test_startup.py holds it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.errors import InvalidInput, TierwiseError
from core.schemas.vocabulary import ROLES

if TYPE_CHECKING:
    from core.schemas.client import ClientInput
    from graphs.runner import Runner


def _mask_logs() -> None:
    """Mask sensitive data in every log record of this process, before any command runs."""
    from core.logs import install_log_masking

    install_log_masking()


app = typer.Typer(
    help="Tierwise: tiered, AI-assisted wealth advice with advisor sign-off.",
    callback=_mask_logs,
)
principal_app = typer.Typer(help="API principals (tokens are printed once, stored hashed).")
app.add_typer(principal_app, name="principal")
db_app = typer.Typer(help="Schema migrations (Alembic); every start migrates to the latest.")
app.add_typer(db_app, name="db")
eval_app = typer.Typer(help="Eval suites: run them, gate on them, compare two results.")
app.add_typer(eval_app, name="eval")
prices_app = typer.Typer(help="Daily closes of shelf products, which outcomes are measured on.")
app.add_typer(prices_app, name="prices")
console = Console(stderr=True)

AsOf = Annotated[str | None, typer.Option(help="Valuation date YYYY-MM-DD (default: today).")]


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _day(value: str | None, name: str) -> date | None:
    """The option's day, or None if not given; a bad one is a usage error naming it."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{name} must be YYYY-MM-DD, got {value!r}") from exc


def _as_of(value: str | None) -> date:
    return _day(value or None, "--as-of") or date.today()


def _fail(exc: TierwiseError) -> None:
    console.print(f"[red]{exc.error}[/red]: {exc.detail}")
    raise typer.Exit(1)


def _request_summary(
    request: str | None, compliance: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The client's words and each wish's route, as the rules read them."""
    review = (compliance or {}).get("request")
    if request is None or review is None:
        return None if request is None else {"text": request}
    return {
        "text": request,
        "routes": [
            f"{r['wish']['direction']} {r['wish']['target']}: {r['route']}"
            for r in review["routes"]
        ],
        "not_understood": review["intent"]["not_understood"],
    }


def _summary(runner: Runner, run_id: str) -> dict[str, Any]:
    from core.database import session_scope
    from core.services import approvals, deliveries, runs

    with session_scope(runner.engine) as session:
        run = runs.get(session, run_id)
        approval = approvals.latest_for_run(session, run_id)
        delivery = deliveries.get(session, run_id)
        plan = run.plan or {}
        return {
            "run_id": run.id,
            "client_id": run.client_id,
            "status": run.status,
            "tier": run.tier,
            "trajectory": run.trajectory,
            "verdict": (run.compliance or {}).get("verdict"),
            "rules": [
                f["rule_id"]
                for f in (run.compliance or {}).get("findings", [])
                if f["verdict"] != "pass"
            ],
            "holdings": {h["product_code"]: h["weight"] for h in plan.get("holdings", [])},
            "request": _request_summary(run.request, run.compliance),
            "expected_return": plan.get("expected_return"),
            "expected_volatility": plan.get("expected_volatility"),
            "approval": None
            if approval is None
            else {
                "id": approval.id,
                "status": approval.status,
                "plan_hash": approval.plan_hash,
            },
            "delivered": delivery is not None,
            "error": run.error,
        }


@app.command()
def seed(
    demo_data: Annotated[
        bool, typer.Option("--demo", help="Load the demo principals and clients.")
    ] = False,
) -> None:
    """Create demo principals and clients and print their tokens as JSON."""
    if not demo_data:
        raise typer.BadParameter("nothing to seed: pass --demo")
    from core.database import get_engine, session_scope
    from core.services import demo
    from core.settings import get_settings

    with session_scope(get_engine(get_settings().database_url)) as session:
        _print(demo.seed(session))


DisplayName = Annotated[
    str | None, typer.Option(help="The name a client reads in a signed letter, e.g. 李明.")
]
Registration = Annotated[
    str | None,
    typer.Option(help="执业证书编号: a letter and 13 digits, e.g. S0980120010001."),
]
ContactLine = Annotated[
    str | None,
    typer.Option(
        help="A line the client may use: the branch and its office line, e.g. "
        "'上海陆家嘴营业部 021-6888 0001' (no mobile or e-mail: letters are masked)."
    ),
]


@principal_app.command("create")
def principal_create(
    role: Annotated[str, typer.Option(help="advisor, supervisor, engineer or service")],
    name: Annotated[str, typer.Option(help="For an advisor, the advisor_id of their clients.")],
    display_name: DisplayName = None,
    registration: Registration = None,
    contact: ContactLine = None,
) -> None:
    """Create a principal (or rotate its token) and print it with its token. An advisor signs
    plans off only with a display name and a registration number."""
    if role not in ROLES:
        raise typer.BadParameter(f"--role must be one of {', '.join(ROLES)}")
    from core.database import get_engine, session_scope
    from core.services import principals
    from core.settings import get_settings

    profile = {"display_name": display_name, "registration": registration, "contact": contact}
    try:
        with session_scope(get_engine(get_settings().database_url)) as session:
            principal, token = principals.create(session, name, role, profile)
            _print({**principals.public(principal), "token": token})
    except TierwiseError as exc:
        _fail(exc)


@principal_app.command("update")
def principal_update(
    name: Annotated[str, typer.Option(help="The principal's login id.")],
    display_name: DisplayName = None,
    registration: Registration = None,
    contact: ContactLine = None,
    clear_contact: Annotated[bool, typer.Option(help="Remove the contact line.")] = False,
) -> None:
    """Set a principal's display name, registration number or contact; the token stays."""
    if clear_contact and contact is not None:
        raise typer.BadParameter("give --contact or --clear-contact, not both")
    changes: dict[str, str | None] = {
        k: v
        for k, v in {
            "display_name": display_name,
            "registration": registration,
            "contact": contact,
        }.items()
        if v is not None
    }
    if clear_contact:
        changes["contact"] = None
    if not changes:
        raise typer.BadParameter(
            "nothing to change: give --display-name, --registration, --contact or --clear-contact"
        )
    from core.database import get_engine, session_scope
    from core.services import principals
    from core.settings import get_settings

    try:
        with session_scope(get_engine(get_settings().database_url)) as session:
            _print(principals.public(principals.update(session, name, changes)))
    except TierwiseError as exc:
        _fail(exc)


@principal_app.command("duty")
def principal_duty(
    name: Annotated[str, typer.Option(help="The advisor's login id.")],
    on: Annotated[
        bool, typer.Option("--on/--off", help="On duty (值班投顾) or off it.", show_default=False)
    ],
) -> None:
    """Put an advisor on duty or take them off it: on duty, they see the duty pool (reviews
    whose client has no advisor) and claim its reviews (tierwise claim)."""
    from core.database import get_engine, session_scope
    from core.services import principals
    from core.settings import get_settings

    try:
        with session_scope(get_engine(get_settings().database_url)) as session:
            _print(principals.public(principals.set_duty(session, name, on)))
    except TierwiseError as exc:
        _fail(exc)


def _load_client(runner: Runner, client: str) -> ClientInput:
    from core.database import session_scope
    from core.schemas.client import ClientInput
    from core.services import clients

    path = Path(client)
    with session_scope(runner.engine) as session:
        if path.is_file():
            parsed = ClientInput.model_validate_json(path.read_text("utf-8"))
            clients.upsert(session, parsed)
            return parsed
        return clients.get(session, client)


@app.command()
def run(
    client: Annotated[str, typer.Option(help="A client JSON file, or the id of a stored client.")],
    request: Annotated[str | None, typer.Option(help="The client's own request, if any.")] = None,
    as_of: AsOf = None,
) -> None:
    """Run the advisory workflow for one client, until delivery, a block or advisor review."""
    day = _as_of(as_of)
    from core.settings import get_settings
    from graphs.runner import open_runner

    with open_runner(get_settings()) as runner:
        try:
            parsed = _load_client(runner, client)
        except TierwiseError as exc:
            _fail(exc)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        created = runner.create(parsed, as_of=day, request=request, actor="cli")
        runner.execute(created.id)
        _print(_summary(runner, created.id))


@app.command("approvals")
def list_approvals(
    advisor: Annotated[
        str | None, typer.Option(help="Only this advisor's queue (an advisor principal's name).")
    ] = None,
    pool: Annotated[
        bool, typer.Option(help="The duty pool: unclaimed reviews of clients with no advisor.")
    ] = False,
) -> None:
    """Print the plans waiting for an advisor's sign-off, oldest first: every page of the queue
    GET /v1/approvals shows (with --pool, the duty pool's), each without its plan."""
    if pool and advisor is not None:
        raise typer.BadParameter("give --advisor or --pool, not both")
    from core.database import get_engine, session_scope
    from core.services import approvals, cursors, principals
    from core.settings import get_settings

    settings = get_settings()
    months, today = settings.compliance.assessment_valid_months, date.today()
    with session_scope(get_engine(settings.database_url)) as session:
        reviewer = None if advisor is None else principals.by_name(session, advisor)
        if advisor is not None and (reviewer is None or reviewer.role != "advisor"):
            raise typer.BadParameter(f"no advisor named {advisor!r}", param_hint="--advisor")
        queue = cursors.every(
            lambda cursor: approvals.queue(
                session, reviewer, today, months, cursor=cursor, pool=pool
            )
        )
        _print([{k: v for k, v in item.items() if k != "plan"} for item in queue])


@app.command()
def claim(
    approval_id: Annotated[str, typer.Argument(help="The duty-pool review to claim.")],
    advisor: Annotated[str, typer.Option(help="The claiming advisor, on duty.")],
) -> None:
    """Claim a review whose client has no advisor, as an advisor on duty (值班投顾); the first
    to claim it decides it (tierwise decide --advisor ...)."""
    from core.database import get_engine, session_scope
    from core.services import approvals
    from core.settings import get_settings

    settings = get_settings()
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            found = approvals.claim(session, approval_id, advisor, duty=settings.duty)
            _print({k: v for k, v in approvals.public(found).items() if k != "plan"})
    except TierwiseError as exc:
        _fail(exc)


@app.command()
def decide(
    approval_id: Annotated[str, typer.Argument(help="The approval to decide.")],
    action: Annotated[str, typer.Option(help="approve, revise or reject")],
    advisor: Annotated[
        str,
        typer.Option(help="The deciding advisor: the client's advisor_id, or the claimant."),
    ],
    plan_hash: Annotated[str, typer.Option(help="The plan_hash the advisor reviewed.")],
    comment: Annotated[str | None, typer.Option(help="Reason; required to reject.")] = None,
    weights: Annotated[str | None, typer.Option(help='For revise: JSON {"code": weight}.')] = None,
) -> None:
    """Approve, revise or reject a plan under review, as its advisor."""
    try:
        parsed = json.loads(weights) if weights else None
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--weights is not JSON: {exc}") from exc
    from core.settings import get_settings
    from graphs.runner import open_runner

    with open_runner(get_settings()) as runner:
        try:
            decision = {
                "action": action,
                "plan_hash": plan_hash,
                "advisor": advisor,
                "comment": comment,
                "weights": parsed,
            }
            result = runner.decide(approval_id, decision)
        except TierwiseError as exc:
            _fail(exc)
        _print(_summary(runner, result.id))


@app.command("demo")
def run_demo(
    as_of: AsOf = None,
    past: Annotated[
        bool,
        typer.Option(
            "--past",
            help="Instead: plan the demo book on three past dates (2023-06-30, 2024-06-28, "
            "2025-06-30), the advisors approving, so `tierwise outcomes` has plans to measure.",
        ),
    ] = False,
) -> None:
    """Seed the demo, run every demo client, approve one plan, and show what happened."""
    if past:
        if as_of is not None:
            raise typer.BadParameter("--past plans on its own dates; leave out --as-of")
        _past_demo()
        return
    day = _as_of(as_of)
    from rich.progress import track
    from rich.table import Table

    from core.database import session_scope
    from core.services import demo
    from core.settings import get_settings
    from graphs.runner import open_runner

    settings = get_settings()
    with open_runner(settings) as runner:
        with session_scope(runner.engine) as session:
            seeded = demo.seed(session)
        summaries = []
        for client in track(
            demo.load_clients(), description="Running advisory workflows", console=console
        ):
            created = runner.create(client, as_of=day, actor="demo")
            runner.execute(created.id)
            summaries.append(_summary(runner, created.id))
        table = Table(title="Demo runs")
        for column in ("client", "tier", "status", "verdict", "rules", "last node"):
            table.add_column(column)
        for s in summaries:
            last = s["trajectory"][-1] if s["trajectory"] else ""
            row = [s["client_id"], s["tier"] or "", s["status"], s["verdict"] or ""]
            table.add_row(*row, ", ".join(s["rules"]), last)
        console.print(table)
        waiting = next(s for s in summaries if s["client_id"] == "C-1001")
        console.print(f"C-1001 is {waiting['status']}; approving it as its advisor adv-li …")
        review = waiting["approval"]
        approved = runner.decide(
            review["id"],
            {
                "action": "approve",
                "plan_hash": review["plan_hash"],
                "advisor": "adv-li",
                "comment": "Reviewed with the client by phone.",
            },
        )
        console.print(
            f"C-1001 is now [bold]{approved.status}[/bold]: {' → '.join(approved.trajectory)}"
        )
    _print({"principals": seeded["principals"], "runs": summaries})


def _past_demo() -> None:
    from cli import outcomes as outcomes_cli
    from core.settings import get_settings
    from graphs.runner import open_runner

    with open_runner(get_settings()) as runner:
        made = outcomes_cli.past_demo(runner, console)
    counts: dict[str, int] = {}
    for run in made:
        counts[run["status"]] = counts.get(run["status"], 0) + 1
    _print({"runs": len(made), "statuses": counts, "dates": sorted({r["as_of"] for r in made})})


@prices_app.command("import")
def prices_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="A CSV file: long (date,code,close) or wide (date, then one column per code "
            "such as 510300.SH).",
            show_default=False,
        ),
    ],
    override: Annotated[
        str | None,
        typer.Option(
            "--override",
            metavar="REASON",
            help="Store what the sanity gate refuses (a daily move past "
            "TIERWISE_PRICES__MAX_DAILY_MOVE, a row far past the other products' prices), for "
            "this reason, recorded with the import and on the audit trail.",
        ),
    ] = None,
) -> None:
    """Store the file's prices (every bad line named, and then nothing stored), then measure
    every delivered plan on them. Prints {rows, codes, from, to, changed, replaced, skipped,
    import_id, overridden, measured, pending, override, outcomes} (pending: plans another
    process is measuring; override: the reason as recorded, masked, and whether it was
    needed; outcomes: the stored outcomes the import changed, and the largest change)."""
    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}")
    from cli import outcomes as outcomes_cli
    from core.services import price_imports
    from core.settings import get_settings
    from graphs.runner import open_runner

    try:  # the service checks it again: here it is a usage error, before the database opens
        price_imports.override_reason(override)
    except InvalidInput as exc:
        raise typer.BadParameter(exc.detail, param_hint="--override") from exc

    with open_runner(get_settings()) as runner:
        try:
            with outcomes_cli.progress(console, "Reading prices") as step:
                stored = outcomes_cli.import_file(
                    runner, file, override=override, on_chunk=lambda n: step(n, None)
                )
        except TierwiseError as exc:
            _fail(exc)
        if stored["skipped"]:
            console.print(f"not on the shelf, left out: {', '.join(stored['skipped'])}")
        refreshed = outcomes_cli.refresh(runner, console)
        stored["measured"], stored["pending"] = refreshed.measured, refreshed.pending
        record = outcomes_cli.imported(runner, stored["import_id"])
        stored["override"], stored["outcomes"] = record["override"], record["outcomes"]
    _print(stored)


@app.command()
def outcomes(
    group_by: Annotated[str, typer.Option(help="advisor or tier.")] = "advisor",
    start: Annotated[
        str | None, typer.Option("--from", help="Plans delivered on or after YYYY-MM-DD.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Plans delivered on or before YYYY-MM-DD.")
    ] = None,
    show_breaches: Annotated[
        bool,
        typer.Option(
            "--breaches", help="List the plans whose drawdown passed the client's tolerance."
        ),
    ] = False,
    review: Annotated[
        bool,
        typer.Option(
            "--review", help="With --breaches: start a batch of new runs for those clients."
        ),
    ] = False,
) -> None:
    """How delivered plans did against the client's holdings and the 1/N baseline, per advisor
    or tier (every plan delivered in the period counts), as a table on stderr and JSON on
    stdout; or, with --breaches, the plans that hurt their client more than they accepted."""
    if group_by not in ("advisor", "tier"):
        raise typer.BadParameter(f"--group-by must be advisor or tier, got {group_by!r}")
    if review and not show_breaches:
        raise typer.BadParameter("--review goes with --breaches")
    first, last = _day(start, "--from"), _day(end, "--to")
    if first is not None and last is not None and first > last:
        raise typer.BadParameter("--from is after --to")
    from cli import batch as batch_cli
    from cli import outcomes as outcomes_cli
    from core.database import session_scope
    from core.services import outcomes as stored
    from core.services.batches import Selection
    from core.settings import get_settings
    from graphs.runner import open_runner
    from tools.outcomes.service import disclosures

    with open_runner(get_settings()) as runner:
        pending = outcomes_cli.refresh(runner, console).pending
        wording = disclosures()
        if not show_breaches:
            with session_scope(runner.engine) as session:
                groups = stored.aggregate(session, group_by, start=first, end=last)  # type: ignore[arg-type]
            console.print(outcomes_cli.table(groups, group_by, wording))
            _print(
                {"group_by": group_by, "groups": groups, "pending": pending, "disclosure": wording}
            )
            return
        found = outcomes_cli.breaches(runner, first, last)
        console.print(outcomes_cli.breaches_table(found))
        result: dict[str, Any] = {"breaches": found, "pending": pending, "disclosure": wording}
        if review and found:
            ids = sorted({b["client_id"] for b in found})
            try:
                # New runs for them: a mid-tier or HNW client's plan waits for the advisor.
                batch_id = batch_cli.create(
                    runner,
                    Selection(client_ids=tuple(ids)),
                    as_of=date.today(),
                    request=None,
                    actor="cli:outcomes --breaches",
                )
                result["review"] = batch_cli.carry_on(runner, batch_id, console, resume=False)
            except TierwiseError as exc:
                _print(result)  # the breaches still, then why no review started
                _fail(exc)
        _print(result)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the configured database to the latest schema."""
    from core.database import get_engine
    from core.settings import get_settings

    get_engine(get_settings().database_url)
    typer.echo("database at the latest schema")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", help="What the change is.")]) -> None:
    """Write a migration for what changed in core/tables.py (run against an up-to-date database)."""
    from core.database import get_engine
    from core.migrate import revise
    from core.settings import get_settings

    revise(get_engine(get_settings().database_url), message)


@app.command()
def prune(
    older_than_days: Annotated[float, typer.Option(help="Finished runs untouched for this long.")],
) -> None:
    """Delete the checkpoints of finished runs older than N days (runs and audit trail stay),
    and the inbox sessions and stopped workers' rows that ended before then."""
    if older_than_days < 0:
        raise typer.BadParameter("--older-than-days must be 0 or more")
    from core.database import session_scope
    from core.services import inbox_sessions, workers
    from core.settings import get_settings
    from core.tables import utcnow
    from graphs.runner import open_runner

    with open_runner(get_settings()) as runner:
        pruned = runner.prune(older_than_days)
        cutoff = utcnow() - timedelta(days=older_than_days)
        with session_scope(runner.engine) as session:
            sessions = inbox_sessions.prune(session, cutoff)
            stopped = workers.prune(session, cutoff)
    _print({"pruned": len(pruned), "runs": pruned, "inbox_sessions": sessions, "workers": stopped})


@app.command()
def batch(
    source: Annotated[
        str | None,
        typer.Argument(
            help="CLIENTS.jsonl (one client JSON per line: stored or updated, then run), "
            "or the word resume followed by a batch id.",
            show_default=False,
        ),
    ] = None,
    batch_id: Annotated[
        str | None, typer.Argument(help="With resume: the batch to carry on.", show_default=False)
    ] = None,
    all_clients: Annotated[bool, typer.Option("--all", help="Every stored client.")] = False,
    tier: Annotated[
        str | None, typer.Option(help="With --all: only long_tail, mid_tier or hnw clients.")
    ] = None,
    request: Annotated[str | None, typer.Option(help="The same request for every run.")] = None,
    as_of: AsOf = None,
) -> None:
    """Run one batch (千人千策) over a file of clients, or every stored client, with a progress
    bar on stderr and one JSON summary on stdout: {batch_id, status, total, counts}.

    Without TIERWISE_BROKER_URL the runs execute in this process; Ctrl-C stops between items
    and `tierwise batch resume ID` carries on (not a cancelled batch: exit 1). With a broker,
    workers run them and this watches.
    """
    resuming = source == "resume"
    chosen = [resuming, all_clients, source is not None and not resuming]
    if sum(chosen) != 1:
        raise typer.BadParameter("give one of: CLIENTS.jsonl, --all, or resume BATCH_ID")
    if resuming and not batch_id:
        raise typer.BadParameter("resume needs a batch id: tierwise batch resume BATCH_ID")
    if batch_id and not resuming:
        raise typer.BadParameter(f"unexpected argument {batch_id!r}")
    if tier is not None and (not all_clients or tier not in ("long_tail", "mid_tier", "hnw")):
        raise typer.BadParameter("--tier goes with --all and is long_tail, mid_tier or hnw")
    if resuming and (request or as_of):
        raise typer.BadParameter("a resumed batch keeps its own --request and --as-of")
    day = _as_of(as_of)
    path = Path(source) if source is not None and not resuming else None
    if path is not None and not path.is_file():
        raise typer.BadParameter(f"no such file: {path}")
    from cli import batch as batch_cli
    from core.services.batches import Selection
    from core.settings import get_settings
    from graphs.runner import open_runner

    found: str | None = None
    with open_runner(get_settings()) as runner:
        try:
            if resuming:
                assert batch_id is not None
                found = batch_id
                batch_cli.resumable(runner, found)  # not found or cancelled: say so, exit 1
            elif path is not None:
                given = batch_cli.read_clients(path)
                selection = Selection(client_ids=tuple(c.client_id for c in given))
                found = batch_cli.create(
                    runner, selection, as_of=day, request=request, stored=given
                )
            else:
                found = batch_cli.create(runner, Selection(tier=tier), as_of=day, request=request)
            outcome = batch_cli.carry_on(runner, found, console, resume=resuming)
        except TierwiseError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            if found is not None:  # stopped before the batch existed: nothing to show
                _print(batch_cli.summary(runner, found))
            raise typer.Exit(130) from None
        _print(outcome)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    queues: Annotated[
        str, typer.Option(help="Which queues to consume: runs (interactive), batch, or both.")
    ] = "runs,batch",
    loglevel: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Start a task-engine worker (Celery, on TIERWISE_BROKER_URL) that executes runs,
    decisions' resumes and batch items; run several, on as many machines as needed."""
    from core.settings import get_settings

    settings = get_settings()
    if not settings.broker_url:
        raise typer.BadParameter(
            "TIERWISE_BROKER_URL is not set (e.g. amqp://guest:guest@127.0.0.1:5672//); "
            "without a broker, runs execute in the serving or batch process"
        )
    from graphs import worker as celery_worker

    try:
        celery_worker.run(settings, concurrency, [q.strip() for q in queues.split(",")], loglevel)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def recover() -> None:
    """Resume or fail every run a crashed worker left queued or running (the server does this)."""
    from core.settings import get_settings
    from graphs.runner import open_runner

    with open_runner(get_settings()) as runner:
        _print({"recovered": runner.sweep()})


@eval_app.command("run")
def eval_run(
    suite: Annotated[str, typer.Argument(help="A suite name under evals/suites, or a YAML path.")],
    repeat: Annotated[int | None, typer.Option(help="Repetitions per scenario (pass^k).")] = None,
    provider: Annotated[
        str | None, typer.Option(help="offline or openai (default: settings).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the result and reports.")] = None,
    judge: Annotated[
        str | None, typer.Option(help="A judge model on the OpenAI-compatible endpoint (optional).")
    ] = None,
) -> None:
    """Run a suite; exit 0 if its gate passes, 1 if it fails, 2 on a harness error."""
    if provider is not None and provider not in ("offline", "openai"):
        raise typer.BadParameter("--provider must be offline or openai")
    from rich.progress import Progress

    from core.settings import get_settings
    from evals.report import to_markdown, write_all
    from evals.runner import run_suite
    from evals.schema import load_suite

    settings = get_settings()
    try:
        if provider is not None:
            settings = settings.model_copy(update={"llm": provider})
        _, scenarios, _ = load_suite(suite)
        with Progress(console=console) as bar:
            task = bar.add_task(f"eval {suite}", total=len(scenarios))
            result = run_suite(
                suite,
                settings=settings,
                repeat=repeat,
                judge=judge,
                progress=lambda _id: bar.advance(task),
            )
        stamp = result["provenance"]["started_at"][:19].replace(":", "").replace("-", "")
        paths = write_all(
            result, out or Path("evals/results") / f"{result['suite']['name']}-{stamp}"
        )
    except typer.BadParameter:
        raise
    except Exception as exc:  # the harness itself failed: exit 2, not a quality verdict
        console.print(f"[red]eval harness error[/red]: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from exc
    typer.echo(to_markdown(result))
    typer.echo(f"report: {paths['html']}\nresult: {paths['json']}")
    raise typer.Exit(0 if result["gate"]["passed"] else 1)


@eval_app.command("corpus")
def eval_corpus(
    split: Annotated[str | None, typer.Option(help="held_out or tuning (default: both).")] = None,
    provider: Annotated[
        str | None, typer.Option(help="offline or openai (default: settings).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the result and report.")] = None,
) -> None:
    """Run the request corpus as long-tail clients; print its figures per split. Exit 1 if any
    run is unsafe (a plan above the level, or a doubtful wish that shaped a plan), 2 on a
    harness error."""
    if split is not None and split not in ("held_out", "tuning"):
        raise typer.BadParameter("--split must be held_out or tuning")
    if provider is not None and provider not in ("offline", "openai"):
        raise typer.BadParameter("--provider must be offline or openai")
    from core.settings import get_settings
    from evals.corpus import SPLITS, run_corpus, to_text, write_result

    settings = get_settings()
    if provider is not None:
        settings = settings.model_copy(update={"llm": provider})
    try:
        result = run_corpus(settings, splits=(split,) if split else SPLITS)
        stamp = result["provenance"]["started_at"][:19].replace(":", "").replace("-", "")
        paths = write_result(result, out or Path("evals/results") / f"corpus-{stamp}")
    except Exception as exc:  # the harness itself failed: exit 2, not a quality verdict
        console.print(f"[red]eval harness error[/red]: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from exc
    typer.echo(to_text(result))
    typer.echo(f"report: {paths['text']}\nresult: {paths['json']}")
    unsafe = sum(f["unsafe"]["count"] for f in result["figures"].values())
    raise typer.Exit(1 if unsafe else 0)


@eval_app.command("compare")
def eval_compare(
    base: Annotated[Path, typer.Argument(help="The baseline result (file or directory).")],
    new: Annotated[Path, typer.Argument(help="The new result (file or directory).")],
    max_regressions: Annotated[int, typer.Option(help="Regressions the gate tolerates.")] = 0,
) -> None:
    """Pair two results by scenario and list regressions; exit 1 past the tolerance."""
    from evals.compare import compare, load_result

    try:
        report = compare(load_result(base), load_result(new))
    except (OSError, ValueError) as exc:
        console.print(f"[red]eval harness error[/red]: {exc}")
        raise typer.Exit(2) from exc
    _print(report)
    failed = len(report["regressions"]) > max_regressions or report["critical_failures"]
    raise typer.Exit(1 if failed else 0)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API (beyond loopback only once the development secrets are replaced)."""
    from api import server
    from api.app import create_app
    from core.settings import get_settings

    settings = get_settings()
    try:
        server.serve(create_app(settings), settings, host, port)
    except TierwiseError as exc:
        _fail(exc)


if __name__ == "__main__":
    app()
