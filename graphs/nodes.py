"""Graph nodes: each calls one agent or service and returns a state update."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import ValidationError

from agents.allocation import allocate_portfolio
from agents.compliance import ComplianceReport, check_compliance, rule_context
from agents.plan import build_plan
from agents.profiling import profile_client
from agents.request import understand_request
from agents.research import research_products
from agents.special_care import plan_with_care, record_of
from core.database import session_scope
from core.errors import AdvisorUnregistered, PrincipalNotFound
from core.schemas.client import STORED, ClientInput
from core.schemas.letter import Letter
from core.schemas.plan import Constraint, Plan, plan_hash
from core.schemas.profile import ClientProfile
from core.schemas.request import RequestIntent
from core.schemas.special_care import SpecialCareRecord
from core.services import deliveries, prices, principals
from graphs.state import AdvisorDecision, AdvisoryState, Deps
from tools.compliance.engine import evaluate, overall_verdict
from tools.compliance.facts import owes_signoff
from tools.letter.signature import sign
from tools.letter.text import render_text
from tools.market.intent import parse_request


class ComplianceGateError(RuntimeError):
    """A plan reached delivery without a passing check on exactly that plan: never delivered."""


def _client(state: AdvisoryState) -> ClientInput:
    return ClientInput.model_validate(state["client"], context=STORED)


def _profile(state: AdvisoryState) -> ClientProfile:
    return ClientProfile.model_validate(state["profile"])


def _intent(state: AdvisoryState, deps: Deps) -> RequestIntent | None:
    """The profile's reading of the request; a run profiled before requests were read (its
    profile has no request_intent) gets the lexicon's reading now, never none at all."""
    if "request_intent" not in state["profile"] and state.get("request"):
        as_of = state.get("as_of")
        day = date.fromisoformat(as_of) if as_of else None
        return parse_request(state.get("request"), deps.market, day)
    return _profile(state).request_intent


