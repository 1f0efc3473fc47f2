"""The product shelf, for any principal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentPrincipal, Route, RunnerDep

router = APIRouter(prefix="/v1/products", tags=["products"], route_class=Route)


@router.get("")
def list_products(runner: RunnerDep, _: CurrentPrincipal) -> dict[str, Any]:
    items = [
        {
            "code": p.code,
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "category": p.category,
            "asset_class": p.asset_class,
            "risk_rating": p.risk_rating.value,
            "redemption_days": p.redemption_days,
            "lockup_days": p.lockup_days,
            "daily_liquid": p.daily_liquid,
            "min_investment": p.min_investment,
            "fees": p.fees.model_dump(),
            "access": p.access.value,
        }
        for p in runner.market.shelf
    ]
    return {"items": items, "next": None}
