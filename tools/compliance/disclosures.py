"""Required wording: rendered from compliance/data/wording.yaml per jurisdiction and locale, then
checked on the final text by the rules of the same ids."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import yaml

from core.schemas.plan import Plan
from core.schemas.request import Direction, WishOutcome, WishRoute
from tools.compliance.engine import DATA_DIR, RuleContext
from tools.compliance.facts import (
    NEAR_TERM_MONTHS,
    held,
    is_professional,
    near_term_cash,
    owes_signoff,
    plan_cash,
    route_wishes,
)
from tools.compliance.text_checks import past_figures
from tools.letter.answers import asked_products
from tools.letter.offer import offer_wording
from tools.market.eligibility import eligible_products
from tools.market.intent import lexicon_for, share_of, target_name
from tools.market.shelf import Product

GOALS_ZH = {
    "preservation": "保值",
    "income": "收益",
    "balanced": "平衡",
    "growth": "成长",
    "aggressive_growth": "积极成长",
}


@cache
def load_wording() -> dict[str, Any]:
    return dict(yaml.safe_load((DATA_DIR / "wording.yaml").read_text("utf-8")))


def say(key: str, ctx: RuleContext, locale: str | None = None, **values: Any) -> str:
    """The template for this key, jurisdiction (else ALL) and locale (the client's unless
    given), filled in."""
    variants = load_wording()[key]
    template = variants.get(ctx.policy.jurisdiction) or variants["ALL"]
    return str(template[locale or ctx.profile.locale]).format(**values)


ACTIONS: dict[str, dict[Direction, str]] = {
    "zh-CN": {"more": "多配", "buy": "买入", "less": "少配", "sell": "卖出", "avoid": "不配置"},
    "en": {
        "more": "hold more",
        "buy": "buy",
        "less": "hold less",
        "sell": "sell",
        "avoid": "avoid",
    },
}
ROUTE_KEYS = {
    "above_level": "TW-REQ-02-ABOVE",
    "lowest_category": "TW-REQ-02-LOWEST",
    "no_access": "TW-REQ-02-NO-ACCESS",
    "horizon": "TW-REQ-02-HORIZON",
    "not_offered": "TW-REQ-02-NOT-OFFERED",
    "not_planned": "TW-REQ-02-NOT-PLANNED",
}
DONE_KEYS = {"done": "TW-REQ-02-DONE", "partly": "TW-REQ-02-PARTLY", "not_done": "TW-REQ-02-LIMITS"}


def _held(ctx: RuleContext) -> list[Product]:
    """The shelf products the plan holds (unknown codes are CN-R-04's business)."""
    return [p for _, _, p in held(ctx) if p is not None]


def max_rating(plan: Plan) -> str:
    ratings = [h.risk_rating for h in plan.holdings if h.weight > 0 and h.risk_rating[:1] == "R"]
    return max(ratings, default="R1")


def _restriction(p: Product, ctx: RuleContext) -> str:
    lockup = (
        say("REQ-04-LOCKUP", ctx, days=p.lockup_days)
        if p.lockup_days
        else say("REQ-04-NO-LOCKUP", ctx)
    )
    return say(
        "REQ-04",
        ctx,
        code=p.code,
        name=p.name(ctx.profile.locale),
        rating=p.risk_rating.value,
        redemption_days=p.redemption_days,
        lockup=lockup,
        minimum=f"{p.min_investment:,.0f}",
    )


def _reviewed(ctx: RuleContext) -> bool:
    """True when an advisor signs even a passing plan off (DESIGN §2, SYS-02). The letter says
    so without naming their login: the signature names the person."""
    p = ctx.profile
    return owes_signoff(p.tier, p.lowest_category, ctx.policy)


def _ai_statement(ctx: RuleContext) -> str:
    cma = ctx.market.cma
    text = say(
        "REQ-05",
        ctx,
        model=ctx.model_name,
        cma_version=cma.version,
        cma_end=cma.window.get("end", ""),
    )
    separator = "" if ctx.profile.locale == "zh-CN" else " "
    return text + (separator + say("REQ-05-REVIEWER", ctx) if _reviewed(ctx) else "")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _reg_bi(ctx: RuleContext) -> str:
    held = {p.code: p for p in _held(ctx)}
    weights = ctx.plan.weights()
    fee = sum(weights[c] * p.fees.annual for c, p in held.items())
    house = sorted(c for c, p in held.items() if p.house_product)
    conflicts = (
        say("REQ-08-CONFLICTS", ctx, codes=", ".join(house))
        if house
        else say("REQ-08-NO-CONFLICTS", ctx)
    )
    return say("REQ-08", ctx, fee_pct=f"{fee * 100:.2f}%", conflicts=conflicts)


def _conflicts(ctx: RuleContext, house: list[Product]) -> list[str]:
    """The conflict-of-interest note of a CN or EU plan holding the firm's own products: each
    named, and the house-product policy the plan chose among look-alikes by."""
    j, locale = ctx.policy.jurisdiction, ctx.profile.locale
    key = {"CN": "CN-COI-01", "EU": "EU-COI-01"}.get(j)
    if key is None or not house:
        return []
    open_, close = ("（", "）") if locale == "zh-CN" else (" (", ")")
    names = [f"{p.name(locale)}{open_}{p.code}{close}" for p in house]
    joined = "、".join(names) if locale == "zh-CN" else ", ".join(names)
    policy = say(f"COI-POLICY-{ctx.plan.shelf.house_products}", ctx)
    return [say(key, ctx, names=joined, policy=policy)]


def _suitability_report(ctx: RuleContext) -> str:
    p = ctx.profile
    zh = p.locale == "zh-CN"
    disadvantages = [("锁定期" if zh else "lock-ups") for x in _held(ctx) if x.lockup_days][:1]
    disadvantages.append("产品费用会降低收益" if zh else "product fees reduce returns")
    goal = GOALS_ZH[p.goal] if zh else p.goal.replace("_", " ")
    return say(
        "REQ-09",
        ctx,
        goal=goal,
        horizon=f"{p.horizon_years:g}",
        experience=f"{p.experience_years:g}",
        level=p.risk_level,
        drawdown=f"{p.max_drawdown_pct:g}",
        disadvantages="、".join(disadvantages) if zh else "; ".join(disadvantages),
    )


def _switching(ctx: RuleContext) -> str | None:
    sells = [t for t in ctx.plan.trades if t.side == "sell"]
    if not sells:
        return None
    products, aum = ctx.market.products, ctx.profile.aum
    cost = sum(
        t.amount * (products[t.product_code].fees.redemption if t.product_code in products else 0.0)
        for t in sells
    )
    cost += sum(
        t.amount * products[t.product_code].fees.subscription
        for t in ctx.plan.trades
        if t.side == "buy" and t.product_code in products
    )
    signed = {t.product_code: (t.amount if t.side == "buy" else -t.amount) for t in ctx.plan.trades}
    before = {c: (w * aum - signed.get(c, 0.0)) / aum for c, w in ctx.plan.weights().items()}
    for t in sells:
        before.setdefault(t.product_code, t.amount / aum)
    known = {c: w for c, w in before.items() if c in products and w > 0}
    before_return = 0.0
    if known:
        mu, _ = ctx.market.product_returns_and_covariance(list(known))
        before_return = float(sum(w * m for w, m in zip(known.values(), mu, strict=True)))
    return say(
        "EU-SUIT-06",
        ctx,
        sold=f"{sum(t.amount for t in sells):,.0f}",
        cost=f"{cost:,.0f}",
        before=_pct(before_return),
        after=_pct(ctx.plan.expected_return),
    )


def _target(route: WishRoute, ctx: RuleContext, locale: str | None = None) -> str:
    """How the letter names what was asked for: the product's name and code, or the theme."""
    locale, wish = locale or ctx.profile.locale, route.wish
    name = target_name(wish.kind, wish.target, ctx.market, locale)
    if wish.kind == "theme":
        return name
    return f"{name}（{wish.target}）" if locale == "zh-CN" else f"{name} ({wish.target})"


def _ratings(route: WishRoute, ctx: RuleContext) -> str:
    ratings = sorted({ctx.market.products[c].risk_rating.value for c in route.above})
    return "/".join(ratings)


def _set_aside(route: WishRoute, ctx: RuleContext) -> str | None:
    """The wording for a wish whose every product the client could hold was left out of this
    plan by the special-care procedure (CN-MIS-07): offered below, or not; None otherwise."""
    left_out = {
        c.product_code for c in ctx.plan.constraints if c.kind == "exclude" and c.rule_id == SPECIAL
    }
    eligible = {p.code for p in eligible_products(ctx.profile, ctx.market)}
    could = [code for code in route.products if code in eligible]
    if not could or not set(could) <= left_out:
        return None
    offered = set(ctx.plan.offer.codes()) if ctx.plan.offer is not None else set()
    return "TW-REQ-02-OFFERED" if offered & set(could) else "TW-REQ-02-HIGH-RISK"


def _wish_line(route: WishRoute, outcome: WishOutcome | None, ctx: RuleContext) -> str:
    wish = route.wish
    values = {
        "action": ACTIONS[ctx.profile.locale][wish.direction],
        "target": _target(route, ctx),
        "ratings": _ratings(route, ctx),
        "level": ctx.profile.risk_level,
    }
    if route.route != "shaped":
        return say(ROUTE_KEYS[route.route], ctx, **values)
    if not wish.sure:  # read beside words not understood, or by the model alone
        return say("TW-REQ-02-CONFIRM", ctx, **values)
    lex = lexicon_for(ctx.market)
    share = share_of(wish.kind, wish.target, ctx.plan.weights(), ctx.market, lex)
    excluded = wish.kind == "product" and wish.direction in ("avoid", "sell")
    if excluded and share == 0:
        return say("TW-REQ-02-EXCLUDED", ctx, **values)
    if wish.up and (key := _set_aside(route, ctx)) is not None:
        return say(key, ctx, **values)
    if outcome is None:  # no plan the optimiser shaped: an advisor's own weights, or a fallback
        key = "TW-REQ-02-ADVISOR" if ctx.plan.source == "advisor" else "TW-REQ-02-LIMITS"
        return say(key, ctx, **values, after=_pct(share))
    # The limit that bound, by name; `limits` (several at once) keeps the partly/not-done lines.
    key = {
        "already": "TW-REQ-02-ALREADY",
        "minimum": "TW-REQ-02-MINIMUM",
        # A wish for less cash is held at the reserve's figure; a wish for more, by its keeping.
        "reserve": "TW-REQ-02-RESERVE-KEPT" if wish.up else "TW-REQ-02-RESERVE",
        "product_cap": "TW-REQ-02-PRODUCT-CAP",
        "class_cap": "TW-REQ-02-CLASS-CAP",
        "volatility": "TW-REQ-02-VOLATILITY",
    }.get(outcome.reason or "", DONE_KEYS[outcome.done])
    return say(key, ctx, **values, before=_pct(outcome.before or 0), after=_pct(outcome.after or 0))


def _when(months: float | None, ctx: RuleContext) -> str:
    if months is None:
        return ""
    zh = ctx.profile.locale == "zh-CN"
    if months < 1:
        return "近期" if zh else " soon"
    if months >= 12 and months % 12 == 0:
        years = f"{months / 12:g}"
        return f"{years}年内" if zh else f" within {years} year{'s' if years != '1' else ''}"
    return f"{months:g}个月内" if zh else f" within {months:g} month{'s' if months != 1 else ''}"


def request_answer(ctx: RuleContext) -> list[str]:
    """The answer to the client's request, wish by wish (DESIGN §2); empty without a request.
    The letter prints it under its own heading (tools/letter/text.py)."""
    intent = ctx.intent
    if intent is None:
        return []
    zh = ctx.profile.locale == "zh-CN"
    shaping = ctx.plan.request
    outcomes = {o.wish.key: o for o in shaping.wishes} if shaping else {}
    lines, seen = [], set()
    for route in route_wishes(ctx):
        line = _wish_line(route, outcomes.get(route.wish.key), ctx)
        if line not in seen:  # one name for several products answers once
            seen.add(line)
            lines.append(line)
    if intent.risk == "lower" and shaping is not None:
        key = "TW-REQ-02-SAFER" if shaping.risk == "done" else "TW-REQ-02-SAFER-NOT"
        lines.append(
            say(
                key,
                ctx,
                before=_pct(shaping.volatility_before),
                after=_pct(shaping.volatility_after),
            )
        )
    elif intent.risk == "lower":  # an advisor's own weights, or a fallback plan
        key = "TW-REQ-02-SAFER-ADVISOR" if ctx.plan.source == "advisor" else "TW-REQ-02-SAFER-NOT"
        lines.append(say(key, ctx, after=_pct(ctx.plan.expected_volatility)))
    elif intent.risk == "higher":
        lines.append(say("TW-REQ-02-HIGHER", ctx, level=ctx.profile.risk_level))
    cash = plan_cash(ctx)
    covered = near_term_cash(ctx) <= cash + 1.0
    for need in intent.cash_needs:
        amount = ""
        if need.amount:
            amount = f"{need.amount:,.0f}元" if zh else f" of {need.amount:,.0f} CNY"
        later = need.within_months is not None and need.within_months > NEAR_TERM_MONTHS
        key = "TW-REQ-02-CASH-LATER" if later else (
            "TW-REQ-02-CASH" if covered else "TW-REQ-02-CASH-SHORT"
        )  # fmt: skip
        when = _when(need.within_months, ctx)
        lines.append(say(key, ctx, when=when, amount=amount, reserve=f"{cash:,.0f}"))
    if intent.horizon_years:
        lines.append(say("TW-REQ-02-KEEP", ctx))
    if intent.not_understood:
        lines.append(say("TW-REQ-02-UNCLEAR", ctx))
    if not lines:  # questions alone are answered in a section of their own
        asked = any(asked_products(q, ctx.market) for q in intent.questions)
        lines.append(say("TW-REQ-02-ASKED" if asked else "TW-REQ-02-SEEN", ctx))
    return lines


def request_warnings(ctx: RuleContext) -> list[dict[str, str]]:
    """The unsuitability warning (不适当警示) for each wish above the client's level, for the
    advisor, in both languages; the CN-MIS-06 steps come with it."""
    out = []
    for route in route_wishes(ctx):
        if route.route != "above_level":
            continue
        warning = {"rule_id": "CN-MIS-06"}
        for locale in ("zh-CN", "en"):
            warning[locale] = say(
                "TW-REQ-WARNING",
                ctx,
                locale,
                action=ACTIONS[locale][route.wish.direction],
                target=_target(route, ctx, locale),
                ratings=_ratings(route, ctx),
                level=ctx.profile.risk_level,
            )
        out.append(warning)
    return out


_LAST = threading.local()  # the last context this thread composed, and its lines


def required_wording(ctx: RuleContext) -> dict[str, list[str]]:
    """Each wording rule's required lines for this plan; an empty list means not applicable.

    Every wording rule and the composed text ask for the same context's lines: they are built
    once per context (by identity, per thread) rather than once per rule."""
    last = getattr(_LAST, "entry", None)
    if last is not None and last[0] is ctx:
        return dict(last[1])
    lines = _required_wording(ctx)
    _LAST.entry = (ctx, lines)
    return dict(lines)


def _required_wording(ctx: RuleContext) -> dict[str, list[str]]:
    held = _held(ctx)
    j, locale = ctx.policy.jurisdiction, ctx.profile.locale
    kind = {
        "zh-CN": ("专业投资者", "普通投资者"),
        "en": ("professional investor", "ordinary investor"),
    }
    hours = ctx.policy.cooling_off_hours
    ordinary_high = not is_professional(ctx) and any(p.risk_rating.rank >= 4 for p in held)
    house = sorted(p.code for p in held if p.house_product)
    coi = _conflicts(ctx, sorted((p for p in held if p.house_product), key=lambda p: p.code))
    switching = _switching(ctx) if j == "EU" else None
    return {
        "TW-REQ-02": request_answer(ctx),
        "REQ-01": [
            say(
                "REQ-01",
                ctx,
                level=ctx.profile.risk_level,
                max_rating=max_rating(ctx.plan),
                kind=kind[locale][0 if is_professional(ctx) else 1],
            )
        ],
        "REQ-02": [say("REQ-02", ctx)],
        "REQ-03": [say("REQ-03", ctx)],
        "REQ-04": [say("REQ-04-HEADER", ctx)] + [_restriction(p, ctx) for p in held],
        "REQ-05": [_ai_statement(ctx)],
        "REQ-06": [say("REQ-06", ctx)] if past_figures(ctx.letter) else [],
        # The notes the letter shows, by title and publisher: its research section lists them.
        "REQ-07": [
            say("REQ-07", ctx, title=title, publisher=pub, as_of=day)
            for title, pub, day in ctx.sources
        ],
        "REQ-08": [_reg_bi(ctx)] if j == "US" else [],
        "REQ-09": [_suitability_report(ctx)] if j == "EU" else [],
        "CN-DIS-02": [say("CN-DIS-02", ctx, code=p.code) for p in held if p.leverage],
        "CN-COOL-01": [say("CN-COOL-01", ctx, hours=hours)]
        if j == "CN" and any(p.category == "private_fund" for p in held)
        else [],
        "CN-COOL-02": [say("CN-COOL-02", ctx)]
        if j == "CN" and any(p.category == "asset_management" for p in held)
        else [],
        "CN-COOL-03": [say("CN-COOL-03", ctx, hours=hours)] if j == "CN" and ordinary_high else [],
        "US-BI-04": [say("US-BI-04", ctx, codes=", ".join(house))] if j == "US" and house else [],
        "CN-COI-01": coi if j == "CN" else [],
        "EU-COI-01": coi if j == "EU" else [],
        "EU-SUIT-06": [switching] if switching else [],
        OFFER: offer_wording(ctx.plan, ctx.market, locale),
    }


ORDER = [
    "TW-REQ-02",
    "REQ-01",
    "REQ-02",
    "REQ-03",
    "REQ-06",
    "CN-COOL-03",
    "CN-COOL-01",
    "CN-COOL-02",
    "REQ-04",
    "CN-DIS-02",
    "REQ-05",
    "REQ-08",
    "US-BI-04",
    "CN-COI-01",
    "EU-COI-01",
    "REQ-09",
    "EU-SUIT-06",
    "REQ-07",
]


ANSWER = "TW-REQ-02"  # the letter's answer section (Letter.answer)
# The special-care offer's risk points, cooling-off and how to accept: the letter's offer section
# (Letter.offer) carries them, not the disclosures, so the rule is not in ORDER.
OFFER = "TW-OFFER-01"
SPECIAL = "CN-MIS-07"  # the rule whose procedure leaves R4/R5 out of a core plan
SOURCES = "REQ-07"  # the letter's research section (Letter.research) shows these lines


def disclosure_lines(ctx: RuleContext) -> list[str]:
    """The letter's disclosures section: every required line, in a fixed order, but the answer
    to the request and the research sources, which have sections of their own."""
    required = required_wording(ctx)
    return [
        line for rule_id in ORDER if rule_id not in (ANSWER, SOURCES) for line in required[rule_id]
    ]


def compose(ctx: RuleContext) -> str:
    """Every required line as one block, in the fixed order: for a text that is not a Letter
    (a test's, a model's draft); the letter places them in its sections (compose_letter)."""
    required = required_wording(ctx)
    return "\n".join(line for rule_id in [*ORDER, OFFER] for line in required[rule_id])
