"""Compliance agent: the deterministic gate. Rules decide; the model writes only the prose."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.masking import mask_text
from core.schemas.client import Holding
from core.schemas.letter import AnswerLine, Lesson, Letter
from core.schemas.plan import Constraint, Plan
from core.schemas.profile import ClientProfile
from core.schemas.request import RequestIntent, WishRoute
from core.schemas.special_care import SpecialCareRecord
from core.schemas.vocabulary import Verdict
from core.settings import CompliancePolicy
from tools.compliance.disclosures import (
    ANSWER,
    disclosure_lines,
    request_warnings,
    required_wording,
)
from tools.compliance.engine import (
    Evaluators,
    Finding,
    RuleContext,
    RuleSet,
    evaluate,
    overall_verdict,
)
from tools.compliance.facts import route_wishes
from tools.compliance.text_checks import BENCHMARK, TERMS, past_figures, prohibited
from tools.education.lessons import lessons_for
from tools.letter.answers import answer_lines
from tools.letter.compose import holding_lines, note_lines, plan_notes, trade_lines
from tools.letter.offer import offer_section
from tools.letter.text import render_text
from tools.llm.fallback import usable_text
from tools.llm.port import LanguageModel, Prompt
from tools.market.market_data import MarketData

LETTER_PROMPT = """Write the greeting and the opening of a letter in {locale} that presents an
investment plan to a client, addressed as {{client_name}}. The first line is the greeting; then one
short paragraph on what the letter sets out for them. Code adds the table of holdings, the trades,
the reasons, the answer to their request, the research and the disclosures, so quote no figure,
name no product, make no forecast and promise no return. Say how the plan was made in words a
client understands; never write an id, a model's name or jargon such as 1/N.
{data}"""
SECOND_OPINION_PROMPT = """You are a compliance reviewer. The rules below already decided this
plan's verdict; say whether you agree and list any concerns they may have missed. You cannot
change the verdict, the weights or the client's level.
Client level: {risk_level}. Holdings: {holdings}. Verdict: {verdict}. Findings: {findings}"""
# Findings on the model's letter that a regenerated letter can fix.
TEXT_RULES = re.compile(r"^(LANG-0[1-46-8]|TW-NUM-01|TW-TXT-0[12]|PII-0\d)$")


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
    client_text: str  # render_text(document): what the rules check and the client receives
    letter: str  # the model's own words in it: greeting, opening and the plan's rationale
    document: Letter
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
    client_name: str,
    model: LanguageModel,
    *,
    trades: bool = False,
    request: bool = False,
    research: bool = False,
    lessons: bool = False,
) -> str:
    """The model's greeting and opening, with the client's name filled in by code and
    sensitive data masked: the prose compose_letter places first."""
    prompt = letter_prompt(
        profile, plan, trades=trades, request=request, research=research, lessons=lessons
    )
    return finish_letter(model.text(prompt), client_name)


def letter_prompt(
    profile: ClientProfile,
    plan: Plan,
    *,
    trades: bool,
    request: bool,
    research: bool = False,
    lessons: bool = False,
) -> Prompt:
    """What the opening may say the letter holds: which of its sections are there."""
    data = {
        "risk_level": profile.risk_level,
        "goal": profile.goal,
        "horizon_years": profile.horizon_years,
        "holdings": len([h for h in plan.holdings if h.weight > 0]),
        "trades": trades,
        "request": request,
        "research": research,
        "lessons": lessons,
    }
    return Prompt("letter", LETTER_PROMPT, {"locale": profile.locale, "data": data})


def finish_letter(text: str, client_name: str) -> str:
    """The client's name is inserted by code, never by a model; sensitive data is masked."""
    return mask_text(text.replace("{client_name}", client_name))


def model_words(document: Letter) -> str:
    """The letter's prose, the part a model wrote: what the number and product rules read."""
    return "\n\n".join(p for p in (document.greeting, document.opening, document.rationale) if p)


def quotable(words: str) -> bool:
    """Whether the client's own words may be quoted back to them: words that would read as the
    letter's promise, forecast or past figure (稳赚吗, "guaranteed?") are answered, unquoted."""
    return not (
        any(prohibited(words, rule_id) for rule_id in TERMS)
        or past_figures(words)
        or BENCHMARK.search(words)
    )


def question_answers(ctx: RuleContext) -> list[AnswerLine]:
    """The answers to the client's questions about the shelf (tools/letter/answers.py), each
    quoting the client's words where they may be quoted; none without a question."""
    if ctx.intent is None or not ctx.intent.questions:
        return []
    found = answer_lines(
        ctx.intent.questions, ctx.profile, ctx.plan, ctx.market, ctx.profile.locale
    )
    return [a if quotable(a.question) else a.model_copy(update={"question": ""}) for a in found]


