"""Run a suite: every scenario, k times, through the real graph on a fresh database."""

from __future__ import annotations

import platform
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from core.database import session_scope
from core.errors import TierwiseError
from core.services import approvals, audit, clients, principals, runs
from core.services.runs import usage
from core.services.views import run_view
from core.settings import Settings
from evals import stats
from evals.judge import judge_letter, judge_model
from evals.schema import CounterfactualMode, Scenario, load_suite
from evals.scorers import (
    Outcome,
    Score,
    capacity_order,
    expectation_scores,
    invariant_scores,
)
from graphs.runner import Runner, open_runner
from tools.llm.port import LanguageModel

SCHEMA = "tierwise.eval/1"
ProgressFn = Callable[[str], None]

# The person an eval's advisor signs as, when the eval creates them (an advisor signs a plan off
# only with a display name and a registration number: core/services/principals.py).
EVAL_ADVISOR: dict[str, str | None] = {
    "display_name": "评测顾问",
    "registration": "S0000000000000",
    "contact": None,
}


class EvalCancelled(Exception):
    """The suite was told to stop (the server is shutting down) before it finished."""


def git_commit() -> tuple[str | None, bool]:
    """The checked-out commit and whether the work tree has changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = (
            subprocess.run(
                ["git", "status", "--porcelain"],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            != ""
        )
        return sha, dirty
    except (OSError, subprocess.CalledProcessError):
        return None, False


def _node_latency(events: list[Any]) -> dict[str, float]:
    """Milliseconds per node, from the audit trail's node_started and node events."""
    started: dict[int, datetime] = {}
    out: dict[str, float] = {}
    for e in events:
        at = datetime.fromisoformat(e.created_at)
        if e.kind == "node_started":
            started[e.payload["step"]] = at
        elif e.kind == "node" and (step := int(e.key.split(":")[1])) in started:
            node = e.payload["node"]
            out[node] = out.get(node, 0.0) + (at - started[step]).total_seconds() * 1000
    return out


def run_scenario(runner: Runner, scenario: Scenario, as_of: date) -> Outcome:
    """One repetition: create and execute the run, then play the scripted decisions."""
    started = time.perf_counter()
    with session_scope(runner.engine) as session:
        clients.upsert(session, scenario.client)
        if scenario.client.advisor_id:  # the advisor who plays the scripted decisions
            principals.ensure(session, scenario.client.advisor_id, "advisor", EVAL_ADVISOR)
    run = runner.create(scenario.client, as_of=as_of, request=scenario.request, actor="eval")
    first = runner.execute(run.id)
    compliance_before = first.compliance
    decisions: list[dict[str, Any]] = []
    for step in scenario.decisions:
        with session_scope(runner.engine) as session:
            pending = approvals.latest_for_run(session, run.id)
            if pending is None or pending.status != "pending":
                break
            approval_id, plan_hash = pending.id, pending.plan_hash
        decision = {
            "action": step.action,
            "plan_hash": plan_hash,
            "weights": step.weights,
            "comment": step.comment,
            "advisor": scenario.client.advisor_id or "adv-li",
        }
        try:
            runner.decide(approval_id, decision, on=as_of)  # decided on the scenario's day
            decisions.append({"action": step.action, "refused": False})
        except TierwiseError as exc:
            decisions.append(
                {"action": step.action, "refused": True, "error": f"{exc.error}: {exc.detail}"}
            )
    latency = (time.perf_counter() - started) * 1000
    with session_scope(runner.engine) as session:
        row = runs.get(session, run.id)
        view = run_view(session, row)
        reviews = [approvals.public(a) for a in approvals.for_run(session, run.id)]
        nodes = _node_latency(audit.events(session, run.id))
    return Outcome(
        run=view,
        status_before=first.status,
        compliance_before=compliance_before,
        approvals=reviews,
        decisions=decisions,
        latency_ms=latency,
        node_latency_ms=nodes,
    )


