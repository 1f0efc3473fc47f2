"""Compliance agent: the deterministic gate. Rules decide; the model only writes the letter."""

from __future__ import annotations

import re

from pydantic import BaseModel

from agents.plan import Constraint, Plan
from agents.profiling import ClientProfile
from agents.research import ResearchBrief
from core.settings import CompliancePolicy
from tools.disclosures import DisclosureInput, compose
from tools.llm import LanguageModel, Prompt
from tools.market import MarketData
from tools.masking import mask_text
from tools.rules import Finding, RuleContext, RuleSet, Verdict, evaluate, overall_verdict

LETTER_PROMPT = """Write a short, warm letter in {locale} presenting this plan to the client,
addressed as {{client_name}}. Use only the rationale, education topics and research below;
make no forecast and no promise of returns.
{data}"""


class ComplianceReport(BaseModel):
    """The verdict on one exact plan and text, with every finding and the rule-set version."""

    verdict: Verdict
    findings: list[Finding]
    rule_set_version: str
    plan_hash: str
    client_text: str
    remedies: list[Constraint]


def requested_products(request: str | None, market: MarketData) -> list[str]:
    """Shelf codes the client named in their own request."""
    if not request:
        return []
    # ASCII boundaries: a code right after Chinese text ("我想买512480") still counts.
    return [
        c
        for c in market.products
        if re.search(rf"(?<![A-Za-z0-9-]){re.escape(c)}(?![A-Za-z0-9-])", request)
    ]


def client_letter(
    profile: ClientProfile,
    plan: Plan,
    research: ResearchBrief,
    client_name: str,
    model: LanguageModel,
) -> str:
    """The model's letter, with the client's name filled in by code and sensitive data masked."""
    data = {
        "risk_level": profile.risk_level,
        "rationale": plan.rationale,
        "education": [t.model_dump() for f in profile.behaviour_flags for t in f.topics],
        "research_summary": research.summary,
    }
    prompt = Prompt("letter", LETTER_PROMPT, {"locale": profile.locale, "data": data})
    text = model.text(prompt).replace("{client_name}", client_name)
    return mask_text(text)


def check_compliance(
    profile: ClientProfile,
    plan: Plan,
    research: ResearchBrief,
    *,
    client_name: str,
    request: str | None,
    market: MarketData,
    model: LanguageModel,
    policy: CompliancePolicy,
    rules: RuleSet,
) -> ComplianceReport:
    """Compose the client-facing text with the required wording, then run every rule on it."""
    sources = [(i.source_id, i.publisher, i.as_of.isoformat()) for i in research.items]
    reviewer = profile.advisor_id if profile.tier != "long_tail" else None
    letter = client_letter(profile, plan, research, client_name, model)
    disclosures = compose(DisclosureInput(profile, plan, market, model.name, sources, reviewer))
    text = f"{letter}\n\n{disclosures}"
    ctx = RuleContext(
        profile=profile,
        plan=plan,
        market=market,
        policy=policy,
        client_text=text,
        sources=sources,
        requested_products=requested_products(request, market),
    )
    findings = evaluate(rules, ctx)
    return ComplianceReport(
        verdict=overall_verdict(findings),
        findings=findings,
        rule_set_version=rules.version,
        plan_hash=plan.plan_hash,
        client_text=text,
        remedies=[f.remedy for f in findings if f.remedy is not None and f.verdict == "revise"],
    )
