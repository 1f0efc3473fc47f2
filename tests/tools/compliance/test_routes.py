"""Request routing by behaviour (DESIGN §2): a wish for more of a theme none of whose products is
within the client's level is above-level, and CN-MIS-06 escalates it; any other is not.

Which themes are out of reach is computed from the shelf, the ratings of the products each theme
means, and pinned as the lowest level that may hold some of each: a lexicon edit that lets a
lower-rated fund answer a theme (an R3 fund for "tech") changes what clients are told, so it
fails here as a route, not only in the lexicon's content tests.
"""

from __future__ import annotations

from functools import cache

import pytest
from compliance_helpers import client, plan, profile_of

from agents.compliance import rule_context
from core.schemas.profile import ClientProfile
from core.schemas.request import RequestIntent, Wish
from core.schemas.vocabulary import RISK_LEVELS, RiskLevel
from core.settings import CompliancePolicy
from tools.compliance.engine import evaluate
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.facts import route_wishes
from tools.compliance.rulebook import shipped_rules
from tools.market.intent import lexicon_for, theme_members
from tools.market.market_data import load_market

RULES = shipped_rules()
MARKET = load_market()
THEMES = lexicon_for(MARKET).themes
CASH = {"511990": 0.5, "TW-MM-01": 0.5}  # R1: suitable for everyone
# The lowest level with a product of the theme within it (C/R matrix: R_n from C_n).
WITHIN_FROM = {
    "cash": "C1", "bond": "C2", "balanced": "C2", "equity": "C3", "gold": "C3",
    "convertible": "C3", "asset_management": "C3", "overseas": "C4", "sector": "C4",
    "tech": "C4", "semiconductor": "C4", "healthcare": "C4", "brokerage": "C4",
    "new_energy": "C4", "consumer": "C4", "structured_note": "C4", "private_fund": "C5",
}  # fmt: skip


@cache
def ordinary(level: RiskLevel) -> ClientProfile:
    """An ordinary investor (not the lowest category) assessed at this level."""
    return profile_of(client(risk_level=level), MARKET)


def above_every_product(theme: str, level: RiskLevel) -> bool:
    """From the shelf: every product the theme means is rated above the level."""
    rank = int(level[1])
    return all(p.risk_rating.rank > rank for p in theme_members(THEMES[theme], MARKET))


def test_the_pinned_reach_of_every_theme_is_the_shelfs() -> None:
    assert set(WITHIN_FROM) == set(THEMES)
    for theme, level in WITHIN_FROM.items():
        below = RISK_LEVELS[: RISK_LEVELS.index(level)]
        assert [above_every_product(theme, c) for c in RISK_LEVELS] == [
            c in below for c in RISK_LEVELS
        ], theme


@pytest.mark.parametrize("level", RISK_LEVELS)
@pytest.mark.parametrize("theme", sorted(WITHIN_FROM))
def test_more_of_a_theme_out_of_reach_is_above_level_and_escalates(
    theme: str, level: RiskLevel
) -> None:
    out_of_reach = RISK_LEVELS.index(level) < RISK_LEVELS.index(WITHIN_FROM[theme])
    prof = ordinary(level)
    intent = RequestIntent(wishes=[Wish(direction="more", kind="theme", target=theme)])
    ctx = rule_context(
        prof, plan(CASH, prof, MARKET), letter="", client_text="",
        client_name="王芳", intent=intent, market=MARKET, policy=CompliancePolicy(),
        model_name="offline-v1",
    )  # fmt: skip
    (route,) = route_wishes(ctx)
    escalated = [f for f in evaluate(RULES, REGISTRY, ctx) if f.rule_id == "CN-MIS-06"]
    if out_of_reach:
        assert route.route == "above_level"
        assert sorted(route.above) == sorted(route.products)
        assert [f.verdict for f in escalated] == ["escalate"]
        assert f"more {theme}" in escalated[0].evidence
    else:
        assert route.route != "above_level" and not escalated
    assert above_every_product(theme, level) == out_of_reach  # and the shelf says so
