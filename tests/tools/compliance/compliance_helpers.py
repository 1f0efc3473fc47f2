"""Builders for compliance tests: profiles, plans and rule contexts from real agents and tools."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from functools import cache
from typing import Any

from factories import AS_OF, client_data

from agents.compliance import client_letter, compose_letter, model_words, rule_context
from agents.plan import build_plan
from agents.profiling import profile_client
from agents.research import ResearchBrief, research_products
from core.schemas.client import ClientInput, Holding
from core.schemas.plan import Fallback, Plan
from core.schemas.profile import ClientProfile
from core.schemas.request import RequestIntent, RequestShaping
from core.schemas.vocabulary import RiskRating, Verdict
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from tools.compliance.disclosures import compose
from tools.compliance.engine import VERDICT_ORDER, RuleContext, RuleSet, evaluate, overall_verdict
from tools.compliance.evaluators.registry import REGISTRY
from tools.education.lessons import lessons_for
from tools.letter.text import render_text
from tools.llm.offline import OfflineModel
from tools.llm.port import LanguageModel
from tools.market.intent import parse_request
from tools.market.market_data import MarketData, load_market
from tools.market.shelf import Access, Product

EMPTY_BRIEF = ResearchBrief(items=[], product_facts=[], summary="", citations=[])
QUIET = {"trades": [], "holdings": [], "notes": ""}


def profile_of(
    client: ClientInput,
    market: MarketData,
    policy: CompliancePolicy | None = None,
    model: LanguageModel | None = None,
) -> ClientProfile:
    """The profiling agent's profile of a client, as of the factories' AS_OF."""
    return profile_client(
        client,
        as_of=AS_OF,
        model=model or OfflineModel(),
        market=market,
        tiers=TierPolicy(),
        allocation=AllocationPolicy(),
        compliance=policy or CompliancePolicy(),
    )


def client(**overrides: Any) -> ClientInput:
    """A quiet mid-tier client (no trades, holdings or notes); also sustainability_preference."""
    data = client_data(**{**QUIET, **overrides})
    if "sustainability_preference" in overrides:
        data["objectives"]["sustainability_preference"] = data.pop("sustainability_preference")
    return ClientInput.model_validate(data)


def profile(market: MarketData, **overrides: Any) -> ClientProfile:
    """The profile of client(**overrides)."""
    return profile_of(client(**overrides), market)


def plan(
    weights: dict[str, float],
    prof: ClientProfile,
    market: MarketData,
    *,
    holdings: list[Holding] | None = None,
    fallback: Fallback | None = None,
    source: str = "allocation",
    request: RequestShaping | None = None,
) -> Plan:
    """A sealed plan of these weights, written by the offline model (with `request`, the
    outcomes of a request as the allocation would have recorded them)."""
    return build_plan(
        weights,
        prof,
        holdings or [],
        market=market,
        model=OfflineModel(),
        policy=AllocationPolicy(),
        method="test",
        target=0.05,
        span=(0.01, 0.2),
        fallback=fallback,
        source=source,  # type: ignore[arg-type]
        request=request,
    )


def research(prof: ClientProfile, market: MarketData) -> ResearchBrief:
    return research_products(prof, market=market, model=OfflineModel())


def context(
    prof: ClientProfile,
    pl: Plan,
    market: MarketData,
    policy: CompliancePolicy | None = None,
    *,
    letter: str | None = None,
    client_text: str | None = None,
    request: str | None = None,
    intent: RequestIntent | None = None,
    model_name: str = "offline-v1",
) -> RuleContext:
    """What the rules see. By default the offline letter, composed in sections as the
    compliance agent composes it (its text rendered by render_text); with `letter`, that prose
    followed by every required line.

    client_text, when given, replaces the composed text so a test can add or remove a line.
    `intent`, when given, is the request as read (questions and all) instead of `request`'s.
    """
    policy = policy or CompliancePolicy()
    if intent is None and request:
        intent = parse_request(request, market)
    draft = rule_context(
        prof, pl, letter=letter or "", client_text=letter or "", client_name="王芳",
        intent=intent, market=market, policy=policy, model_name=model_name,
    )  # fmt: skip
    if letter is None:
        lessons = lessons_for(prof, pl, prof.locale)  # as check_compliance composes them
        shows = {"request": intent is not None, "research": bool(draft.sources)}
        prose = client_letter(prof, pl, "王芳", OfflineModel(), lessons=bool(lessons), **shows)
        document = compose_letter(prose, draft, current=[], education=lessons)
        draft = dataclasses.replace(draft, letter=model_words(document))
        text = render_text(document)
    else:
        text = f"{letter}\n\n{compose(draft)}"
    return dataclasses.replace(draft, client_text=client_text if client_text is not None else text)


def with_text(ctx: RuleContext, client_text: str, letter: str | None = None) -> RuleContext:
    """The same context over another text (and letter, when given)."""
    return dataclasses.replace(
        ctx, client_text=client_text, letter=client_text if letter is None else letter
    )


def hits(rules: RuleSet, ctx: RuleContext) -> dict[str, Verdict]:
    """Every rule that produced a finding, with its highest verdict (pass findings included)."""
    out: dict[str, Verdict] = {}
    for f in evaluate(rules, REGISTRY, ctx):
        if f.rule_id not in out or VERDICT_ORDER[f.verdict] > VERDICT_ORDER[out[f.rule_id]]:
            out[f.rule_id] = f.verdict
    return out


def fired(rules: RuleSet, ctx: RuleContext) -> set[str]:
    """The ids of the rules with a non-pass finding."""
    return {rule_id for rule_id, verdict in hits(rules, ctx).items() if verdict != "pass"}


def verdict_of(rules: RuleSet, ctx: RuleContext) -> Verdict:
    return overall_verdict(evaluate(rules, REGISTRY, ctx))


def shelf_with(market: MarketData, *products: Product) -> MarketData:
    """The market with extra or replaced products (by code)."""
    extra = {p.code: p for p in products}
    shelf = tuple(extra.pop(p.code, p) for p in market.shelf) + tuple(extra.values())
    return dataclasses.replace(market, shelf=shelf)


def variant(market: MarketData, code: str, new_code: str, **update: Any) -> Product:
    """A copy of a shelf product under a new code and name, with some fields changed."""
    names = {"name_zh": f"测试产品{new_code}", "name_en": f"Test product {new_code}"}
    return market.products[code].model_copy(update={"code": new_code, **names, **update})


def trades(count: int, amount: float, code: str = "510300") -> list[dict[str, Any]]:
    """count past buys of amount each, spread over the year before AS_OF."""
    return [
        {
            "date": (AS_OF - timedelta(days=1 + i * 360 // count)).isoformat(),
            "product_code": code,
            "side": "buy",
            "amount": amount,
        }
        for i in range(count)
    ]


# A professional investor in every jurisdiction: Measures Art 8(5), and 2 of 3 MiFID criteria
# (portfolio above EUR 500k and at least 10 trades a quarter).
PRO: dict[str, Any] = {
    "investor_type": "professional",
    "financial_assets": 6_000_000,
    "trades": trades(40, 1_000),
}
ISSUER = "示例上市公司 / Example Listed Co"
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "STK-A": ("510300", {"single_security": True, "diversified": False, "issuer": ISSUER}),
    "STK-B": ("510050", {"single_security": True, "diversified": False, "issuer": ISSUER}),
    "SEMI-2": ("516160", {"sector": "semiconductor"}),
    "LEV-1": ("510300", {"leverage": True}),
    "LEV-4": ("513500", {"leverage": True}),
    "PRO-ONLY": ("510300", {"access": Access.PROFESSIONAL_INVESTOR}),
    **{f"LOCK-{d}": ("511260", {"lockup_days": d}) for d in (365, 400, 1000, 1200)},
    **{f"MATCH-R{n}": ("510300", {"risk_rating": RiskRating(f"R{n}")}) for n in range(1, 6)},
}


@cache
def variant_market() -> MarketData:
    """The shipped market plus the VARIANTS products (single stocks, lock-ups, leverage, ...)."""
    market = load_market()
    extra = [variant(market, base, code, **update) for code, (base, update) in VARIANTS.items()]
    return shelf_with(market, *extra)


FILLER = ("511990", "TW-MM-01", "511260", "511010")  # R1, R1, R2, R2: daily-liquid, diversified


def fill(weights: dict[str, float]) -> dict[str, float]:
    """These weights, with the rest spread evenly over FILLER."""
    rest = (1.0 - sum(weights.values())) / len(FILLER)
    out = dict(weights)
    for code in FILLER:
        out[code] = out.get(code, 0.0) + rest
    return out