def profile_client_node(state: AdvisoryState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """The client's profile, with their request read (the lexicon, then the model if any)."""
    deps = runtime.context
    s = deps.settings
    client = _client(state)
    intent = understand_request(
        state.get("request"),
        locale=client.locale,
        market=deps.market,
        model=deps.model,
        as_of=date.fromisoformat(state["as_of"]),
    )
    profile = profile_client(
        client,
        as_of=date.fromisoformat(state["as_of"]),
        model=deps.model,
        market=deps.market,
        tiers=s.tiers,
        allocation=s.allocation,
        compliance=s.compliance,
        intent=intent,
    )
    return {
        "profile": profile.model_dump(mode="json"),
        "tier": profile.tier,
        "trajectory": ["profile_client"],
    }


def research_products_node(state: AdvisoryState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    brief = research_products(
        _profile(state), market=deps.market, model=deps.model, offline=deps.fallback_model
    )
    return {"research": brief.model_dump(mode="json"), "trajectory": ["research_products"]}


def _closes(state: AdvisoryState, deps: Deps) -> dict[str, float]:
    """The last stored closes of the shelf's exchange-traded products on or before the run's
    day: exchange lots are bought at them (a read; no price stored, amounts in hundreds)."""
    codes = [p.code for p in deps.market.shelf if p.exchange_traded]
    with session_scope(deps.engine) as session:
        return prices.last_closes(session, codes, date.fromisoformat(state["as_of"]))


def _record(state: AdvisoryState) -> SpecialCareRecord | None:
    """The special-care record of a run made by accepting an offer; None on any other run."""
    return record_of(state.get("special_care"))


def allocate_portfolio_node(state: AdvisoryState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """The plan, with the special-care procedure applied where it serves the client (a core
    plan and an offer, or on a linked run only the offered R4/R5 products)."""
    deps = runtime.context
    profile = _profile(state)
    known = [Constraint.model_validate(c) for c in state.get("constraints", [])]
    holdings, intent, closes = _client(state).holdings, _intent(state, deps), _closes(state, deps)

    def allocate(extra: list[Constraint]) -> Plan:
        return allocate_portfolio(
            profile,
            holdings,
            market=deps.market,
            model=deps.model,
            policy=deps.settings.allocation,
            constraints=[*known, *extra],
            offline=deps.fallback_model,
            intent=intent,
            closes=closes,
        )

    plan = plan_with_care(
        profile, allocate, market=deps.market, settings=deps.settings, record=_record(state)
    )
    return {"plan": plan.model_dump(mode="json"), "trajectory": ["allocate_portfolio"]}


def check_compliance_node(state: AdvisoryState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    plan = Plan.model_validate(state["plan"])
    client = _client(state)
    report = check_compliance(
        _profile(state),
        plan,
        client_name=client.name,
        intent=_intent(state, deps),
        market=deps.market,
        model=deps.model,
        fallback_model=deps.fallback_model,
        policy=deps.settings.compliance,
        rules=deps.rules,
        evaluators=deps.evaluators,
        current=client.holdings,
        special_care=_record(state),
    )
    update: dict[str, Any] = {
        "compliance": report.model_dump(mode="json"),
        "trajectory": ["check_compliance"],
    }
    # Only a remedy gives the next allocation something to change; text findings alone do not.
    if report.verdict == "revise" and plan.source == "allocation" and report.remedies:
        update["revisions"] = state.get("revisions", 0) + 1
        known = [Constraint.model_validate(c) for c in state.get("constraints", [])]
        update["constraints"] = [c.model_dump(mode="json") for c in [*known, *report.remedies]]
    return update


def route_after_compliance(
    state: AdvisoryState, runtime: Runtime[Deps]
) -> Literal["allocate_portfolio", "block_plan", "deliver_plan", "advisor_review"]:
    """Block, revise (bounded), deliver a clean plan nobody must sign, or ask an advisor."""
    report = state["compliance"]
    if state["plan"]["source"] == "advisor":
        return "advisor_review"  # the advisor's own edit goes back to them with its findings
    if report["verdict"] == "block":
        return "block_plan"
    if report["verdict"] == "revise":
        if not report["remedies"]:
            # Text findings the offline letter kept: allocating again brings back the same plan
            # and text, and an advisor can neither approve a revise verdict nor edit the letter.
            # Blocking says so now, in every tier, instead of spending the revise loop.
            return "block_plan"
        within = state.get("revisions", 0) <= runtime.context.settings.max_revisions
        return "allocate_portfolio" if within else "block_plan"
    policy = runtime.context.settings.compliance
    if report["verdict"] == "pass" and not owes_signoff(
        state["tier"], state["profile"]["lowest_category"], policy
    ):
        return "deliver_plan"
    return "advisor_review"


def approval_id(state: AdvisoryState) -> str:
    return f"{state['run_id']}-r{state.get('review_round', 0)}"


def advisor_review_node(
    state: AdvisoryState, runtime: Runtime[Deps]
) -> Command[Literal["deliver_plan", "check_compliance", "close_rejected", "advisor_review"]]:
    """Pause for the advisor. Nothing before interrupt() has side effects: it re-runs on resume."""
    report = state["compliance"]
    payload = {
        "approval_id": approval_id(state),
        "run_id": state["run_id"],
        "plan": state["plan"],
        "plan_hash": state["plan"]["plan_hash"],
        "findings": report["findings"],
        "verdict": report["verdict"],
        "client_id": state["client"]["client_id"],
        # The client's own words (masked when the run was stored), how they were read, and the
        # unsuitability warning for anything above the client's level.
        "request": state.get("request"),
        "request_review": report.get("request"),
    }
    raw = interrupt(payload)
    next_round = state.get("review_round", 0) + 1
    try:
        decision = AdvisorDecision.model_validate(raw)
    except ValidationError:
        decision = None
    valid = (
        decision is not None
        and decision.approval_id == payload["approval_id"]
        and decision.plan_hash == payload["plan_hash"]
        and not (decision.action == "approve" and report["verdict"] not in ("pass", "escalate"))
    )
    if decision is None or not valid:
        # An invalid answer changes nothing: ask again, in a new round with a fresh approval id.
        return Command(
            goto="advisor_review",
            update={"review_round": next_round, "trajectory": ["advisor_review"]},
        )
    update: dict[str, Any] = {
        "decision": decision.model_dump(mode="json"),
        "review_round": next_round,
        "trajectory": ["advisor_review"],
    }
    if decision.action == "approve":
        return Command(goto="deliver_plan", update=update)
    if decision.action == "reject":
        return Command(goto="close_rejected", update=update)
    deps = runtime.context
    plan = build_plan(
        decision.weights or {},
        _profile(state),
        _client(state).holdings,
        market=deps.market,
        model=deps.model,
        policy=deps.settings.allocation,
        method="advisor",
        target=0.0,
        span=(0.0, 0.0),
        source="advisor",
        offline=deps.fallback_model,
        closes=_closes(state, deps),
    )
    update["plan"] = plan.model_dump(mode="json")
    return Command(goto="check_compliance", update=update)


def _gate(state: AdvisoryState, deps: Deps, text: str | None = None) -> ComplianceReport:
    """Re-check, at the door, that the rules pass on exactly the plan and the text being
    delivered: the final text, signature and all (the report's own text if none is given)."""
    plan = Plan.model_validate(state["plan"])
    report = ComplianceReport.model_validate(state["compliance"])
    if plan_hash(state["plan"]) != plan.plan_hash or report.plan_hash != plan.plan_hash:
        raise ComplianceGateError("the compliance report is not for this exact plan")
    if render_text(report.document) != report.client_text:
        raise ComplianceGateError("the text to deliver is not the checked letter's")
    profile = _profile(state)
    ctx = rule_context(
        profile,
        plan,
        letter=report.letter,
        client_text=report.client_text if text is None else text,
        client_name=state["client"]["name"],
        intent=_intent(state, deps),  # an escalated request's approval is checked below
        market=deps.market,
        policy=deps.settings.compliance,
        model_name=report.model,
        special_care=_record(state),
    )
    findings = evaluate(deps.rules, deps.evaluators, ctx)
    verdict = overall_verdict(findings)
    decision = state.get("decision")
    approved = (
        decision is not None
        and decision["action"] == "approve"
        and (decision["plan_hash"] == plan.plan_hash)
    )
    owed = owes_signoff(state["tier"], profile.lowest_category, deps.settings.compliance)
    if verdict == "pass" and (approved or not owed):
        return report
    if verdict == "escalate" and approved:
        return report
    failing = sorted({f.rule_id for f in findings if f.verdict != "pass"})
    raise ComplianceGateError(
        f"delivery refused: verdict {verdict}, approved={approved}"
        + (f"; rules {', '.join(failing)}" if failing else "")
    )


def _final_letter(state: AdvisoryState, deps: Deps, on: date) -> tuple[Letter, str]:
    """The letter as it goes out: signed by the advisor who approved it, as a person (display
    name, registration number, contact) on the decision date; unsigned if nobody signed off."""
    report = ComplianceReport.model_validate(state["compliance"])
    decision = state.get("decision") or {}
    if decision.get("action") != "approve":
        return report.document, report.client_text
    try:
        with session_scope(deps.engine) as session:
            signature = principals.signature(session, decision["advisor"], on)
    except (PrincipalNotFound, AdvisorUnregistered) as exc:
        raise ComplianceGateError(f"delivery refused: {exc.detail}") from exc
    return sign(report.document, signature)


def deliver_plan_node(state: AdvisoryState, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    decision = state.get("decision") or {}
    on = date.fromisoformat(decision.get("decided_on") or state["as_of"])
    document, text = _final_letter(state, deps, on)
    report = _gate(state, deps, text)
    with session_scope(deps.engine) as session:
        deliveries.deliver(
            session,
            state["run_id"],
            plan_hash=report.plan_hash,
            text=text,
            document=document.model_dump(mode="json"),
            channel="direct" if state["tier"] == "long_tail" and not decision else "advisor",
            approved_by=decision.get("advisor"),
            on=on,
            valid_months=deps.settings.compliance.assessment_valid_months,
        )
    return {"status": "delivered", "trajectory": ["deliver_plan"]}


def block_plan_node(state: AdvisoryState) -> dict[str, Any]:
    return {"status": "blocked", "trajectory": ["block_plan"]}


def close_rejected_node(state: AdvisoryState) -> dict[str, Any]:
    return {"status": "rejected", "trajectory": ["close_rejected"]}
