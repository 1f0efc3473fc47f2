"""Answers to a client's questions about products and themes on the shelf (issue 28, part 3).

A question (纳指ETF适合我吗, "is the Nasdaq ETF a good idea for me?") is answered from facts
only, in the client's language and words (data/answers.yaml): what the product is and what it
tracks; its risk level against the client's level; whether this plan holds it and why or why
not, from the plan itself (its weights, its constraints, its choice among look-alikes, the
special-care offer); its fees and liquidity. Never a forecast, never advice beyond the plan: a
product above the client's level is said to be above it and not suitable (TW-ANS-02), and no
answer promises anything (TW-ANS-01). A question shapes no plan and escalates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.masking import mask_text
from core.schemas.letter import AnswerLine
from core.schemas.plan import Plan, PlanHolding
from core.schemas.profile import ClientProfile
from core.schemas.request import PHRASE_CHARS, Question
from tools.letter.text import money, percent
from tools.market.eligibility import level_limit
from tools.market.intent import lexicon_for, target_name, theme_members
from tools.market.look_alikes import FEE_DECIMALS
from tools.market.market_data import MarketData
from tools.market.shelf import Access, Product

DATA = Path(__file__).resolve().parent / "data" / "answers.yaml"
REQUEST_RULE = "REQUEST"  # agents/allocation.py: a constraint from the client's own request
SPECIAL_CARE_RULE = "CN-MIS-07"  # the core plan of the special-care procedure leaves R4/R5 out


@cache
def load_answers() -> dict[str, Any]:
    return dict(yaml.safe_load(DATA.read_text("utf-8")))


def say(key: str, locale: str, **values: Any) -> str:
    return str(load_answers()["lines"][key][locale]).format(**values)


def check_answers(shelf: Sequence[Product]) -> None:
    """Every category and every tracked index on the shelf has its words, or the answer about
    it could not be written: refused here, naming what lacks."""
    data = load_answers()
    missing = sorted(
        {p.category for p in shelf if p.category not in data["categories"]}
        | {p.tracks for p in shelf if _tracks_key(p) not in data["tracks"]}
    )
    if missing:
        raise ValueError(f"answers.yaml: no words for {missing}")


def _tracks_key(p: Product) -> str:
    """Which words say what a product tracks: its index's, or how it invests without one."""
    if p.tracks == "cash":
        return "cash"
    if p.tracks.startswith("active-"):
        return "active"
    if p.tracks == p.code:
        return "own"
    return p.tracks


def described_names() -> list[str]:
    """The words that say what products track, in both languages: they name indexes with
    digits in their names (沪深300, Nasdaq-100), which the number rule reads as names."""
    return [text for words in load_answers()["tracks"].values() for text in words.values()]


def asked_products(question: Question, market: MarketData) -> list[Product]:
    """The shelf products a question is about: the product, or the theme's members."""
    if question.kind == "product":
        product = market.products.get(question.target)
        return [product] if product is not None else []
    theme = lexicon_for(market).themes.get(question.target)
    return theme_members(theme, market) if theme is not None else []


def subject_name(question: Question, market: MarketData, locale: str) -> str:
    """What the answer is about, as the letter names it: the product's or the theme's name."""
    name = target_name(question.kind, question.target, market, locale)
    return name[:1].upper() + name[1:] if locale == "en" else name


def _issuer(p: Product, locale: str) -> str:
    """The issuer in the client's language: the shelf writes it as "华宝基金 / Huabao Fund"."""
    parts = [s.strip() for s in p.issuer.split(" / ")]
    return parts[0] if locale == "zh-CN" else parts[-1]


def _fee(value: float) -> str:
    return f"{value * 100:.2f}%"


def _join(items: Sequence[str], locale: str) -> str:
    return "、".join(items) if locale == "zh-CN" else ", ".join(items)


