"""Compliance agent: the deterministic gate. Rules decide; the model only writes the letter."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.research import ResearchBrief
from core.masking import mask_text
from core.schemas.letter import Letter
from core.schemas.plan import Constraint, Plan
from core.schemas.profile import ClientProfile
from core.schemas.request import RequestIntent, WishRoute
from core.schemas.vocabulary import Verdict
from core.settings import CompliancePolicy
from tools.compliance.disclosures import compose, request_warnings
from tools.compliance.engine import (
    Evaluators,
    Finding,
    RuleContext,
    RuleSet,
    evaluate,
    overall_verdict,
)
from tools.compliance.facts import route_wishes
from tools.education.lessons import lessons_for
from tools.llm.fallback import usable_text
from tools.llm.port import LanguageModel, Prompt
from tools.market.market_data import MarketData

LETTER_PROMPT = """Write a short, warm letter in {locale} presenting this plan to the client,
addressed as {{client_name}}. Use only the rationale, the education lessons (each as given,
with its source) and the research below; make no forecast and no promise of returns.
{data}"""
SECOND_OPINION_PROMPT = """You are a compliance reviewer. The rules below already decided this
plan's verdict; say whether you agree and list any concerns they may have missed. You cannot
change the verdict, the weights or the client's level.
Client level: {risk_level}. Holdings: {holdings}. Verdict: {verdict}. Findings: {findings}"""
# Findings on the model's letter that a regenerated letter can fix.
TEXT_RULES = re.compile(r"^(LANG-0[1-46-8]|TW-NUM-01|TW-TXT-01|PII-0\d)$")


class SecondOpinion(BaseModel):
    """The model's advisory view of the rules' verdict; it is recorded and never decides."""

    model_config = ConfigDict(extra="ignore")
    agrees: bool
    concerns: list[str] = Field(default_factory=list, max_length=20)


class ComplianceReport(BaseModel):
    """The verdict on one exact plan and text, with every finding and the rule-set version."""

    verdict: Verdict
    findings: list[Finding]
    rule_set_version: str
    jurisdiction: str
    plan_hash: str
    client_text: str
    letter: str
    document: Letter | None = None
    model: str
    text_regenerated: bool = False
    second_opinion: SecondOpinion | None = None
    remedies: list[Constraint]
    request: RequestReview | None = None


class RequestReview(BaseModel):
    """The client's request as the rules read it, for the advisor: each wish's route and the
    unsuitability warning (不适当警示) for any wish above the client's level."""

    intent: RequestIntent
    routes: list[WishRoute]
    warnings: list[dict[str, str]] = Field(default_factory=list)


def request_review(ctx: RuleContext) -> RequestReview | None:
    if ctx.intent is None:
        return None
    return RequestReview(
        intent=ctx.intent, routes=route_wishes(ctx), warnings=request_warnings(ctx)
    )


def client_letter(
    profile: ClientProfile,
    plan: Plan,
    research: ResearchBrief,
    client_name: str,
    model: LanguageModel,
) -> str:
    """The model's letter, with the client's name filled in by code and sensitive data masked."""
    return finish_letter(model.text(letter_prompt(profile, plan, research)), client_name)


def letter_prompt(profile: ClientProfile, plan: Plan, research: ResearchBrief) -> Prompt:
    data = {
        "risk_level": profile.risk_level,
        "rationale": plan.rationale,
        "education": [x.model_dump() for x in lessons_for(profile, plan, profile.locale)],
        "research_summary": research.summary,
    }
    return Prompt("letter", LETTER_PROMPT, {"locale": profile.locale, "data": data})


def finish_letter(text: str, client_name: str) -> str:
    """The client's name is inserted by code, never by a model; sensitive data is masked."""
    return mask_text(text.replace("{client_name}", client_name))


