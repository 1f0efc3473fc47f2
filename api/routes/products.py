"""The product shelf, for any principal."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal, Route, RunnerDep
from api.schemas import Page, ProductPublic
from api.views import product_public

router = APIRouter(prefix="/v1/products", tags=["products"], route_class=Route)


@router.get("")
def list_products(runner: RunnerDep, _: CurrentPrincipal) -> Page[ProductPublic]:
    """The whole shelf on one page: code, names, asset class, risk rating, liquidity, lock-up,
    fees and access."""
    return Page[ProductPublic](items=[product_public(p) for p in runner.market.shelf], next=None)