@dataclass(frozen=True)
class Asked:
    """What an answer is written from: the client, their plan, the shelf and the language."""

    profile: ClientProfile
    plan: Plan
    market: MarketData
    locale: str

    def say(self, key: str, **values: Any) -> str:
        return say(key, self.locale, **values)

    @property
    def limit(self) -> int:
        return level_limit(self.profile)

    def holding(self, code: str) -> PlanHolding | None:
        return next(
            (h for h in self.plan.holdings if h.product_code == code and h.weight > 0), None
        )

    def rated(self, p: Product) -> str:
        open_, close = ("（", "）") if self.locale == "zh-CN" else (" (", ")")
        return f"{p.name(self.locale)}{open_}{p.risk_rating.value}{close}"

    def sentences(self, *parts: str) -> str:
        return ("" if self.locale == "zh-CN" else " ").join(p for p in parts if p)


def _what(p: Product, a: Asked) -> str:
    data = load_answers()
    verb = "verb_issue" if p.category in data["issued"] else "verb_manage"
    what = a.say(
        "what",
        name=p.name(a.locale),
        category=data["categories"][p.category][a.locale],
        issuer=_issuer(p, a.locale),
        verb=a.say(verb),
        tracks=data["tracks"][_tracks_key(p)][a.locale],
    )
    listed = a.say("listed") if p.exchange_traded else ""
    house = a.say("house") if p.house_product else ""
    return a.sentences(what, listed, house)


def _level(p: Product, a: Asked) -> str:
    values = {
        "rating": p.risk_rating.value,
        "scale": a.say("scale"),
        "level": a.profile.risk_level,
    }
    if p.risk_rating.rank <= a.limit:
        return a.say("level_within", **values)
    return a.say("level_lowest" if a.profile.lowest_category else "level_above", **values)


def _rank_key(p: Product, house_products: str) -> tuple[Any, ...]:
    """look_alikes.rank's order without the client's own products first (unknown here)."""
    return (
        house_products == "preferred" and not p.house_product,
        round(p.total_fee, FEE_DECIMALS),
        p.lockup_days,
        p.redemption_days,
    )


def _chosen_for(chosen: Product, other: Product, a: Asked) -> str | None:
    """Why the plan's choice among look-alikes fell on `chosen` rather than `other`, in the
    words of look_alikes.rank's rule; None when only the code decided."""
    policy = a.plan.shelf.house_products
    if policy == "excluded" and other.house_product and not chosen.house_product:
        return a.say("reason_excluded")
    if _rank_key(other, policy) < _rank_key(chosen, policy):
        return a.say("reason_first")  # ranked ahead only as the client's own
    if policy == "preferred" and chosen.house_product and not other.house_product:
        return a.say("reason_preferred")
    if round(chosen.total_fee, FEE_DECIMALS) < round(other.total_fee, FEE_DECIMALS):
        return a.say("reason_fee")
    if (chosen.lockup_days, chosen.redemption_days) < (other.lockup_days, other.redemption_days):
        return a.say("reason_liquidity")
    return None


def _look_alikes(p: Product, a: Asked) -> list[Product]:
    """The products on the shelf that track what `p` tracks, in the plan's ranked order."""
    ranked = a.plan.shelf.ranked.get(p.tracks)
    group = [x for x in a.market.shelf if x.tracks == p.tracks and x.code != p.code]
    if ranked:
        order = {code: i for i, code in enumerate(ranked)}
        group.sort(key=lambda x: order.get(x.code, len(order)))
    return group


def _held(p: Product, h: PlanHolding, a: Asked) -> str:
    held = a.say("held", weight=percent(h.weight), amount=money(h.amount, a.locale))
    others = [x for x in _look_alikes(p, a) if a.holding(x.code) is None]
    reason = _chosen_for(p, others[0], a) if others else None
    if reason is not None:
        return a.sentences(held, a.say("held_chosen", reason=reason))
    return a.sentences(held, a.say("held_why") if a.plan.rationale else "")


