"""Answer rules: what the letter says in answer to a client's question about the shelf.

The answers are written by code from facts (tools/letter/answers.py); these rules read them as
the client receives them, in the answers section of the final text, so that a wording or a
shelf entry that would promise, forecast or call an above-level product suitable never goes out.
TW-ANS-01: an answer carries no promise (the prohibited-language terms, a forecast, a
recommendation beyond the plan). TW-ANS-02: an answer never calls a product above the client's
level suitable: not in an answer about such a product, nor in any sentence that names one.
"""

from __future__ import annotations

import re

from tools.compliance.engine import Hit, Registry, RuleContext
from tools.compliance.text_checks import FORECAST, SUITABLE, TERMS, sentences, unnegated
from tools.letter.answers import asked_products, subject_name
from tools.letter.text import answer_parts
from tools.market.eligibility import level_limit
from tools.market.shelf import Product

EVALUATORS = Registry()
PROMISE = re.compile("|".join(f"(?:{p.pattern})" for p in (*TERMS.values(), FORECAST)), re.I)


def _unnamed(text: str, ctx: RuleContext) -> str:
    """The text without the shelf's names: a name (示例稳健增利…) is no claim of its own."""
    names = sorted(
        (n for p in ctx.market.shelf for n in (p.name_zh, p.name_en)), key=len, reverse=True
    )
    for name in names:
        text = text.replace(name, " " * len(name))
    return text


@EVALUATORS.rule("TW-ANS-01")
def answer_promises(ctx: RuleContext, rule_id: str) -> list[Hit]:
    found = []
    for subject, facts in answer_parts(ctx.client_text, ctx.profile.locale):
        for fact in facts:
            for term in unnegated(_unnamed(fact, ctx), PROMISE):
                found.append(f"the answer about {subject} says “{term}”")
    return [Hit(evidence) for evidence in dict.fromkeys(found)]


def _above(products: list[Product], ctx: RuleContext) -> list[Product]:
    limit = level_limit(ctx.profile)
    return [p for p in products if p.risk_rating.rank > limit]


@EVALUATORS.rule("TW-ANS-02")
def answer_calls_above_level_suitable(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """An answer about products all above the client's level says nothing that calls them
    suitable; in any answer, a sentence naming an above-level product does not either."""
    locale = ctx.profile.locale
    parts = answer_parts(ctx.client_text, locale)
    questions = ctx.intent.questions if ctx.intent is not None else []
    all_above = set()
    for q in questions:
        products = asked_products(q, ctx.market)
        if products and len(_above(products, ctx)) == len(products):
            all_above.add(subject_name(q, ctx.market, locale))
    above_names = [p.name(locale) for p in _above(list(ctx.market.shelf), ctx)]
    found = []
    for subject, facts in parts:
        for fact in facts:
            for sentence in sentences(fact):
                if subject not in all_above and not any(n in sentence for n in above_names):
                    continue
                for term in unnegated(_unnamed(sentence, ctx), SUITABLE):
                    found.append(
                        f"the answer about {subject} says “{term}” ({ctx.profile.risk_level})"
                    )
    return [Hit(evidence) for evidence in dict.fromkeys(found)]
