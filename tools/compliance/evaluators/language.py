"""Text rules: prohibited language with negation (LANG-01..08), grounded numbers (TW-NUM-01),
products outside the plan (TW-TXT-01), internal identifiers (TW-TXT-02) and unmasked personal
data (PII-01..05), in Chinese and English."""

from __future__ import annotations

import re

from core.masking import find_sensitive
from tools.compliance.disclosures import required_wording
from tools.compliance.engine import Hit, Registry, RuleContext
from tools.compliance.text_checks import (
    BENCHMARK,
    CAVEAT,
    DISCLAIMERS,
    FUTURE,
    PAST,
    TERMS,
    blank,
    numbers_in,
    past_figures,
    prohibited,
    ungrounded,
)
from tools.letter.answers import asked_products, described_names
from tools.letter.text import answer_parts
from tools.market.assumptions import sleeve_weights
from tools.market.shelf import Product

EVALUATORS = Registry()


for _rule_id in TERMS:

    def _make(rule_id: str) -> None:
        @EVALUATORS.rule(rule_id)
        def check(ctx: RuleContext, rid: str) -> list[Hit]:
            return [Hit(f"“{term}”") for term in prohibited(ctx.client_text, rid)]

    _make(_rule_id)


@EVALUATORS.rule("LANG-04")
def past_as_predictive(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """A past figure with a claim about the future nearby, in the same or the next sentence."""
    text, _ = blank(ctx.client_text, PAST_DISCLAIMER)  # the disclaimer mentions the future too
    return [
        Hit(text[m.start() : m.end() + 40].strip()[:120])
        for m in PAST.finditer(text)
        if FUTURE.search(text[max(0, m.start() - 20) : m.end() + 40])
    ]


@EVALUATORS.rule("LANG-05")
def negated_disclaimers(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Informational: negated terms the letter used (the composed wording is known to be fine)."""
    _, found = blank(ctx.letter, DISCLAIMERS)
    return [Hit("recognised: " + "; ".join(dict.fromkeys(found)))] if found else []


@EVALUATORS.rule("LANG-06")
def benchmark_without_caveat(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [
        Hit(p.strip()[:120])
        for p in ctx.client_text.split("\n")
        if BENCHMARK.search(p) and not CAVEAT.search(p)
    ]


@EVALUATORS.rule("LANG-07")
def past_without_disclaimer(ctx: RuleContext, rule_id: str) -> list[Hit]:
    disclaimer = PAST_DISCLAIMER.search(ctx.client_text)
    figures = past_figures(ctx.client_text)
    return [Hit("past figures: " + "; ".join(figures))] if figures and not disclaimer else []


def _grounding(ctx: RuleContext) -> tuple[list[float], list[float]]:
    """What a letter may quote: the plan, profile, held products, assumptions and research."""
    plan, profile = ctx.plan, ctx.profile
    fractions = [
        plan.expected_return,
        plan.expected_volatility,
        plan.baseline.expected_return,
        plan.baseline.expected_volatility,
        plan.target_volatility,
        *plan.feasible_volatility,
        profile.liquidity_reserve_share,
        profile.max_drawdown_pct / 100,
        *(h.weight for h in plan.holdings),
        *sleeve_weights((h.asset_class, h.weight) for h in plan.holdings).values(),
        *(a.expected_return for a in ctx.market.cma.asset_classes),
        *(a.volatility for a in ctx.market.cma.asset_classes),
    ]
    plain = [
        profile.horizon_years,
        profile.liquidity_reserve,
        profile.aum,
        profile.age,
        *(t.amount for t in plan.trades),
        *(h.amount for h in plan.holdings),
        *(e.amount for e in profile.facts.liquidity_events if e.amount),
    ]
    for flag in profile.behaviour_flags:  # the client's own evidence, which lessons cite
        if flag.measured is not None:
            measured = measured_numbers(flag.measured.model_dump())
            fractions += measured
            plain += measured
    if plan.request is not None:
        fractions += [plan.request.volatility_before, plan.request.volatility_after]
    if plan.offer is not None:  # the special-care offer: the plan with the sleeve, its figures
        offer = plan.offer
        fractions += [offer.expected_return, offer.expected_volatility, *offer.weights.values()]
        plain += [offer.cooling_off_hours, *(h.amount for h in offer.holdings)]
    for h in plan.holdings:
        if (p := ctx.market.products.get(h.product_code)) is not None:
            fractions += [p.fees.annual, p.fees.management]
            plain += [p.min_investment, p.redemption_days, p.lockup_days]
    for p in asked(ctx):  # the answers to the client's questions quote the shelf's figures
        fractions += [p.fees.annual, p.fees.management, p.fees.custody]
        fractions += [p.fees.subscription, p.fees.redemption]
        plain += [p.min_investment, p.redemption_days, p.lockup_days]
    for _, value, percent in numbers_in(ctx.grounding):
        (fractions if percent else plain).append(value / 100 if percent else value)
    return fractions, plain


def asked(ctx: RuleContext) -> list[Product]:
    """The shelf products the client's questions are about (a theme's members included)."""
    questions = ctx.intent.questions if ctx.intent is not None else []
    return [p for q in questions for p in asked_products(q, ctx.market)]


def measured_numbers(value: object) -> list[float]:
    """Every number in a flag's measurements, nested lists included."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in measured_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in measured_numbers(v)]
    return []


def _strip_identifiers(text: str, ctx: RuleContext) -> str:
    """Product codes and names, note ids, the model and client names hold digits, not figures."""
    names = [n for p in ctx.market.shelf for n in (p.name_zh, p.name_en)]
    names += described_names()  # what the answers say products track: 沪深300指数
    tokens = [*ctx.market.products, *names, *(sid for sid, _, _ in ctx.sources), ctx.model_name]
    # The code wrote the client's name in from their record: "013" in 测试客户013 is no claim.
    # A "name" with no letters in it ("1", "%") is not stripped: it would hide real figures.
    tokens += [ctx.client_name] if any(ch.isalpha() for ch in ctx.client_name) else []
    for token in sorted(tokens, key=len, reverse=True):
        text = text.replace(token, " ")
    return MASKED.sub(" ", text)  # masked contact data (139****5678) is not a figure


def numbered_words(ctx: RuleContext) -> str:
    """What the number rule reads: the model's words, and the answers to the client's questions
    as the text gives them (code writes those from the shelf and the plan, so every figure in
    them must be one of theirs too); the client's own quoted words are theirs, and not read."""
    facts = [f for _, found in answer_parts(ctx.client_text, ctx.profile.locale) for f in found]
    return "\n".join([ctx.letter, *facts])


@EVALUATORS.rule("TW-NUM-01")
def ungrounded_numbers(ctx: RuleContext, rule_id: str) -> list[Hit]:
    fractions, plain = _grounding(ctx)
    text = _strip_identifiers(numbered_words(ctx), ctx)
    found = ungrounded(text, fractions, plain, ctx.policy.number_tolerance_pp)
    return [Hit(f"{written} has no source") for written in found]


@EVALUATORS.rule("TW-TXT-01")
def products_outside_the_plan(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """A shelf product named in the letter must be held, traded (a holding the plan sells), or
    covered by a cited research note."""
    allowed = {h.product_code for h in ctx.plan.holdings} | set(ctx.research_products)
    allowed |= {t.product_code for t in ctx.plan.trades}
    hits = []
    for product in ctx.market.shelf:
        if product.code in allowed:
            continue
        named = re.search(
            rf"(?<![A-Za-z0-9-]){re.escape(product.code)}(?![A-Za-z0-9-])", ctx.letter
        )
        if named or product.name_zh in ctx.letter or product.name_en in ctx.letter:
            hits.append(Hit(f"{product.code} ({product.risk_rating.value}) is not in the plan"))
    return hits


# Principal login ids (advisors, supervisors): never in a letter; the signature names the person.
PRINCIPAL_ID = re.compile(r"(?<![A-Za-z0-9])(?:adv|sup)-[A-Za-z0-9_.-]+", re.IGNORECASE)


@EVALUATORS.rule("TW-TXT-02")
def internal_identifiers(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Words a client cannot read: a principal's login id, a research note's id, the model's id
    outside the AI disclosure (REQ-05, which must name it), or the jargon "1/N"."""
    text = ctx.client_text
    for line in required_wording(ctx)["REQ-05"]:
        text = text.replace(line, " ")
    found = [m.group() for m in PRINCIPAL_ID.finditer(text)]
    advisor = ctx.profile.advisor_id
    alone = rf"(?<![A-Za-z0-9_-]){re.escape(advisor or '')}(?![A-Za-z0-9_-])"
    if advisor and re.search(alone, text) and not any(advisor in f for f in found):
        found.append(advisor)  # as a word: a login "li" is not the "li" in "liquidity"
    found += [n.id for n in ctx.market.corpus if n.id in text]
    if ctx.model_name and ctx.model_name in text:
        found.append(ctx.model_name)
    if "1/N" in text:
        found.append("1/N")
    return [Hit(f"“{token}”") for token in dict.fromkeys(found)]


PAST_DISCLAIMER = re.compile(
    r"过往业绩不预示其未来表现|Past performance is not a reliable indicator of future results",
    re.IGNORECASE,
)
MASKED = re.compile(r"\S*\*{3,}\S*")

PII_RULES = {
    "id_number": "PII-01",
    "mobile": "PII-02",
    "bank_card": "PII-03",
    "email": "PII-04",
    "ssn": "PII-05",
}

for _kind, _pii_rule in PII_RULES.items():

    def _make_pii(kind: str, rule_id: str) -> None:
        @EVALUATORS.rule(rule_id)
        def check(ctx: RuleContext, rid: str) -> list[Hit]:
            found = [f for f in find_sensitive(ctx.client_text) if f.kind == kind]
            return [Hit(f"{kind} at offset {f.start} ({f.masked})") for f in found]

    _make_pii(_kind, _pii_rule)
