"""One product per tracked index, chosen by a stated rule; a plan a person can hold: no slivers,
a product limit by AUM band, amounts in whole lots or hundreds, trades that reach them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import make_client
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from test_allocation import POLICY, assert_caps, assert_suitable, profile

from agents.allocation import allocate_portfolio, smallest_purchase
from agents.plan import buyable, trades_for
from core.schemas.client import ClientInput, Holding
from core.schemas.plan import Plan
from core.settings import AllocationPolicy
from tools.llm.offline import OfflineModel
from tools.market.look_alikes import choose, rank
from tools.market.market_data import MarketData
from tools.market.shelf import Product, check_look_alikes, load_shelf

SHELF = Path(__file__).resolve().parents[2] / "tools" / "market" / "data" / "products.yaml"
GOALS = ["preservation", "income", "balanced", "growth", "aggressive_growth"]
# Last closes as the price store would give them (money-market ETFs trade near 100 a unit).
CLOSES = {"510300": 4.12, "510500": 6.05, "518880": 5.48, "159934": 5.31, "511260": 121.4,
          "511010": 103.2, "511990": 100.01, "513500": 1.87, "513100": 1.52}  # fmt: skip


def allocate(
    client: ClientInput,
    market: MarketData,
    policy: AllocationPolicy = POLICY,
    closes: dict[str, float] | None = None,
) -> Plan:
    return allocate_portfolio(
        profile(client, market),
        client.holdings,
        market=market,
        model=OfflineModel(),
        policy=policy,
        constraints=[],
        closes=closes,
    )


def like(market: MarketData, code: str, new_code: str, **update: Any) -> Product:
    """A look-alike of a shelf product, with other fees, liquidity or issuer."""
    fees = market.products[code].fees.model_copy(update=update.pop("fees", {}))
    return market.products[code].model_copy(update={"code": new_code, "fees": fees, **update})


def tracked(plan: Plan, market: MarketData) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for h in plan.holdings:
        out.setdefault(market.products[h.product_code].tracks, []).append(h.product_code)
    return out


# ------------------------------------------------------------------ what each product tracks


def test_every_shelf_product_says_what_it_tracks(market: MarketData) -> None:
    tracks = {p.code: p.tracks for p in market.shelf}
    assert tracks["518880"] == tracks["159934"] == "gold"
    assert tracks["510300"] == tracks["159919"] == "CSI300"
    assert (tracks["510050"], tracks["510500"], tracks["511260"]) == ("SSE50", "CSI500", "CGB10Y")
    assert (tracks["513500"], tracks["513100"]) == ("SP500", "NDX100")
    assert {p.code for p in market.shelf if p.tracks == "cash"} == {
        p.code for p in market.shelf if p.category == "money_market"
    }
    # Products on terms of their own have no look-alike.
    assert all(tracks[c] == c for c in ("TW-SN-2601", "TW-PF-01", "TW-AM-01"))


@pytest.mark.parametrize(
    ("update", "error"),
    [
        ({"tracks": ""}, "tracks"),
        ({"tracks": "CSI 300"}, "tracks"),
        ({"tracks": "gold"}, "money-market product tracks 'cash'"),  # a money-market fund
    ],
)
def test_a_product_with_a_wrong_tracks_is_refused(update: dict[str, Any], error: str) -> None:
    row = yaml.safe_load(SHELF.read_text("utf-8"))[0]
    with pytest.raises(ValidationError, match=error):
        Product.model_validate({**row, **update})


def test_only_a_money_market_product_tracks_cash() -> None:
    row = next(r for r in yaml.safe_load(SHELF.read_text("utf-8")) if r["code"] == "510300")
    with pytest.raises(ValidationError, match="tracks 'cash'"):
        Product.model_validate({**row, "tracks": "cash"})


def test_look_alikes_in_different_asset_classes_are_refused(market: MarketData) -> None:
    odd = like(market, "518880", "GOLD-X", asset_class="cn_large_cap")
    with pytest.raises(ValueError, match="gold"):
        check_look_alikes((*market.shelf, odd))
    assert load_shelf(SHELF) == market.shelf  # the shipped shelf passes


# ------------------------------------------------------------------ the rule among look-alikes


def test_the_lower_total_fee_wins_one_off_fees_included(market: MarketData) -> None:
    cheap_annual = like(market, "510300", "A", fees={"management": 0.001, "subscription": 0.005})
    dearer_annual = like(market, "510300", "B", fees={"management": 0.003})
    assert [p.code for p in rank([cheap_annual, dearer_annual], "neutral")] == ["B", "A"]


def test_at_equal_fee_liquidity_decides_then_the_code(market: MarketData) -> None:
    locked = like(market, "510300", "A", lockup_days=30)
    slow = like(market, "510300", "B", redemption_days=3)
    fast = like(market, "510300", "C")
    twin = like(market, "510300", "D")
    assert [p.code for p in rank([twin, locked, slow, fast], "neutral")] == ["C", "D", "B", "A"]


def test_the_fee_comes_before_liquidity(market: MarketData) -> None:
    cheap_slow = like(market, "510300", "A", redemption_days=3, fees={"management": 0.001})
    dear_fast = like(market, "510300", "B")
    assert rank([dear_fast, cheap_slow], "neutral")[0].code == "A"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("neutral", ["TW-MM-01", "TW-MM-02", "511880", "511990"]),  # the house fund is cheapest
        ("preferred", ["TW-MM-01", "TW-MM-02", "511880", "511990"]),
        ("excluded", ["TW-MM-02", "511880", "511990"]),
    ],
)
def test_the_house_product_policy_on_cash(
    market: MarketData, policy: Any, expected: list[str]
) -> None:
    cash = [p for p in market.shelf if p.tracks == "cash"]
    assert [p.code for p in rank(cash, policy)] == expected


def test_preferred_puts_the_house_product_before_a_cheaper_one(market: MarketData) -> None:
    short = [p for p in market.shelf if p.tracks == "active-short_bond"]
    assert [p.code for p in rank(short, "neutral")] == ["TW-SB-02", "TW-SB-01"]  # fee
    assert [p.code for p in rank(short, "preferred")] == ["TW-SB-01", "TW-SB-02"]
    assert [p.code for p in rank(short, "excluded")] == ["TW-SB-02"]


def test_excluded_keeps_a_house_product_that_has_no_look_alike(market: MarketData) -> None:
    alone = market.products["TW-AM-01"]
    assert rank([alone], "excluded") == [alone]


def test_a_product_the_client_holds_or_named_comes_first(market: MarketData) -> None:
    gold = [market.products["518880"], market.products["159934"]]
    assert rank(gold, "neutral")[0].code == "159934"  # equal in all: the code
    assert rank(gold, "neutral", first={"518880"})[0].code == "518880"
    # The firm's policy still leaves its own fund out where a look-alike exists.
    cash = [p for p in market.shelf if p.tracks == "cash"]
    assert "TW-MM-01" not in [p.code for p in rank(cash, "excluded", first={"TW-MM-01"})]


def test_choose_keeps_one_per_index_and_ranks_the_rest(market: MarketData) -> None:
    got = choose(market.shelf, "neutral")
    assert len({p.tracks for p in got.chosen}) == len(got.chosen)
    assert {p.tracks for p in got.chosen} == {p.tracks for p in market.shelf}
    assert [p.code for p in got.spares[0] if p.tracks == "gold"] == ["518880"]
    assert got.choice.ranked["gold"] == ["159934", "518880"]
    assert got.choice.ranked["CSI300"] == ["159919", "510300"]
    assert "SSE50" not in got.choice.ranked  # nothing to choose between


# ------------------------------------------------------------------ plans


@pytest.mark.parametrize("policy", ["neutral", "preferred", "excluded"])
def test_the_policy_is_recorded_on_the_plan_and_decides_the_house_product(
    market: MarketData, policy: Any
) -> None:
    client = make_client(risk_level="C2", goal="income", holdings=[])
    plan = allocate(client, market, AllocationPolicy(house_products=policy))
    assert plan.shelf.house_products == policy
    assert plan.shelf.ranked["cash"][0] == ("TW-MM-02" if policy == "excluded" else "TW-MM-01")
    held = set(plan.weights())
    house = {c for c in held if market.products[c].house_product}
    if policy == "excluded":
        # A house product is held only where nothing else on the shelf tracks its index.
        for code in house:
            tracks = market.products[code].tracks
            assert [p.code for p in market.shelf if p.tracks == tracks] == [code]
        assert "TW-MM-02" in held
    else:
        assert "TW-MM-01" in held


def test_a_client_who_holds_a_look_alike_keeps_it(market: MarketData) -> None:
    holdings = [{"product_code": "518880", "market_value": 60_000}]
    client = make_client(risk_level="C4", goal="growth", holdings=holdings)
    plan = allocate(client, market)
    assert tracked(plan, market)["gold"] == ["518880"]
    assert plan.shelf.ranked["gold"] == ["518880", "159934"]
    assert {t.product_code for t in plan.trades} & {"159934"} == set()
    # Without it, the other gold ETF would have been chosen (equal in fee and liquidity).
    fresh = allocate(make_client(risk_level="C4", goal="growth", holdings=[]), market)
    assert tracked(fresh, market)["gold"] == ["159934"]


def test_no_doubling_when_one_product_can_hold_the_index(market: MarketData) -> None:
    plan = allocate(make_client(risk_level="C4", goal="growth", holdings=[]), market)
    assert plan.doubled == []
    assert all(len(codes) == 1 for codes in tracked(plan, market).values())


def test_a_reserve_above_one_funds_cap_is_held_in_two_and_the_plan_says_why(
    market: MarketData,
) -> None:
    """Half the AUM needed within a year: the reserve is above the 40% a single product may
    hold, so two money-market funds hold it, and the plan records the share and the cap."""
    client = make_client(aum=400_000, liquidity_need=200_000, holdings=[])
    plan = allocate(client, market)
    [doubled] = plan.doubled
    assert doubled.tracks == "cash" and doubled.reason == "product_cap"
    assert doubled.share > doubled.cap == POLICY.max_single_product
    assert sorted(doubled.product_codes) == sorted(tracked(plan, market)["cash"])
    assert len(doubled.product_codes) == math.ceil(doubled.share / doubled.cap - 1e-9)
    # Without the cap, one fund holds it all.
    loose = allocate(client, market, AllocationPolicy(max_single_product=1.0))
    assert loose.doubled == [] and len(tracked(loose, market)["cash"]) == 1


@settings(max_examples=30, deadline=None)
@given(
    level=st.sampled_from(["C1", "C2", "C3", "C4", "C5"]),
    aum=st.floats(20_000, 30_000_000),
    need=st.floats(0, 1.2),
    goal=st.sampled_from(GOALS),
    horizon=st.sampled_from([1, 2, 6, 12, 25]),
    policy=st.sampled_from(["neutral", "preferred", "excluded"]),
    held=st.sampled_from([[], ["510300"], ["159919", "518880"], ["TW-MM-01"]]),
)
def test_property_look_alikes_are_held_together_only_when_forced_and_said(
    market: MarketData,
    level: str,
    aum: float,
    need: float,
    goal: str,
    horizon: float,
    policy: Any,
    held: list[str],
) -> None:
    holdings = [{"product_code": c, "market_value": aum * 0.1} for c in held]
    client = make_client(
        risk_level=level, aum=aum, liquidity_need=aum * need, goal=goal, horizon_years=horizon,
        holdings=holdings,
    )  # fmt: skip
    pol = AllocationPolicy(house_products=policy)
    plan = allocate(client, market, pol)
    assert_suitable(profile(client, market), plan, market)
    assert_caps(plan, market, level, pol)
    said = {d.tracks: d for d in plan.doubled}
    for tracks, codes in tracked(plan, market).items():
        if len(codes) > 1:
            share = sum(plan.weights()[c] for c in codes)
            assert said[tracks].reason in ("product_cap", "no_single_plan", "reserve_only")
            assert said[tracks].share == pytest.approx(share, abs=1e-6)
        else:
            assert tracks not in said
    if plan.fallback is None:
        assert all(h.weight >= pol.min_weight for h in plan.holdings)
        assert len(plan.holdings) <= pol.product_limit(aum)
    assert plan.shelf.house_products == policy


# ------------------------------------------------------------------ a plan a person can hold


@pytest.mark.parametrize("minimum", [0.02, 0.05])
@pytest.mark.parametrize("level", ["C2", "C3", "C5"])
@pytest.mark.parametrize("aum", [60_000, 850_000, 20_000_000])
def test_no_position_under_the_minimum(
    market: MarketData, minimum: float, level: str, aum: float
) -> None:
    pol = AllocationPolicy(min_weight=minimum)
    client = make_client(risk_level=level, aum=aum, liquidity_need=aum * 0.01, holdings=[])
    plan = allocate(client, market, pol)
    assert plan.fallback is None
    assert min(h.weight for h in plan.holdings) >= minimum
    # A reserve smaller than the minimum position is held at the minimum, not as a sliver.
    reserve = sum(h.weight for h in plan.holdings if h.asset_class == "cash")
    assert reserve >= minimum


@pytest.mark.parametrize(
    ("aum", "limit"), [(50_000, 4), (199_999, 4), (200_000, 6), (2_400_000, 8), (9_000_000, 10)]
)
def test_the_product_count_stays_within_the_aum_band(
    market: MarketData, aum: float, limit: int
) -> None:
    assert POLICY.product_limit(aum) == limit
    for level in ("C3", "C5"):
        client = make_client(risk_level=level, aum=aum, goal="aggressive_growth", holdings=[],
                             liquidity_need=aum * 0.05, financial_assets=aum)  # fmt: skip
        plan = allocate(client, market)
        assert 1 <= len(plan.holdings) <= limit
        assert plan.fallback is None


def test_a_tighter_band_drops_the_smallest_and_solves_again(market: MarketData) -> None:
    client = make_client(risk_level="C5", goal="aggressive_growth", aum=9_000_000, holdings=[])
    wide = allocate(client, market)
    tight_policy = AllocationPolicy(max_products=[(1e12, 3)], max_products_above=3)
    tight = allocate(client, market, tight_policy)
    assert len(wide.holdings) > 3 >= len(tight.holdings)
    assert sum(tight.weights().values()) == pytest.approx(1, abs=1e-9)
    assert_caps(tight, market, "C5", tight_policy)


@pytest.mark.parametrize(
    "bands",
    [[(200_000.0, 4), (100_000.0, 6)], [(200_000.0, 6), (1_000_000.0, 4)], [(0.0, 4)]],
)
def test_product_bands_must_rise(bands: list[tuple[float, int]]) -> None:
    with pytest.raises(ValidationError, match="product band"):
        AllocationPolicy(max_products=bands)


def test_amounts_are_whole_lots_at_the_stored_close_else_whole_hundreds(
    market: MarketData,
) -> None:
    client = make_client(risk_level="C4", goal="growth", aum=850_000, holdings=[])
    plan = allocate(client, market, closes=CLOSES)
    lots = [h for h in plan.holdings if h.rounding == "lots"]
    assert lots, "a C4 growth plan holds an exchange-traded fund with a stored close"
    for h in plan.holdings:
        value = h.weight * client.aum
        if h.rounding == "lots":
            assert market.products[h.product_code].exchange_traded
            assert h.price == CLOSES[h.product_code] and h.units and h.units % 100 == 0
            assert h.amount == pytest.approx(h.units * h.price)
            assert h.amount <= value + 1e-6 < h.amount + 100 * h.price
        else:
            assert h.units is None and h.price is None
            assert h.amount % 100 == 0 and h.amount <= value + 1e-6 < h.amount + 100
            # Only a product without a stored close, or one sold over the counter, is in yuan.
            p = market.products[h.product_code]
            assert not p.exchange_traded or p.code not in CLOSES


def test_without_stored_closes_every_amount_is_whole_hundreds(market: MarketData) -> None:
    client = make_client(risk_level="C4", goal="growth", aum=850_000, holdings=[])
    plan = allocate(client, market)
    assert {h.rounding for h in plan.holdings} == {"hundreds"}
    assert all(h.amount % 100 == 0 and h.units is None for h in plan.holdings)


def test_a_lot_the_client_cannot_afford_keeps_the_fund_out(market: MarketData) -> None:
    """A money-market ETF at 100 a unit costs 10,000 a lot: beyond what one product may hold of
    a 20,000 plan, so another money-market fund holds the reserve."""
    assert smallest_purchase(market.products["511990"], CLOSES) == pytest.approx(10_001)
    assert smallest_purchase(market.products["TW-MM-02"], CLOSES) == 1  # over the counter
    client = make_client(risk_level="C3", aum=20_000, liquidity_need=2_000, holdings=[])
    plan = allocate(client, market, AllocationPolicy(house_products="excluded"), closes=CLOSES)
    held = plan.weights()
    assert "511990" not in held
    assert all(h.units is None or h.units >= 100 for h in plan.holdings)


def test_buyable_rounds_down_to_lots_or_hundreds() -> None:
    assert buyable(12_345.0) == (12_300.0, None)
    assert buyable(12_345.0, 4.12) == (round(2900 * 4.12, 2), 2900)
    assert buyable(399.0, 4.12) == (0.0, 0)


@pytest.mark.parametrize(
    "holdings",
    [
        [],
        [{"product_code": "510300", "market_value": 300_000}],
        [
            {"product_code": "510300", "market_value": 200_000},
            {"product_code": "600519", "market_value": 150_000},
            {"product_code": "TW-MM-01", "market_value": 50_000},
        ],
    ],
)
@pytest.mark.parametrize("closes", [None, CLOSES], ids=["hundreds", "lots"])
def test_trades_reach_the_rounded_amounts(
    market: MarketData, holdings: list[dict[str, Any]], closes: dict[str, float] | None
) -> None:
    client = make_client(holdings=holdings)
    plan = allocate(client, market, closes=closes)
    position: dict[str, float] = {}
    for h in client.holdings:
        position[h.product_code] = position.get(h.product_code, 0.0) + h.market_value
    for t in plan.trades:
        if t.units is not None:
            assert t.price is not None and t.units % 100 == 0
            assert t.amount == pytest.approx(t.units * t.price)
        elif t.side == "buy":
            assert t.amount % 100 == 0
        position[t.product_code] = position.get(t.product_code, 0.0) + (
            t.amount if t.side == "buy" else -t.amount
        )
    for h in plan.holdings:  # within one lot or one hundred of the holding's amount
        step = 100 * h.price if h.rounding == "lots" and h.price else 100.0
        assert abs(position.get(h.product_code, 0.0) - h.amount) < max(step, POLICY.min_trade_cny)
    for code in set(position) - set(plan.weights()):  # sold whole
        assert position[code] == pytest.approx(0, abs=0.01)


def test_trades_for_buys_lots_and_sells_what_the_plan_leaves_out(market: MarketData) -> None:
    targets = allocate(make_client(holdings=[]), market, closes=CLOSES).holdings
    held = [Holding(product_code="600519", market_value=12_345.67)]
    trades = {t.product_code: t for t in trades_for(targets, held, 100.0)}
    assert trades["600519"].side == "sell" and trades["600519"].amount == 12_345.67
    for h in targets:
        t = trades[h.product_code]
        assert t.side == "buy" and t.amount == pytest.approx(h.amount)
        assert (t.units, t.price) == (h.units, h.price)


def test_a_reserve_fund_whose_lot_is_out_of_reach_is_never_held(market: MarketData) -> None:
    """The client holds the money-market ETF (so it ranks first), but one lot of it costs more
    than their reserve: another money-market fund holds the reserve, in whole hundreds."""
    held = [{"product_code": "511990", "market_value": 1_000}]
    client = make_client(risk_level="C3", aum=60_000, liquidity_need=3_000, holdings=held)
    plan = allocate(client, market, closes=CLOSES)
    assert plan.shelf.ranked["cash"][0] == "511990"
    assert "511990" not in plan.weights()
    assert [c for c in plan.weights() if market.products[c].tracks == "cash"]
    assert all(h.amount > 0 for h in plan.holdings)
