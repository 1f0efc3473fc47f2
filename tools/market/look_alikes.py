"""Look-alikes: products that track one index. A plan holds one of them, chosen by a stated rule.

The rule, in order (the first difference decides):

1. the house-product policy `excluded` leaves the firm's own product out when a look-alike
   exists;
2. a product the client named in a confirmed wish to buy or hold more, or holds today: switching
   between look-alikes costs a trade and changes nothing;
3. the house-product policy `preferred` puts the firm's own product first (neutral: no say);
4. the lower total fee: annual management and custody plus one-off subscription and redemption;
5. the better liquidity: the shorter lock-up, then the fewer days to cash on redemption;
6. the code, so that the choice never depends on the shelf's order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from core.schemas.plan import Doubled, ShelfChoice
from core.settings import HouseProducts
from tools.market.shelf import Product

CAP_TOLERANCE = 1e-9
FEE_DECIMALS = 6  # fees are stated to a hundredth of a basis point; below is float noise


def rank(
    group: Iterable[Product], house_products: HouseProducts, first: Collection[str] = ()
) -> list[Product]:
    """Look-alikes best first by the module's rule; under `excluded`, without the firm's own
    products unless nothing else tracks the index."""
    ranked = sorted(
        group,
        key=lambda p: (
            p.code not in first,
            house_products == "preferred" and not p.house_product,
            round(p.total_fee, FEE_DECIMALS),
            p.lockup_days,
            p.redemption_days,
            p.code,
        ),
    )
    if house_products == "excluded" and any(not p.house_product for p in ranked):
        ranked = [p for p in ranked if not p.house_product]
    return ranked


@dataclass(frozen=True)
class Candidates:
    """The products a plan is optimised over: the best of each tracked index, and the
    runners-up, admitted tier by tier only when no plan exists without them."""

    chosen: list[Product]
    spares: list[list[Product]]  # spares[0]: every index's second best, spares[1]: third, ...
    choice: ShelfChoice


def choose(
    products: Iterable[Product], house_products: HouseProducts, first: Collection[str] = ()
) -> Candidates:
    """One product per tracked index, in the shelf's order, and the rest as ranked spares."""
    groups: dict[str, list[Product]] = {}
    for p in products:
        groups.setdefault(p.tracks, []).append(p)
    ranked = {t: rank(g, house_products, first) for t, g in groups.items()}
    best = {r[0].code for r in ranked.values()}
    chosen = [p for g in groups.values() for p in g if p.code in best]
    depth = max((len(r) for r in ranked.values()), default=1)
    spares = [[r[i] for _, r in sorted(ranked.items()) if len(r) > i] for i in range(1, depth)]
    record = {t: [p.code for p in r] for t, r in sorted(ranked.items()) if len(groups[t]) > 1}
    return Candidates(chosen, spares, ShelfChoice(house_products=house_products, ranked=record))


def doubled(
    weights: dict[str, float], products: dict[str, Product], caps: dict[str, float]
) -> list[Doubled]:
    """Every tracked index the plan holds more than one product on, with its share and the cap
    of the largest of them: a share above it is why one product would not do; otherwise no plan
    within the limits existed with one alone (the allocation admits a second only then)."""
    held: dict[str, list[str]] = {}
    for code in weights:
        if code in products:
            held.setdefault(products[code].tracks, []).append(code)
    out = []
    for tracks, codes in sorted(held.items()):
        if len(codes) < 2:
            continue
        first = max(codes, key=lambda c: weights[c])
        share = sum(weights[c] for c in codes)
        out.append(
            Doubled(
                tracks=tracks,
                product_codes=sorted(codes, key=lambda c: (-weights[c], c)),
                share=round(share, 6),
                cap=round(caps[first], 6),
                reason="product_cap" if share > caps[first] + CAP_TOLERANCE else "no_single_plan",
            )
        )
    return out