def _repetition(
    scenario: Scenario, out: Outcome, runner: Runner, judge: LanguageModel | None
) -> dict[str, Any]:
    scores: list[Score] = invariant_scores(
        scenario, out, runner.market, runner.settings.compliance, runner.settings.allocation
    )
    scores += expectation_scores(scenario, out, runner.market)
    letter = (out.run.get("compliance") or {}).get("letter")
    if judge is not None and letter:
        scores.append(judge_letter(letter, judge))
    use = usage(out.run.get("model_calls") or [])
    return {
        "passed": all(s.passed for s in scores) and out.error is None,
        "critical_failures": [s.name for s in scores if s.critical and not s.passed],
        "scores": [s.__dict__ for s in scores],
        "status": out.status_before,
        "final_status": out.run["status"],
        "trajectory": out.run["trajectory"],
        "run_id": out.run["id"],
        "plan": {
            h["product_code"]: h["weight"] for h in (out.run.get("plan") or {}).get("holdings", [])
        },
        "risk_target": (out.run.get("plan") or {}).get("risk_target"),
        "level": (out.run.get("profile") or {}).get("risk_level"),
        "goal": (out.run.get("profile") or {}).get("goal"),
        "verdict": (out.compliance_before or {}).get("verdict"),
        "rules": sorted(
            {
                f["rule_id"]
                for f in (out.compliance_before or {}).get("findings", [])
                if f["verdict"] != "pass"
            }
        ),
        "latency_ms": round(out.latency_ms, 3),
        "node_latency_ms": out.node_latency_ms,
        "tokens_in": use["tokens_in"],
        "tokens_out": use["tokens_out"],
        "fallbacks": use["fallbacks"],
        "prompt_versions": {
            c["task"]: c["prompt_version"] for c in out.run.get("model_calls") or []
        },
        "model": sorted({c["model"] for c in out.run.get("model_calls") or []}),
        "decisions": out.decisions,
        "error": out.error,
    }


def _aggregate(scenario: Scenario, reps: list[dict[str, Any]]) -> dict[str, Any]:
    n, c = len(reps), sum(r["passed"] for r in reps)
    return {
        "id": scenario.id,
        "family": scenario.family,
        "tags": scenario.tags,
        "critical": scenario.critical,
        "counterfactual_of": scenario.counterfactual_of,
        "counterfactual": scenario.counterfactual,
        "n": n,
        "c": c,
        **_aggregate_counts(n, c),
        "latency_ms_p50": stats.percentile([r["latency_ms"] for r in reps], 50),
        "tokens": sum(r["tokens_in"] + r["tokens_out"] for r in reps) / n,
        "repetitions": reps,
    }


# What a twin must share with its base, repetition by repetition, in each counterfactual mode.
# "plan": the plan's weights and the final status. "routing" (the same request in another
# language): where the run went before and after the decisions, the first report's verdict and
# non-pass rules, and the plan's weights; the plan's text may differ, it quotes the client.
SAME: dict[CounterfactualMode, tuple[str, ...]] = {
    "plan": ("plan", "final_status"),
    "routing": ("status", "final_status", "verdict", "rules", "plan"),
}


def counterfactual_differences(
    base: list[dict[str, Any]], twin: list[dict[str, Any]], mode: CounterfactualMode = "plan"
) -> list[str]:
    """What differs between a base's repetitions and its twin's, by field (none: the same)."""
    return sorted(
        {
            key
            for a, b in zip(base, twin, strict=False)
            for key in SAME[mode]
            if a.get(key) != b.get(key)
        }
    )


def _counterfactuals(results: dict[str, dict[str, Any]]) -> None:
    """A counterfactual twin must get the same outcome as its base (by its mode), every time."""
    for result in results.values():
        base_id = result["counterfactual_of"]
        if not base_id:
            continue
        base = results[base_id]
        mode: CounterfactualMode = result.get("counterfactual") or "plan"
        differs = counterfactual_differences(base["repetitions"], result["repetitions"], mode)
        same = not differs
        what = "plan" if mode == "plan" else "routing"
        score = {
            "name": "counterfactual",
            "passed": same,
            "critical": False,
            "detail": f"same {what} as {base_id}"
            if same
            else f"differs from {base_id}: {', '.join(differs)}",
        }
        for rep in result["repetitions"]:
            rep["scores"].append(score)
            rep["passed"] = rep["passed"] and same
        result["c"] = sum(r["passed"] for r in result["repetitions"])
        result.update(_aggregate_counts(result["n"], result["c"]))


def _capacity_order(results: dict[str, dict[str, Any]]) -> None:
    """More risk capacity never placed lower (scorers.capacity_order), over each scenario's
    first repetition; a scenario out of order fails."""
    firsts = {sid: r["repetitions"][0] for sid, r in results.items() if r["repetitions"]}
    for sid, score in capacity_order(firsts).items():
        result = results[sid]
        for rep in result["repetitions"]:
            rep["scores"].append(score.__dict__)
            rep["passed"] = rep["passed"] and score.passed
        result["c"] = sum(r["passed"] for r in result["repetitions"])
        result.update(_aggregate_counts(result["n"], result["c"]))


def _aggregate_counts(n: int, c: int) -> dict[str, Any]:
    """Pass figures of a scenario from its n repetitions, c of which passed."""
    return {
        "passed": c == n,
        "pass_at_k": stats.pass_at_k(n, c, n),
        "pass_hat_k": stats.pass_hat_k(n, c, n),
        "pass_at_1": stats.pass_at_k(n, c, 1),
        "classification": stats.classify(n, c),
    }


