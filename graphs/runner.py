"""The runner: starts, resumes and recovers runs, keeping the run row in step with the graph."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.database import get_engine, is_transient, session_scope
from core.errors import InvalidDecision, RunBusy
from core.schemas.client import ClientInput
from core.schemas.vocabulary import FINAL_STATUSES, RunStatus
from core.services import approvals, audit, runs, workers
from core.settings import Settings
from core.tables import Approval, Run, utcnow
from graphs.checkpointer import open_checkpointer
from graphs.graph import build_graph
from graphs.state import AdvisorDecision, AdvisoryState, Deps
from tools.compliance.engine import Evaluators, RuleSet, check_rule_set
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.rulebook import shipped_rules
from tools.llm.factory import make_model
from tools.llm.offline import OfflineModel
from tools.llm.port import LanguageModel
from tools.market.intent import lexicon_for
from tools.market.market_data import MarketData, load_market

log = logging.getLogger("tierwise.runner")


# What each node writes of the fields the run row keeps (graphs/nodes.py).
NODE_WRITES: dict[str, tuple[str, ...]] = {
    "profile_client": ("profile", "tier"),
    "research_products": ("research",),
    "allocate_portfolio": ("plan",),
    "check_compliance": ("compliance",),
    "advisor_review": ("plan",),
}


class LeaseLost(RuntimeError):
    """This execution's lease expired and another execution took the run."""


@dataclass
class Lease:
    """One execution's hold on a run, and when it last made progress (a step recorded)."""

    owner: str
    progress: float = field(default_factory=time.monotonic)