def compose_letter(
    prose: str,
    ctx: RuleContext,
    *,
    current: Sequence[Holding],
    education: Sequence[Lesson],
) -> Letter:
    """The letter in sections: the model's greeting and opening (its first line, then the
    rest), the plan's rationale, and everything else from code: every holding, the trades from
    what the client holds, the answer to their request and to their questions about the shelf,
    the special-care offer (a plan capped at R3 for a long-tail C4/C5 client), the lessons, the
    notes about the plan and the required disclosures."""
    greeting, _, opening = prose.strip().partition("\n")
    locale = ctx.profile.locale
    draft = Letter(
        locale=locale,
        greeting=greeting.strip(),
        opening=opening.strip(),
        holdings=holding_lines(ctx.plan, ctx.market, locale),
        trades=trade_lines(ctx.plan, current, ctx.market, locale),
        rationale=ctx.plan.rationale,
        answers=question_answers(ctx),
        education=list(education),
        research=note_lines(plan_notes(ctx.profile, ctx.plan, ctx.market), locale),
        offer=offer_section(ctx.plan, ctx.market, locale),
    )
    # Some lines depend on the prose (a past figure in it needs its disclaimer).
    worded = replace(ctx, letter=model_words(draft))
    answer = required_wording(worded)[ANSWER]
    return draft.model_copy(update={"answer": answer, "disclosures": disclosure_lines(worded)})


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
    *,
    letter: str,
    client_text: str,
    client_name: str,
    intent: RequestIntent | None,
    market: MarketData,
    policy: CompliancePolicy,
    model_name: str,
    special_care: SpecialCareRecord | None = None,
) -> RuleContext:
    """The one way to build what the rules see, for the check and for the gate at delivery.

    The sources are the notes the letter shows (chosen from the plan, so the gate finds the same
    ones), by title, publisher and date in the client's language; the letter may name their
    products and quote their figures.
    """
    locale = profile.locale
    notes = plan_notes(profile, plan, market)
    return RuleContext(
        profile=profile,
        plan=plan,
        market=market,
        policy=policy,
        client_text=client_text,
        letter=letter,
        sources=[
            (n.title.in_(locale), n.publisher.in_(locale), n.as_of.isoformat()) for n in notes
        ],
        intent=intent,
        research_products=sorted({c for n in notes for c in n.products}),
        model_name=model_name,
        grounding="\n".join(
            f"{n.title.in_(locale)} {n.summary.in_(locale)} {n.as_of}" for n in notes
        ),
        client_name=client_name,
        special_care=special_care,
    )


def _check_text(
    document: Letter, base: dict[str, Any], rules: RuleSet, evaluators: Evaluators
) -> tuple[RuleContext, list[Finding]]:
    ctx = RuleContext(
        **{**base, "letter": model_words(document), "client_text": render_text(document)}
    )
    return ctx, evaluate(rules, evaluators, ctx)


def check_compliance(
    profile: ClientProfile,
    plan: Plan,
    *,
    client_name: str,
    intent: RequestIntent | None,
    market: MarketData,
    model: LanguageModel,
    fallback_model: LanguageModel,
    policy: CompliancePolicy,
    rules: RuleSet,
    evaluators: Evaluators,
    current: Sequence[Holding] = (),
    special_care: SpecialCareRecord | None = None,
) -> ComplianceReport:
    """Compose the letter in sections, run every rule on its text, and fix text findings.

    The model writes the greeting and opening; the plan carries its rationale; code writes the
    rest (compose_letter). A letter that breaks a text rule is written again by the fallback
    (offline) model (tools/llm/fallback.py) and the whole text is checked again; a finding
    that survives stays in the report. `current` is what the client holds today: the letter
    lists trades only for a client who holds something. The lessons are the client's own, one
    per behaviour flag (tools/education), so no caller can leave them out or add one.
    """
    education = lessons_for(profile, plan, profile.locale)
    base = rule_context(
        profile,
        plan,
        letter="",
        client_text="",
        client_name=client_name,
        intent=intent,
        market=market,
        policy=policy,
        model_name=model.name,
        special_care=special_care,
    ).__dict__
    checked: dict[str, tuple[Letter, RuleContext, list[Finding]]] = {}

    def document_for(prose: str) -> tuple[Letter, RuleContext, list[Finding]]:
        if prose not in checked:
            ctx = RuleContext(**base)
            document = compose_letter(prose, ctx, current=current, education=education)
            checked[prose] = (document, *_check_text(document, base, rules, evaluators))
        return checked[prose]

    def text_findings(prose: str) -> list[str]:
        _, _, found = document_for(prose)
        return [f"{f.rule_id}: {f.evidence}" for f in found if TEXT_RULES.match(f.rule_id)]

    prompt = letter_prompt(
        profile,
        plan,
        trades=bool(trade_lines(plan, current, market, profile.locale)),
        request=intent is not None,
        research=bool(base["sources"]),
        lessons=bool(education),
    )
    worded = usable_text(
        model,
        prompt,
        text_findings,
        fallback_model,
        partial(finish_letter, client_name=client_name),
    )
    document, ctx, findings = document_for(worded.text)
    verdict = overall_verdict(findings)
    return ComplianceReport(
        verdict=verdict,
        findings=findings,
        rule_set_version=rules.version,
        jurisdiction=policy.jurisdiction,
        plan_hash=plan.plan_hash,
        client_text=ctx.client_text,
        letter=ctx.letter,
        document=document,
        model=model.name,
        text_regenerated=worded.replaced,
        second_opinion=second_opinion(profile, plan, verdict, findings, model),
        remedies=[f.remedy for f in findings if f.remedy is not None and f.verdict == "revise"],
        request=request_review(ctx),
    )
