"""The runner: starts, resumes and recovers runs, keeping the run row in step with the graph."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from core.database import get_engine, session_scope
from core.errors import InvalidDecision, RunBusy
from core.schemas import ClientInput
from core.services import approvals, runs
from core.settings import Settings
from core.tables import Approval, Run, utcnow
from graphs.checkpointer import open_checkpointer
from graphs.graph import build_graph
from graphs.state import AdvisorDecision, AdvisoryState, Deps
from tools.llm import LanguageModel
from tools.market import MarketData, load_market
from tools.models import make_model
from tools.offline_model import OfflineModel
from tools.rules import RuleSet, load_rules

log = logging.getLogger("tierwise.runner")
DECIDE_WAIT = 30.0  # seconds a decision waits for the worker that opened the review


class Runner:
    """One compiled graph over one checkpointer; each run gets fresh run-scoped dependencies."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        checkpointer: BaseCheckpointSaver,
        market: MarketData,
        rules: RuleSet,
        model_factory: Callable[[], LanguageModel],
    ) -> None:
        self.settings, self.engine, self.market, self.rules = settings, engine, market, rules
        self.model_factory = model_factory
        self.graph = build_graph(checkpointer)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @staticmethod
    def config(run_id: str) -> dict[str, Any]:
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
                session, client, as_of=as_of, request=request, locale=locale, actor=actor
            )

    def execute(self, run_id: str) -> Run:
        """Run a queued run from the start until it ends or waits for an advisor."""
        with session_scope(self.engine) as session:
            run = runs.get(session, run_id)
            client = dict(run.client_snapshot)
            client.pop("contact", None)  # contact data never enters the graph state
            if run.locale:
                client["locale"] = run.locale
            start: AdvisoryState = {
                "run_id": run.id,
                "client": client,
                "request": run.request,
                "as_of": run.as_of,
                "revisions": 0,
                "constraints": [],
                "review_round": 0,
                "decision": None,
                "trajectory": [],
            }
        return self._drive(run_id, start)

    def decide(self, approval_id: str, decision: dict[str, Any]) -> Run:
        """Validate and claim an advisor's decision, then resume the run with it."""
        try:
            valid = AdvisorDecision.model_validate({**decision, "approval_id": approval_id})
        except ValidationError as exc:
            raise InvalidDecision(_describe(exc)) from exc
        with session_scope(self.engine) as session:
            approval = approvals.claim(session, approval_id, valid.model_dump(mode="json"))
            run_id = approval.run_id
        # The decision is committed: wait for a worker still finishing the pause to let go.
        return self._drive(run_id, Command(resume=valid.model_dump(mode="json")), DECIDE_WAIT)

    def recover(self, run_id: str) -> Run:
        """Finish a run a crash interrupted: resume a claimed decision or the last checkpoint."""
        snapshot = self.graph.get_state(self.config(run_id))
        if not snapshot.values:
            return self.execute(run_id)
        if snapshot.interrupts:
            pending_id = snapshot.interrupts[0].value["approval_id"]
            with session_scope(self.engine) as session:
                approval = session.get(Approval, pending_id)
                decision = approval.decision if approval and approval.status != "pending" else None
            if decision is None:
                return self._sync(run_id)
            return self._drive(run_id, Command(resume={**decision, "approval_id": pending_id}))
        if snapshot.next:
            return self._drive(run_id, None)
        return self._sync(run_id)

    def sweep(self) -> list[str]:
        """Recover every run a dead worker left behind; returns the ids it recovered."""
        with session_scope(self.engine) as session:
            found = runs.stranded(session, quiet_seconds=self.settings.lease_seconds)
        done = []
        for run_id in found:
            try:
                self.recover(run_id)
                done.append(run_id)
            except RunBusy:
                continue  # another worker took it meanwhile
        return done

    def prune(self, older_than_days: float) -> list[str]:
        """Delete the checkpoints of finished runs older than N days; keep rows and audit."""
        cutoff = utcnow() - timedelta(days=older_than_days)
        with session_scope(self.engine) as session:
            found = runs.prunable(session, cutoff)
        for run_id in found:
            self.graph.checkpointer.delete_thread(run_id)  # type: ignore[union-attr]
            with session_scope(self.engine) as session:
                runs.mark_pruned(session, run_id)
        return found

    def _lease(self, run_id: str, wait_seconds: float = 0.0) -> None:
        """Take the run's lease, waiting up to wait_seconds for another worker to let go."""
        deadline = time.monotonic() + wait_seconds
        while True:
            with session_scope(self.engine) as session:
                if runs.acquire_lease(session, run_id, self.worker, self.settings.lease_seconds):
                    return
            if time.monotonic() >= deadline:
                raise RunBusy(f"run {run_id} is being executed by another worker")
            time.sleep(0.05)

    def _drive(self, run_id: str, graph_input: Any, wait_seconds: float = 0.0) -> Run:
        self._lease(run_id, wait_seconds)
        try:
            return self._drive_leased(run_id, graph_input)
        finally:
            with session_scope(self.engine) as session:
                runs.release_lease(session, run_id, self.worker)

    def _drive_leased(self, run_id: str, graph_input: Any) -> Run:
        model = self.model_factory()
        deps = Deps(self.settings, self.market, self.rules, model, self.engine, OfflineModel())
        with session_scope(self.engine) as session:
            runs.set_status(session, runs.get(session, run_id), "running")
        try:
            for mode, chunk in self.graph.stream(
                graph_input,
                self.config(run_id),
                context=deps,
                stream_mode=["tasks", "updates"],
                durability="sync",
            ):
                if mode == "updates":
                    self._record(run_id, chunk)
                elif "input" in chunk:  # a task starting; its end arrives as an update
                    with session_scope(self.engine) as session:
                        runs.record_node_started(session, runs.get(session, run_id), chunk)
        except Exception as exc:
            log.exception("run %s failed", run_id)
            with session_scope(self.engine) as session:
                run = runs.get(session, run_id)
                runs.record_model_calls(session, run, [c.as_dict() for c in model.calls])
                runs.set_status(session, run, "failed", f"{type(exc).__name__}: {exc}")
                return run
        with session_scope(self.engine) as session:
            runs.record_model_calls(
                session, runs.get(session, run_id), [c.as_dict() for c in model.calls]
            )
        return self._sync(run_id)

    def _record(self, run_id: str, chunk: dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            runs.acquire_lease(session, run_id, self.worker, self.settings.lease_seconds)  # renew
            run = runs.get(session, run_id)
            for node, update in chunk.items():
                if node == "__interrupt__":
                    approvals.open_review(session, run, update[0].value)
                else:
                    runs.record_node(session, run, node, update or {})

    def _sync(self, run_id: str) -> Run:
        """Bring the run row in line with the checkpoint, which is the source of truth."""
        snapshot = self.graph.get_state(self.config(run_id))
        values = snapshot.values
        with session_scope(self.engine) as session:
            run = runs.get(session, run_id)
            done = run.trajectory
            for step, node in enumerate(values.get("trajectory", [])):
                if step >= len(done):
                    runs.record_node(
                        session, run, node, {f: values.get(f) for f in runs.NODE_FIELDS}
                    )
            if snapshot.interrupts:
                approvals.open_review(session, run, snapshot.interrupts[0].value)
                status = "awaiting_approval"
            elif not snapshot.next and values.get("status"):
                status = values["status"]
            else:
                status = run.status
            if status != run.status:
                runs.set_status(session, run, status)
            return run


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


@contextmanager
def open_runner(
    settings: Settings, model_factory: Callable[[], LanguageModel] | None = None
) -> Iterator[Runner]:
    """Wire settings to a database, a checkpointer, the market data, the rules and a model."""
    engine = get_engine(settings.database_url)
    with open_checkpointer(settings.database_url) as checkpointer:
        yield Runner(
            settings=settings,
            engine=engine,
            checkpointer=checkpointer,
            market=load_market(),
            rules=load_rules(),
            model_factory=model_factory or (lambda: make_model(settings)),
        )