class Runner:
    """One compiled graph over one checkpointer; each run gets fresh run-scoped dependencies."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        checkpointer: BaseCheckpointSaver[str],
        market: MarketData,
        rules: RuleSet,
        evaluators: Evaluators,
        model_factory: Callable[[], LanguageModel],
    ) -> None:
        self.settings, self.engine, self.market = settings, engine, market
        check_rule_set(rules, evaluators)  # a mismatch fails here, not in the middle of a run
        lexicon_for(market)  # so does a request lexicon that does not fit the shelf
        self.rules, self.evaluators = rules, evaluators
        self.model_factory = model_factory
        self.graph = build_graph(checkpointer)
        self.worker = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.host = workers.this_host()
        # Leases this process holds now; once it stops, it takes no more. It says it stopped
        # (so others take its runs at once) only when it holds none: a run still executing or
        # resuming on a thread that outlived the shutdown keeps its run until its lease runs out.
        self._held, self._stopping, self._holding = 0, False, threading.Lock()

    def start(self) -> None:
        """Register this process as a worker, answerable for the runs it queues and leases."""
        with session_scope(self.engine) as session:
            workers.register(session, self.worker, self.host, os.getpid())

    def beat(self) -> None:
        with session_scope(self.engine) as session:
            workers.beat(session, self.worker)

    def stop(self) -> None:
        """A clean shutdown: take no more runs, and once none is held here, say so, so that the
        runs still queued here are taken by another worker at once."""
        with self._holding:
            self._stopping, held = True, self._held
        if held:
            log.warning("stopping with %d runs still leased; they are taken when leases end", held)
            return
        with session_scope(self.engine) as session:
            workers.stop(session, self.worker)

    @staticmethod
    def config(run_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": run_id}}

    def create(
        self,
        client: ClientInput,
        *,
        as_of: date,
        request: str | None = None,
        locale: str | None = None,
        actor: str = "system",
    ) -> Run:
        """Write the queued run row; the graph has not started yet."""
        with session_scope(self.engine) as session:
            return runs.create(
                session,
                client,
                as_of=as_of,
                request=request,
                locale=locale,
                actor=actor,
                worker=self.worker,
            )

    def execute(self, run_id: str) -> Run:
        """Run a queued run from the start until it ends or waits for an advisor.

        A run that is no longer queued (another execution started it) is left as it is.
        """
        with self._leased(run_id) as lease:
            with session_scope(self.engine) as session:
                run = runs.get(session, run_id)
                if run.status != "queued":
                    return run
                start = self._start_state(run)
                # Starting is one transaction with the check: nothing else has the lease.
                runs.set_status(session, run, "running", execution=lease.owner)
            return self._drive_leased(run_id, start, lease, started=True)

    def _start_state(self, run: Run) -> AdvisoryState:
        client = dict(run.client_snapshot)
        client.pop("contact", None)  # contact data never enters the graph state
        if run.locale:
            client["locale"] = run.locale
        return {
            "run_id": run.id,
            "client": client,
            "request": run.request,
            "as_of": run.as_of,
            "revisions": 0,
            "constraints": [],
            "review_round": 0,
            "decision": None,
            # A run made by accepting a special-care offer carries the procedure's record.
            "special_care": run.special_care,
            "trajectory": [],
        }

    def decide(self, approval_id: str, decision: dict[str, Any], on: date | None = None) -> Run:
        """Validate and record an advisor's decision, made on `on` (today unless an eval replays
        a scenario's day), then resume the run with it; answers once the resume is done."""
        self.record_decision(approval_id, decision, on)
        return self.resume_decided(approval_id)

    def record_decision(
        self, approval_id: str, decision: dict[str, Any], on: date | None = None
    ) -> Run:
        """Validate and record an advisor's decision, made on `on` (today unless an eval replays
        a scenario's day), in a transaction of its own; returns the run as it stands.

        Once this returns the decision is committed: resume_decided (or, if nothing calls it,
        the sweeper once the run has been quiet for a lease) carries the run on from it.
        """
        try:
            valid = AdvisorDecision.model_validate(
                {**decision, "approval_id": approval_id, "decided_on": on or date.today()}
            )
        except ValidationError as exc:
            raise InvalidDecision(_describe(exc)) from exc
        with session_scope(self.engine) as session:
            valid_months = self.settings.compliance.assessment_valid_months
            approval = approvals.decide(
                session, approval_id, valid.model_dump(mode="json"), valid_months=valid_months
            )
            return runs.get(session, approval.run_id)

    def resume_decided(self, approval_id: str) -> Run:
        """Resume the run with the decision recorded on `approval_id`; returns the run as the
        decision left it (or as it stands, if another execution holds it)."""
        with session_scope(self.engine) as session:
            approval = approvals.get(session, approval_id)
            run_id, recorded = approval.run_id, approval.decision
            if recorded is None:  # nothing recorded: nothing to resume
                return runs.get(session, run_id)
        # The decision is committed: wait for a worker still finishing the pause to let go
        # (it renews its lease at every step, so a live one lets go within a lease).
        try:
            with self._leased(run_id, self.settings.lease_seconds) as lease:
                if self._pending_approval(run_id) != approval_id:
                    return self._sync(run_id)  # a recovery already resumed it with this
                # The stored decision, comment masked: the checkpoint keeps no raw text either.
                return self._drive_leased(run_id, Command(resume=recorded), lease)
        except RunBusy:
            log.warning("run %s: decision recorded; the sweeper resumes it when free", run_id)
            with session_scope(self.engine) as session:
                return runs.get(session, run_id)

    def _pending_approval(self, run_id: str) -> str | None:
        """The approval id the run's checkpoint is paused on, if it is paused."""
        snapshot = self.graph.get_state(self.config(run_id))
        return snapshot.interrupts[0].value["approval_id"] if snapshot.interrupts else None

    def recover(self, run_id: str, dead: frozenset[str] = frozenset()) -> Run:
        """Finish a run a crash interrupted: resume a recorded decision or the last checkpoint.

        `dead` are workers known to be dead; a lease one of them still holds is taken at once.
        """
        with self._leased(run_id, dead=dead) as lease:
            with session_scope(self.engine) as session:
                run = runs.get(session, run_id)
                if run.status in FINAL_STATUSES - {"failed"}:
                    return run  # finished meanwhile; a failed one may retry from its checkpoint
                start = self._start_state(run)
            snapshot = self.graph.get_state(self.config(run_id))
            if not snapshot.values:
                return self._drive_leased(run_id, start, lease)
            with session_scope(self.engine) as session:
                # A crash between a node's checkpoint and its record (written with the next
                # step's) leaves the row behind the checkpoint: record those nodes first.
                self._catch_up(session, runs.get(session, run_id), snapshot.values)
            if snapshot.interrupts:
                pending_id = snapshot.interrupts[0].value["approval_id"]
                with session_scope(self.engine) as session:
                    approval = session.get(Approval, pending_id)
                    decided = approval and approval.status != "pending"
                    decision = approval.decision if decided else None  # type: ignore[union-attr]
                if decision is None:
                    return self._sync(run_id)
                resume: Command[str] = Command(resume={**decision, "approval_id": pending_id})
                return self._drive_leased(run_id, resume, lease)
            # A task that finished just before the crash leaves its writes pending and `next`
            # empty until the next checkpoint: resuming applies them and carries on.
            if snapshot.next or snapshot.tasks:
                return self._drive_leased(run_id, None, lease)
            return self._sync(run_id)

    def sweep(self, recover: Callable[[str, frozenset[str]], object] | None = None) -> list[str]:
        """Recover every run a dead worker left behind; returns the ids it recovered.

        A worker known to be dead (services.workers) gives up its runs at once; any other run
        is recovered once its lease has run out and it has been quiet for a lease. `recover`
        (run id, dead workers) replaces recovering here, as when a task engine's workers do it.
        """
        with session_scope(self.engine) as session:
            dead = frozenset(workers.dead(session, self.host))
            found = runs.stranded(session, quiet_seconds=self.settings.lease_seconds, dead=dead)
        done = []
        for run_id in found:
            try:
                (recover or self.recover)(run_id, dead)
                done.append(run_id)
            except RunBusy:
                continue  # another worker took it meanwhile
            except Exception:  # one run that cannot be recovered never holds up the others
                log.exception("run %s: recovery failed; the next sweep tries again", run_id)
        return done

    def prune(self, older_than_days: float, page: int = 1000) -> list[str]:
        """Delete the checkpoints of finished runs older than N days, `page` runs at a time
        until none is left (a batch leaves them by the hundred thousand); keep rows and audit."""
        cutoff = utcnow() - timedelta(days=older_than_days)
        pruned: list[str] = []
        while True:
            with session_scope(self.engine) as session:
                found = runs.prunable(session, cutoff, limit=page)
            if not found:
                return pruned
            for run_id in found:
                self.graph.checkpointer.delete_thread(run_id)  # type: ignore[union-attr]
                with session_scope(self.engine) as session:
                    runs.mark_pruned(session, run_id)
            pruned += found

    @contextmanager
    def _leased(
        self, run_id: str, wait_seconds: float = 0.0, dead: frozenset[str] = frozenset()
    ) -> Iterator[Lease]:
        """Hold the run's lease for one execution, waiting up to wait_seconds for it.

        The owner is the execution, not the process: two threads of one process (an executor,
        the sweeper, a decision) exclude each other exactly as two processes do. A heartbeat
        renews the lease while the execution makes progress, so a step longer than the lease
        keeps it, while a dead process's lease, or a hung one's, runs out.
        """
        lease = Lease(f"{self.worker}:{uuid.uuid4().hex[:12]}")
        with self._holding:
            if self._stopping:
                raise RunBusy(f"run {run_id}: this worker is stopping; another will take it")
            self._held += 1
        try:
            self._acquire(run_id, lease, wait_seconds, dead)
        except BaseException:
            with self._holding:
                self._held -= 1
            raise
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run_id, lease, stop), daemon=True)
        beat.start()
        try:
            yield lease
        finally:
            stop.set()
            beat.join()
            try:
                with session_scope(self.engine) as session:
                    runs.release_lease(session, run_id, lease.owner)
            finally:
                with self._holding:
                    self._held -= 1

    def _acquire(
        self, run_id: str, lease: Lease, wait_seconds: float, dead: frozenset[str]
    ) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            with session_scope(self.engine) as session:
                seconds = self.settings.lease_seconds
                if runs.acquire_lease(session, run_id, lease.owner, seconds, self.worker, dead):
                    return
            if time.monotonic() >= deadline:
                raise RunBusy(f"run {run_id} is being executed by another worker")
            time.sleep(0.05)

    def _renew(self, run_id: str, lease: Lease) -> bool:
        with session_scope(self.engine) as session:
            return runs.renew_lease(session, run_id, lease.owner, self.settings.lease_seconds)

    def _heartbeat(self, run_id: str, lease: Lease, stop: threading.Event) -> None:
        stalled = self.settings.stalled_seconds  # no progress for this long: hung
        while not stop.wait(self.settings.lease_seconds / 3):
            if time.monotonic() - lease.progress > stalled:
                log.warning(
                    "run %s: no progress for %.0fs, letting the lease lapse", run_id, stalled
                )
                return
            try:
                if not self._renew(run_id, lease):
                    return  # taken over: the next step's renewal stops the execution
            except Exception:  # a missed beat is retried; the lease covers two more
                log.warning("run %s: lease renewal failed", run_id, exc_info=True)

    def _drive_leased(
        self,
        run_id: str,
        graph_input: AdvisoryState | Command[str] | None,
        lease: Lease,
        started: bool = False,
    ) -> Run:
        """Drive the graph under the lease; `started` when the caller already set it running.

        What belongs to one step is one transaction: a node's recorded update waits for the
        next node's start (or the end of the stream) and both are written together. The
        checkpoint, written first with durability="sync", is the source of truth: a crash
        between the two leaves a node the run row lacks, and recovery records it (_catch_up).
        """
        model = self.model_factory()
        deps = Deps(
            self.settings,
            self.market,
            self.rules,
            self.evaluators,
            model,
            self.engine,
            OfflineModel(),  # writes what the model's text cannot be used for (llm/fallback.py)
        )
        if not started:
            with session_scope(self.engine) as session:
                run = runs.get(session, run_id)
                runs.set_status(session, run, "running", execution=lease.owner)
        updates: list[dict[str, Any]] = []  # finished nodes not yet recorded
        try:
            for part in self.graph.stream(
                graph_input,
                self.config(run_id),
                context=deps,
                stream_mode=["tasks", "updates"],
                durability="sync",
            ):
                # With a list of modes, each part is a (mode, chunk) pair; LangGraph's v1 stream
                # is typed as yielding `dict | Any`, which says nothing of that.
                mode, chunk = cast(tuple[str, dict[str, Any]], part)
                if mode == "updates":
                    updates.append(chunk)
                elif "input" in chunk:  # a task starting; its end arrives as an update
                    self._record(run_id, updates, lease, starting=chunk)
                    updates = []
            self._record(run_id, updates, lease)
            updates = []
        except LeaseLost:
            # Another execution took the run over after this one stalled past its lease; the
            # checkpoint is theirs to continue from, so this one leaves everything as it is.
            log.warning("run %s: lease lost, leaving it to the execution that took it", run_id)
            with session_scope(self.engine) as session:
                return runs.get(session, run_id)
        except Exception as exc:
            if is_transient(exc):
                # The database was busy or out of reach: not the run's fault. It keeps its
                # checkpoint and its status, and is resumed once its lease is given back.
                log.warning("run %s: database busy (%s); it will be resumed", run_id, exc)
                with session_scope(self.engine) as session:
                    return runs.get(session, run_id)
            log.exception("run %s failed", run_id)
            with session_scope(self.engine) as session:
                run = runs.get(session, run_id)
                if not runs.renew_lease(session, run_id, lease.owner, self.settings.lease_seconds):
                    return run  # no longer this execution's run to mark
                try:  # the nodes that finished before it failed, unless they are what failed
                    with session.begin_nested():
                        self._apply(session, run, updates)
                except Exception:
                    log.exception("run %s: nodes before the failure left to recovery", run_id)
                runs.record_model_calls(session, run, [c.as_dict() for c in model.calls])
                runs.set_status(session, run, "failed", f"{type(exc).__name__}: {exc}")
                return run
        return self._sync(run_id, [c.as_dict() for c in model.calls])

    def _record(
        self,
        run_id: str,
        updates: list[dict[str, Any]],
        lease: Lease,
        starting: dict[str, Any] | None = None,
    ) -> None:
        """One step in one transaction: renew the lease, record the nodes that finished, and
        the task that is starting, if one is."""
        if not updates and starting is None:
            return
        with session_scope(self.engine) as session:
            if not runs.renew_lease(session, run_id, lease.owner, self.settings.lease_seconds):
                raise LeaseLost(run_id)  # renewed at every step, or given up
            lease.progress = time.monotonic()
            run = runs.get(session, run_id)
            self._apply(session, run, updates)
            if starting is not None:
                runs.record_node_started(session, run, starting)

    @staticmethod
    def _apply(session: Session, run: Run, updates: list[dict[str, Any]]) -> None:
        for chunk in updates:
            # Writes a crash left pending come back on resume marked cached; the node is
            # recorded already unless the crash came between its checkpoint and its record.
            replayed = bool(chunk.get("__metadata__", {}).get("cached"))
            for node, update in chunk.items():
                if node == "__metadata__" or (replayed and run.trajectory[-1:] == [node]):
                    continue
                if node == "__interrupt__":
                    # The review and the status in one transaction: nobody sees a new review
                    # on a run still shown running.
                    approvals.open_review(session, run, update[0].value)
                    if run.status != "awaiting_approval":
                        runs.set_status(session, run, "awaiting_approval")
                else:
                    runs.record_node(session, run, node, update or {})

    def _sync(self, run_id: str, calls: list[dict[str, Any]] | None = None) -> Run:
        """Bring the run row in line with the checkpoint, which is the source of truth; with
        the model calls an execution made, in the same transaction."""
        snapshot = self.graph.get_state(self.config(run_id))
        values = snapshot.values
        with session_scope(self.engine) as session:
            run = runs.get(session, run_id)
            if calls:
                runs.record_model_calls(session, run, calls)
            self._catch_up(session, run, values)
            status: RunStatus | None = None
            if snapshot.interrupts:
                approvals.open_review(session, run, snapshot.interrupts[0].value)
                status = "awaiting_approval"
            elif not snapshot.next and values.get("status"):
                status = values["status"]
            if status is not None and status != run.status:
                runs.set_status(session, run, status)
            return run

    @staticmethod
    def _catch_up(session: Session, run: Run, values: dict[str, Any]) -> None:
        """Record the nodes the checkpoint has and the run row does not yet, each with what it
        writes, so the audit trail reads the same wherever a crash came."""
        done = len(run.trajectory)
        for step, node in enumerate(values.get("trajectory", [])):
            if step >= done:
                fields = NODE_WRITES.get(node, ())
                if (
                    node == "advisor_review"
                    and (values.get("decision") or {}).get("action") != "revise"
                ):
                    fields = ()  # only a revision writes a plan
                runs.record_node(session, run, node, {f: values.get(f) for f in fields})


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


@contextmanager
def open_runner(
    settings: Settings, model_factory: Callable[[], LanguageModel] | None = None
) -> Iterator[Runner]:
    """Wire settings to a database, a checkpointer, the market data, the rules and a model."""
    connections, timeout = settings.db_connections, settings.pool_timeout_seconds
    engine = get_engine(settings.database_url, connections, timeout)
    audit.configure(settings.audit_key)
    with open_checkpointer(settings.database_url, connections, timeout) as checkpointer:
        runner = Runner(
            settings=settings,
            engine=engine,
            checkpointer=checkpointer,
            market=load_market(),
            rules=shipped_rules(),
            evaluators=REGISTRY,
            model_factory=model_factory or (lambda: make_model(settings)),
        )
        runner.start()
        try:
            yield runner
        finally:
            runner.stop()