def second_opinion(
    profile: ClientProfile,
    plan: Plan,
    verdict: Verdict,
    findings: list[Finding],
    model: LanguageModel,
) -> SecondOpinion:
    """Ask the model to review the rules' verdict; its answer is advisory only."""
    holdings = [(h.product_code, h.weight, h.risk_rating) for h in plan.holdings]
    found = [f.model_dump(include={"rule_id", "verdict", "message"}) for f in findings]
    prompt = Prompt(
        "second_opinion",
        SECOND_OPINION_PROMPT,
        {
            "risk_level": profile.risk_level,
            "holdings": holdings,
            "verdict": verdict,
            "findings": found,
        },
    )
    return model.structured(prompt, SecondOpinion)


def rule_context(
    profile: ClientProfile,
    plan: Plan,
    research: ResearchBrief,
    *,
    letter: str,
    client_text: str,
    client_name: str,
    intent: RequestIntent | None,
    market: MarketData,
    policy: CompliancePolicy,
    model_name: str,
) -> RuleContext:
    """The one way to build what the rules see, for the check and for the gate at delivery."""
    return RuleContext(
        profile=profile,
        plan=plan,
        market=market,
        policy=policy,
        client_text=client_text,
        letter=letter,
        sources=[(i.source_id, i.publisher, i.as_of.isoformat()) for i in research.items],
        intent=intent,
        research_products=sorted({c for i in research.items for c in i.products}),
        model_name=model_name,
        grounding="\n".join(f"{i.title} {i.summary} {i.as_of}" for i in research.items),
        client_name=client_name,
    )


def _check_text(
    letter: str, base: dict[str, Any], rules: RuleSet, evaluators: Evaluators
) -> tuple[RuleContext, list[Finding]]:
    draft = RuleContext(**{**base, "letter": letter, "client_text": letter})
    text = f"{letter}\n\n{compose(draft)}"
    ctx = RuleContext(**{**base, "letter": letter, "client_text": text})
    return ctx, evaluate(rules, evaluators, ctx)


def check_compliance(
    profile: ClientProfile,
    plan: Plan,
    research: ResearchBrief,
    *,
    client_name: str,
    intent: RequestIntent | None,
    market: MarketData,
    model: LanguageModel,
    fallback_model: LanguageModel,
    policy: CompliancePolicy,
    rules: RuleSet,
    evaluators: Evaluators,
) -> ComplianceReport:
    """Compose the letter and the required wording, run every rule, and fix text findings.

    A letter that breaks a text rule is written again by the fallback (offline) model
    (tools/llm/fallback.py) and the whole text is checked again; a finding that survives stays
    in the report.
    """
    base = rule_context(
        profile,
        plan,
        research,
        letter="",
        client_text="",
        client_name=client_name,
        intent=intent,
        market=market,
        policy=policy,
        model_name=model.name,
    ).__dict__
    checked: dict[str, tuple[RuleContext, list[Finding]]] = {}

    def text_findings(letter: str) -> list[str]:
        checked[letter] = _check_text(letter, base, rules, evaluators)
        return [
            f"{f.rule_id}: {f.evidence}" for f in checked[letter][1] if TEXT_RULES.match(f.rule_id)
        ]

    prompt = letter_prompt(profile, plan, research)
    worded = usable_text(
        model,
        prompt,
        text_findings,
        fallback_model,
        partial(finish_letter, client_name=client_name),
    )
    letter = worded.text
    ctx, findings = checked.get(letter) or _check_text(letter, base, rules, evaluators)
    verdict = overall_verdict(findings)
    return ComplianceReport(
        verdict=verdict,
        findings=findings,
        rule_set_version=rules.version,
        jurisdiction=policy.jurisdiction,
        plan_hash=plan.plan_hash,
        client_text=ctx.client_text,
        letter=letter,
        model=model.name,
        text_regenerated=worded.replaced,
        second_opinion=second_opinion(profile, plan, verdict, findings, model),
        remedies=[f.remedy for f in findings if f.remedy is not None and f.verdict == "revise"],
        request=request_review(ctx),
    )
