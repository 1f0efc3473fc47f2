"""Eligibility: the shelf products a client may hold at all, before any optimisation."""

from __future__ import annotations

from core.schemas.profile import ClientProfile
from tools.market.market_data import MarketData
from tools.market.shelf import Product


def level_limit(profile: ClientProfile) -> int:
    """The highest product rank a plan for this client is built with: R1 for the lowest
    category, else the client's assessed level (C3 → R3)."""
    return 1 if profile.lowest_category else profile.level_rank


def eligible_products(profile: ClientProfile, market: MarketData) -> list[Product]:
    """Products this client may hold: level, access and lock-up against horizon."""
    max_rank = level_limit(profile)
    out = []
    for p in market.shelf:
        if p.risk_rating.rank > max_rank or p.lockup_days > profile.max_lockup_days:
            continue
        if p.access == "qualified_investor" and not profile.qualified_investor:
            continue
        if p.access == "professional_investor" and not profile.professional:
            continue
        out.append(p)
    return out
