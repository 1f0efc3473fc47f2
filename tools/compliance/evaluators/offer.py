"""The special-care offer's wording (TW-OFFER-01, issue 28): a letter that offers a client R4/R5
products states each one's particular risk points, the cooling-off and how to accept."""

from __future__ import annotations

from tools.compliance.engine import Hit, Registry, RuleContext
from tools.letter.offer import accept_line, cooling_off_line, risk_points

EVALUATORS = Registry()


@EVALUATORS.rule("TW-OFFER-01")
def offer_states_its_risks(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Every line the offer must carry is in the client's text: a missing one is a finding."""
    offer = ctx.plan.offer
    if offer is None:
        return []
    locale = ctx.profile.locale
    hits = []
    for h in offer.holdings:
        product = ctx.market.products.get(h.product_code)
        points = risk_points(product, locale) if product is not None else []
        if not points:
            hits.append(Hit(f"{h.product_code}: no risk points to state"))
        hits += [
            Hit(f"{h.product_code}: missing risk point: {p[:80]}")
            for p in points
            if p not in ctx.client_text
        ]
    for line in (cooling_off_line(offer.cooling_off_hours, locale), accept_line(locale)):
        if line not in ctx.client_text:
            hits.append(Hit(f"missing: {line[:80]}"))
    return hits