def summarise(
    scenarios: list[dict[str, Any]], min_pass_rate: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Suite figures and the gate: critical failures fail it whatever the pass rate."""
    n = len(scenarios)
    passed = sum(s["passed"] for s in scenarios)
    reps = [r for s in scenarios for r in s["repetitions"]]
    critical = sorted(
        {
            f"{s['id']}: {name}"
            for s in scenarios
            for r in s["repetitions"]
            for name in r["critical_failures"]
        }
    )
    critical += [
        f"{s['id']}: critical scenario failed"
        for s in scenarios
        if s["critical"] and not s["passed"]
    ]
    latencies = [r["latency_ms"] for r in reps]
    low, high = stats.wilson(passed, n)
    nodes: dict[str, list[float]] = {}
    for r in reps:
        for node, ms in r["node_latency_ms"].items():
            nodes.setdefault(node, []).append(ms)
    summary = {
        "scenarios": n,
        "repetitions": len(reps),
        "passed": passed,
        "pass_rate": passed / n if n else 0.0,
        "pass_rate_ci95": [low, high],
        "flaky": sum(s["classification"] == "flaky" for s in scenarios),
        "critical_failures": critical,
        "latency_ms": {
            "p50": stats.percentile(latencies, 50),
            "p95": stats.percentile(latencies, 95),
        },
        "node_latency_ms_p50": {k: stats.percentile(v, 50) for k, v in sorted(nodes.items())},
        "tokens": sum(r["tokens_in"] + r["tokens_out"] for r in reps),
        "fallbacks": sum(r["fallbacks"] for r in reps),
        "by_family": _by(scenarios, "family"),
    }
    reasons = [f"critical: {c}" for c in critical]
    if summary["pass_rate"] < min_pass_rate:
        reasons.append(f"pass rate {summary['pass_rate']:.3f} < {min_pass_rate}")
    return summary, {"passed": not reasons, "min_pass_rate": min_pass_rate, "reasons": reasons}


def _by(scenarios: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    groups: dict[str, list[bool]] = {}
    for s in scenarios:
        groups.setdefault(s[key], []).append(s["passed"])
    return {k: {"n": len(v), "pass_rate": sum(v) / len(v)} for k, v in sorted(groups.items())}


def _run_scenarios(
    runner: Runner,
    scenarios: list[Scenario],
    as_of: date,
    k: int,
    judge: LanguageModel | None,
    progress: ProgressFn | None,
    stop: threading.Event | None,
) -> dict[str, dict[str, Any]]:
    """Every scenario k times (or its own repeat), checking `stop` before each repetition."""
    results: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        reps = []
        for _ in range(scenario.repeat or k):
            if stop is not None and stop.is_set():
                raise EvalCancelled(f"stopped after {len(results)} of {len(scenarios)} scenarios")
            outcome = run_scenario(runner, scenario, as_of)
            reps.append(_repetition(scenario, outcome, runner, judge))
        results[scenario.id] = _aggregate(scenario, reps)
        if progress:
            progress(scenario.id)
    return results


def run_suite(
    suite_ref: str,
    *,
    settings: Settings,
    repeat: int | None = None,
    progress: ProgressFn | None = None,
    database_dir: Path | None = None,
    judge: str | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Run a suite end to end on a fresh SQLite database and return the versioned result.

    Once `stop` is set the suite ends at the next repetition with EvalCancelled, so a server
    shutting down waits for one scenario, not for the whole suite.
    """
    suite, scenarios, suite_hash = load_suite(suite_ref)
    k = repeat or suite.repeat
    judge_llm = judge_model(settings, judge) if judge else None
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(dir=database_dir) as tmp:
        db = settings.model_copy(update={"database_url": f"sqlite:///{Path(tmp) / 'eval.db'}"})
        with open_runner(db) as runner:
            as_of = date.fromisoformat(suite.as_of)
            results = _run_scenarios(runner, scenarios, as_of, k, judge_llm, progress, stop)
            rule_set, cma = runner.rules.version, runner.market.cma.version
    _counterfactuals(results)
    _capacity_order(results)
    ordered = [results[s.id] for s in scenarios]
    summary, gate = summarise(ordered, suite.gate.min_pass_rate)
    commit, dirty = git_commit()
    prompts: dict[str, str] = {}
    for s in ordered:
        for r in s["repetitions"]:
            prompts.update(r["prompt_versions"])
    return {
        "schema": SCHEMA,
        "id": f"eval-{uuid.uuid4().hex[:12]}",
        "suite": {
            "name": suite.name,
            "hash": suite_hash,
            "scenarios": len(scenarios),
            "as_of": suite.as_of,
        },
        "provenance": {
            "git_commit": commit,
            "git_dirty": dirty,
            "provider": settings.llm,
            "model": settings.model,
            "judge_model": judge,
            "prompt_versions": prompts,
            "rule_set_version": rule_set,
            "cma_version": cma,
            "seed": 0,
            "repeat": k,
            "python": platform.python_version(),
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
        },
        "summary": summary,
        "gate": gate,
        "scenarios": ordered,
    }