def _not_held(p: Product, a: Asked) -> str:
    """Why the plan does not hold it, the first reason that applies, in the order the plan is
    built: the level, access, lock-up, the client's own request, the special-care procedure,
    another rule, a look-alike held instead, the minimum, and last the plan's weighing."""
    profile = a.profile
    if p.risk_rating.rank > a.limit:
        return a.say("not_lowest" if profile.lowest_category else "not_above")
    if p.access == Access.QUALIFIED_INVESTOR and not profile.qualified_investor:
        return a.say("not_qualified")
    if p.access == Access.PROFESSIONAL_INVESTOR and not profile.professional:
        return a.say("not_professional")
    if p.lockup_days > profile.max_lockup_days:
        return a.say("not_lockup", lockup=p.lockup_days)
    rules = {
        c.rule_id for c in a.plan.constraints if c.kind == "exclude" and c.product_code == p.code
    }
    offer = a.plan.offer
    if offer is not None and p.code in offer.codes():
        return a.say("not_offered")
    if REQUEST_RULE in rules:
        return a.say("not_requested")
    if SPECIAL_CARE_RULE in rules:
        return a.say("not_procedure")
    if rules:
        return a.say("not_rule")
    held = [x for x in _look_alikes(p, a) if a.holding(x.code) is not None]
    if held:
        other = held[0]
        reason = _chosen_for(other, p, a)
        name = other.name(a.locale)
        if reason is None:
            return a.say("not_look_alike", other=name)
        return a.say("not_look_alike_why", other=name, reason=reason)
    if p.min_investment > profile.aum:
        return a.say("not_minimum", minimum=f"{p.min_investment:,.0f}")
    return a.say("not_weighed")


def _fees(p: Product, a: Asked) -> str:
    f = p.fees
    if f.subscription and f.redemption:
        one_off = a.say("one_off", subscription=_fee(f.subscription), redemption=_fee(f.redemption))
    elif f.subscription:
        one_off = a.say("one_off_buy", subscription=_fee(f.subscription))
    elif f.redemption:
        one_off = a.say("one_off_redeem", redemption=_fee(f.redemption))
    else:
        one_off = a.say("one_off_exchange" if p.exchange_traded else "one_off_none")
    return a.say(
        "fees",
        management=_fee(f.management),
        custody=_fee(f.custody),
        annual=_fee(f.annual),
        one_off=one_off,
    )


def _wait(days: int, a: Asked) -> str:
    return a.say("wait_one") if days == 1 else a.say("wait", days=days)


def _lockup(days: int, a: Asked) -> str:
    return a.say("lockup", days=days) if days else a.say("no_lockup")


def _liquidity(p: Product, a: Asked) -> str:
    lockup = _lockup(p.lockup_days, a)
    if p.exchange_traded:
        return a.say("liquidity_exchange", wait=_wait(p.redemption_days, a), lockup=lockup)
    minimum = f"{p.min_investment:,.0f}"
    if p.redemption_days == 0:
        return a.say("liquidity_same_day", lockup=lockup, minimum=minimum)
    wait = _wait(p.redemption_days, a)
    return a.say("liquidity_fund", wait=wait, lockup=lockup, minimum=minimum)


def product_answer(p: Product, a: Asked) -> list[str]:
    """What it is and tracks, its level against the client's, held or why not, fees, liquidity."""
    h = a.holding(p.code)
    held = _held(p, h, a) if h is not None else _not_held(p, a)
    return [_what(p, a), _level(p, a), held, _fees(p, a), _liquidity(p, a)]


def _theme_level(members: list[Product], a: Asked) -> list[str]:
    level = a.profile.risk_level
    within = [p for p in members if p.risk_rating.rank <= a.limit]
    above = [p for p in members if p.risk_rating.rank > a.limit]
    if not above:
        return [a.say("theme_within", level=level)]
    if not within:
        key = "theme_lowest" if a.profile.lowest_category else "theme_above"
        return [a.say(key, level=level)]
    names = [p.name(a.locale) for p in within]
    return [
        a.sentences(
            a.say("theme_mixed_within", names=_join(names, a.locale), level=level),
            a.say("theme_mixed_above", names=_join([p.name(a.locale) for p in above], a.locale)),
        )
    ]


