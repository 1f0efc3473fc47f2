"""Compliance agent: the deterministic gate. Rules decide; the model only writes the letter."""

from __future__ import annotations

import re

from pydantic import BaseModel

from agents.plan import Constraint, Plan
from agents.profiling import ClientProfile
from agents.research import ResearchBrief
from core.settings import CompliancePolicy
from tools.llm import LanguageModel, Prompt
from tools.market import MarketData
from tools.masking import mask_text
from tools.rules import Finding, RuleContext, RuleSet, Verdict, evaluate, overall_verdict
from tools.wording import compose

LETTER_PROMPT = """Write a short, warm letter in {locale} presenting this plan to the client,
addressed as {{client_name}}. Use only the rationale, education topics and research below;
make no forecast and no promise of returns.
{data}"""
# Findings on the model's letter that a regenerated letter can fix.
TEXT_RULES = re.compile(r"^(LANG-0[1-46-8]|TW-NUM-01|PII-0\d)$")


class ComplianceReport(BaseModel):
    """The verdict on one exact plan and text, with every finding and the rule-set version."""

    verdict: Verdict
    findings: list[Finding]
    rule_set_version: str
    jurisdiction: str
    plan_hash: str
    client_text: str
    letter: str
    model: str
    text_regenerated: bool = False
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


def rule_context(
    profile: ClientProfile,
    plan: Plan,
    research: ResearchBrief,
    *,
    letter: str,
    client_text: str,
    request: str | None,
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
        requested_products=requested_products(request, market),
        model_name=model_name,
        grounding="\n".join(f"{i.title} {i.summary} {i.as_of}" for i in research.items)
        + "\n"
        + plan.rationale,
    )


def _check_text(letter: str, base: dict, rules: RuleSet) -> tuple[RuleContext, list[Finding]]:
    draft = RuleContext(**{**base, "letter": letter, "client_text": letter})
    text = f"{letter}\n\n{compose(draft)}"
    ctx = RuleContext(**{**base, "letter": letter, "client_text": text})
    return ctx, evaluate(rules, ctx)


def check_compliance(
    profile: ClientProfile,
    plan: Plan,
    research: ResearchBrief,
    *,
    client_name: str,
    request: str | None,
    market: MarketData,
    model: LanguageModel,
    fallback_model: LanguageModel,
    policy: CompliancePolicy,
    rules: RuleSet,
) -> ComplianceReport:
    """Compose the letter and the required wording, run every rule, and fix text findings.

    A letter that breaks a text rule is written again by the fallback (offline) model and the
    whole text is checked again; a finding that survives stays in the report.
    """
    letter = client_letter(profile, plan, research, client_name, model)
    base = rule_context(profile, plan, research, letter="", client_text="", request=request,
                        market=market, policy=policy, model_name=model.name).__dict__  # fmt: skip
    ctx, findings = _check_text(letter, base, rules)
    regenerated = False
    if any(TEXT_RULES.match(f.rule_id) for f in findings) and fallback_model is not model:
        letter = client_letter(profile, plan, research, client_name, fallback_model)
        ctx, findings = _check_text(letter, base, rules)
        regenerated = True
    return ComplianceReport(
        verdict=overall_verdict(findings),
        findings=findings,
        rule_set_version=rules.version,
        jurisdiction=policy.jurisdiction,
        plan_hash=plan.plan_hash,
        client_text=ctx.client_text,
        letter=letter,
        model=model.name,
        text_regenerated=regenerated,
        remedies=[f.remedy for f in findings if f.remedy is not None and f.verdict == "revise"],
    )