def _buyable(p: Product, a: Asked) -> bool:
    """Within the level, the access and the lock-up the client's horizon allows."""
    profile = a.profile
    return (
        p.risk_rating.rank <= a.limit
        and p.lockup_days <= profile.max_lockup_days
        and not (p.access == Access.QUALIFIED_INVESTOR and not profile.qualified_investor)
        and not (p.access == Access.PROFESSIONAL_INVESTOR and not profile.professional)
    )


def _theme_held(members: list[Product], a: Asked) -> str:
    items = []
    for p in members:
        h = a.holding(p.code)
        if h is not None:
            amount = money(h.amount, a.locale)
            name = p.name(a.locale)
            items.append(a.say("theme_item", name=name, weight=percent(h.weight), amount=amount))
    if items:
        return a.say("theme_held", items=_join(items, a.locale))
    offer = a.plan.offer
    offered = offer is not None and any(p.code in offer.codes() for p in members)
    if offered:
        why = a.say("theme_offered")
    elif not any(p.risk_rating.rank <= a.limit for p in members):
        why = ""  # the level line said why
    elif not any(_buyable(p, a) for p in members):
        why = a.say("theme_blocked")
    else:
        why = a.say("theme_weighed")
    return a.sentences(a.say("theme_not_held"), why)


def _theme_costs(members: list[Product], a: Asked) -> list[str]:
    fees = sorted({round(p.fees.annual, FEE_DECIMALS) for p in members})
    if len(fees) == 1:
        fee_line = a.say("theme_fee", low=_fee(fees[0]))
    else:
        fee_line = a.say("theme_fees", low=_fee(fees[0]), high=_fee(fees[-1]))
    days = sorted({p.redemption_days for p in members})
    locked = [
        a.say("theme_lockup_item", name=p.name(a.locale), days=p.lockup_days)
        for p in members
        if p.lockup_days
    ]
    lockups = (
        a.say("theme_lockups", items=_join(locked, a.locale))
        if locked
        else a.say("theme_lockups_none")
    )
    if len(days) == 1:
        return [fee_line, a.say("theme_liquid", wait=_wait(days[0], a), lockups=lockups)]
    return [fee_line, a.say("theme_liquid_range", low=days[0], high=days[-1], lockups=lockups)]


def theme_answer(theme: str, members: list[Product], a: Asked) -> list[str]:
    """The theme's products on the shelf, their levels against the client's, what the plan holds
    of them (or why none), and the range of their fees and liquidity; a theme of one product
    (芯片 is the semiconductor ETF) names it, then answers as for the product."""
    names = _join([a.rated(p) for p in members], a.locale)
    what = a.say("theme_what", theme=theme, names=names)
    if len(members) == 1:  # one product: its own answer says it best
        return [what, *product_answer(members[0], a)]
    return [what, *_theme_level(members, a), _theme_held(members, a), *_theme_costs(members, a)]


def quoted(phrase: str) -> str:
    """The client's words as the letter quotes them: one line, within the phrase limit, and
    masked again whoever read them (the reader masks; a letter never relies on it alone)."""
    return mask_text(" ".join(phrase.split()))[:PHRASE_CHARS]


def answer_lines(
    questions: Sequence[Question],
    profile: ClientProfile,
    plan: Plan,
    market: MarketData,
    locale: str,
) -> list[AnswerLine]:
    """One answer per product or theme asked about, in the order asked; a question naming
    nothing on the shelf has no facts to answer from (the reader keeps it a doubt)."""
    a = Asked(profile, plan, market, locale)
    out, seen = [], set()
    for q in questions:
        members = asked_products(q, market)
        if not members or q.key in seen:
            continue
        seen.add(q.key)
        subject = subject_name(q, market, locale)
        if q.kind == "product":
            lines = product_answer(members[0], a)
        else:
            theme = target_name(q.kind, q.target, market, locale)
            lines = theme_answer(theme, members, a)
        out.append(AnswerLine(question=quoted(q.phrase), subject=subject, lines=lines))
    return out
