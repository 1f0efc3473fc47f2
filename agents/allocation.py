"""Allocation agent: target weights over shelf products, optimised, with a recorded fallback."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Literal

import numpy as np

from agents.plan import build_plan
from agents.risk_target import risk_target
from core.schemas.client import Holding
from core.schemas.plan import Constraint, Fallback, Plan, seal
from core.schemas.profile import ClientProfile
from core.schemas.request import Done, Reason, RequestIntent, RequestShaping, Wish, WishOutcome
from core.settings import AllocationPolicy
from tools.llm.port import LanguageModel
from tools.market.eligibility import eligible_products
from tools.market.intent import Lexicon, exposure_vector, lexicon_for, share_of
from tools.market.look_alikes import Candidates, choose, doubled
from tools.market.market_data import MarketData
from tools.market.optimiser import (
    Infeasible,
    Problem,
    Solution,
    optimise,
    portfolio_performance,
    round_weights,
)
from tools.market.shelf import Product

MAX_REAIMS = 3
VOL_TOLERANCE = 1e-7
WEIGHT_DECIMALS = 4
UNIT = 10.0**-WEIGHT_DECIMALS  # the weights' rounding grid
SHARE_TOLERANCE = 1e-3  # weights are rounded to 4 decimals; a share within this is met
REQUEST = "REQUEST"  # the rule_id of a constraint that comes from the client's own request
Limit = Literal["product_cap", "class_cap", "reserve", "volatility"]
# The limits a wish can meet, in the order _binding names them when more than one would do.
LIMITS: tuple[Limit, ...] = ("product_cap", "class_cap", "reserve", "volatility")


@dataclass(frozen=True)
class Tilt:
    """A client's wish as bounds on a share of the plan: lower <= share <= upper. The wishes of
    one name that means several products (黄金ETF) are one tilt on their combined share."""

    wishes: tuple[Wish, ...]
    before: float
    lower: float
    upper: float

    def scaled(self, fraction: float) -> Tilt:
        """The tilt moved only `fraction` of the way from where the plan was."""
        lower = self.before + fraction * (self.lower - self.before) if self.lower > 0 else 0.0
        upper = self.before + fraction * (self.upper - self.before) if self.upper < 1 else 1.0
        return replace(self, lower=max(lower, 0.0), upper=min(upper, 1.0))


def desired_volatility(
    profile: ClientProfile, policy: AllocationPolicy, constraints: list[Constraint] | None = None
) -> float:
    """The volatility the plan aims at: placed in the level's band by need and capacity, then
    lowered (never raised) by drawdown tolerance, the notes and any volatility a compliance
    finding asked for (TW-VOL-01); agents/risk_target.py writes the formula out."""
    return risk_target(profile, policy, constraints).target


def _caps(
    products: list[Product], policy: AllocationPolicy, constraints: list[Constraint]
) -> np.ndarray:
    caps = []
    for p in products:
        cap = policy.max_single_product
        if not p.diversified:
            cap = min(cap, policy.max_single_non_diversified)
        for c in constraints:
            if c.kind == "cap" and c.product_code == p.code and c.value is not None:
                cap = min(cap, c.value)
        caps.append(cap)
    return np.array(caps)


def _class_caps(active: list[Product], caps: dict[str, float]) -> dict[str, float]:
    """The level's asset-class caps, each less a rounding unit per member: rounding lifts a
    weight by at most one unit, so the rounded plan stays within the cap (as the product caps,
    less half a unit, do)."""
    members = {name: sum(p.asset_class == name for p in active) for name in caps}
    return {name: max(cap - members[name] * UNIT, 0.0) for name, cap in caps.items()}


def _reserve_share(
    profile: ClientProfile, constraints: list[Constraint], minimum: float = 0.0
) -> float:
    """The reserve share, rounded up to the weight precision so rounding never falls short; a
    reserve there is is held at least at the minimum position, so it is never a sliver."""
    asked = [c.value for c in constraints if c.kind == "min_reserve" and c.value is not None]
    share = max([profile.liquidity_reserve_share, *asked])
    if share > 0:
        share = max(share, minimum)
    scale = 10.0**WEIGHT_DECIMALS
    return min(math.ceil(share * scale - 1e-6) / scale, 1.0)


def _top_up_reserve(weights: np.ndarray, problem: Problem) -> np.ndarray:
    """Move any rounding shortfall of the reserve from the largest other weight to the reserve."""
    short = round(problem.reserve_share - float(weights @ problem.reserve_mask), WEIGHT_DECIMALS)
    if short <= 0:
        return weights
    out = weights.copy()
    out[int(np.argmax(weights * (1 - problem.reserve_mask)))] -= short
    out[int(np.argmax(weights * problem.reserve_mask))] += short
    return np.round(out, WEIGHT_DECIMALS)


def _within_caps(weights: np.ndarray, problem: Problem) -> np.ndarray:
    """Move any rounding excess over a product's or an asset class's cap (a unit of 1e-4 or
    two) to the reserve product with the most room: rounding never breaks a cap."""
    out = weights.copy()
    groups = [[i for i, g in enumerate(problem.groups) if g == name] for name in problem.group_caps]
    caps = [problem.group_caps[name] for name in problem.group_caps]
    limits = [([i], float(problem.upper[i])) for i in range(len(out))]
    for members, cap in [*limits, *zip(groups, caps, strict=True)]:
        over = round(float(out[members].sum()) - cap, WEIGHT_DECIMALS)
        if over <= 0 or not members:
            continue
        room = (problem.upper - out) * problem.reserve_mask
        room[members] = 0.0
        if room.max() < over:
            continue  # nowhere to put it: the re-aim below sees the plan as it is
        out[max(members, key=lambda i: out[i])] -= over
        out[int(np.argmax(room))] += over
    return np.round(out, WEIGHT_DECIMALS)


def _current_weights(products: list[Product], holdings: list[Holding], aum: float) -> np.ndarray:
    held: dict[str, float] = {}
    for h in holdings:
        held[h.product_code] = held.get(h.product_code, 0.0) + h.market_value
    return np.array([held.get(p.code, 0.0) / aum if aum else 0.0 for p in products])


@dataclass(frozen=True)
class Solve:
    """What every optimisation of one allocation shares: the candidates, the client, the rules."""

    products: list[Product]
    profile: ClientProfile
    holdings: list[Holding]
    market: MarketData
    policy: AllocationPolicy
    constraints: list[Constraint]
    closes: Mapping[str, float] = field(default_factory=dict)
    spares: tuple[tuple[Product, ...], ...] = ()  # look-alikes, tier by tier (see _admit)

    def __call__(
        self, target: float, tilts: tuple[Tilt, ...] = ()
    ) -> tuple[dict[str, float], Solution]:
        return _admit(self, target, tilts)

    def over(
        self, products: list[Product], target: float, tilts: tuple[Tilt, ...]
    ) -> tuple[dict[str, float], Solution]:
        """One optimisation over exactly these products."""
        return _optimise_products(
            products, self.profile, self.holdings, self.market, self.policy,
            self.constraints, target, tilts, self.closes,
        )  # fmt: skip

    def relaxed(self, limit: Limit) -> Solve:
        """The same optimisation without one of the plan's limits (the volatility the plan aims
        under is relaxed where it is checked: _binding)."""
        if limit == "product_cap":
            policy = self.policy.model_copy(
                update={"max_single_product": 1.0, "max_single_non_diversified": 1.0}
            )
            kept = [c for c in self.constraints if c.kind != "cap"]
            return replace(self, policy=policy, constraints=kept)
        if limit == "class_cap":
            caps: dict[str, dict[str, float]] = {lv: {} for lv in self.policy.asset_class_caps}
            return replace(self, policy=self.policy.model_copy(update={"asset_class_caps": caps}))
        if limit == "reserve":
            profile = self.profile.model_copy(update={"liquidity_reserve_share": 0.0})
            kept = [c for c in self.constraints if c.kind != "min_reserve"]
            return replace(self, profile=profile, constraints=kept)
        return self


def request_exclusions(intent: RequestIntent | None) -> list[Constraint]:
    """A product the client asked to avoid or sell is left out of the plan."""
    if intent is None:
        return []
    return [
        Constraint(kind="exclude", product_code=w.target, rule_id=REQUEST)
        for w in intent.wishes
        if w.sure and w.kind == "product" and w.direction in ("avoid", "sell")
    ]


def smallest_purchase(product: Product, closes: Mapping[str, float]) -> float:
    """The least a client can buy of a product: its minimum investment, or one lot of 100 units
    at the last stored close for an exchange-traded product, whichever is more."""
    lot = 100 * closes[product.code] if product.exchange_traded and product.code in closes else 0
    return max(product.min_investment, lot)


def _named_or_held(holdings: list[Holding], intent: RequestIntent | None) -> set[str]:
    """Products the client holds today or asked, for sure, to buy or hold more of."""
    named = {
        w.target
        for w in (intent.wishes if intent else [])
        if w.sure and w.kind == "product" and w.up
    }
    return named | {h.product_code for h in holdings}


def _candidates(
    profile: ClientProfile,
    market: MarketData,
    constraints: list[Constraint],
    policy: AllocationPolicy,
    closes: Mapping[str, float] | None = None,
    first: set[str] | None = None,
) -> Candidates:
    """The eligible products the client can afford, one per tracked index (look_alikes.choose):
    the optimiser never splits one exposure across look-alikes; the others wait as spares."""
    excluded = {c.product_code for c in constraints if c.kind == "exclude"}
    budget = profile.aum * policy.max_single_product
    affordable = [
        p
        for p in eligible_products(profile, market)
        if p.code not in excluded
        and (smallest_purchase(p, closes or {}) <= max(budget, 1.0) or p.asset_class == "cash")
    ]
    return choose(affordable, policy.house_products, first or set())


def _reserve_only(products: list[Product]) -> dict[str, float]:
    """The last resort: money-market products the client may hold, spread evenly; else nothing."""
    cash = [p for p in products if p.liquidity_reserve_eligible]
    return {p.code: 1.0 / len(cash) for p in cash}


def _problem(
    active: list[Product],
    profile: ClientProfile,
    holdings: list[Holding],
    market: MarketData,
    policy: AllocationPolicy,
    constraints: list[Constraint],
    tilts: tuple[Tilt, ...] = (),
    minimum: float = 0.0,
) -> Problem:
    mu, cov = market.product_returns_and_covariance([p.code for p in active])
    lex = lexicon_for(market) if tilts else None
    return Problem(
        mu=mu,
        cov=cov,
        upper=np.clip(_caps(active, policy, constraints) - UNIT / 2, 0.0, None),
        reserve_mask=np.array([1.0 if p.liquidity_reserve_eligible else 0.0 for p in active]),
        reserve_share=_reserve_share(profile, constraints, minimum),
        groups=[p.asset_class for p in active],
        group_caps=_class_caps(active, policy.asset_class_caps[profile.risk_level]),
        current=_current_weights(active, holdings, profile.aum),
        cost=policy.transaction_cost,
        tilts=[(_vector(t.wishes, active, lex), t.lower, t.upper) for t in tilts if lex],
    )


def _solve_rounded(problem: Problem, target: float) -> tuple[np.ndarray, Solution]:
    """Solve and round; if rounding lifted volatility above the target, aim lower: by the
    excess, then ten and a hundred times it (a step smaller than the 1e-4 grid's can land on
    the same rounded plan again)."""
    first = solution = optimise(problem, target)
    aim = target
    for attempt in range(MAX_REAIMS + 1):  # the last re-aim's weights are checked too
        rounded = round_weights(solution.weights, WEIGHT_DECIMALS)
        weights = _within_caps(_top_up_reserve(rounded, problem), problem)
        vol = portfolio_performance(weights, problem.mu, problem.cov)[1]
        excess = vol - first.target_volatility
        if excess <= VOL_TOLERANCE or solution.method == "min_volatility" or attempt == MAX_REAIMS:
            break
        aim = min(aim, solution.target_volatility) - (excess + VOL_TOLERANCE) * 10**attempt
        solution = optimise(problem, aim)
    return weights, replace(solution, target_volatility=first.target_volatility)


def _optimise_products(
    products: list[Product],
    profile: ClientProfile,
    holdings: list[Holding],
    market: MarketData,
    policy: AllocationPolicy,
    constraints: list[Constraint],
    target: float,
    tilts: tuple[Tilt, ...] = (),
    closes: Mapping[str, float] | None = None,
) -> tuple[dict[str, float], Solution]:
    """Optimise without positions below the minimum; then, while the plan holds more products
    than its AUM band allows, without its smallest position (the next smallest if that leaves
    no plan), solving again each time."""
    fit = _Fit(profile, holdings, market, policy, constraints, target, tilts, closes or {})
    active, weights, solution = fit(list(products))
    limit = policy.product_limit(profile.aum)
    while len(weights) > limit:
        for code in sorted(weights, key=lambda c: (weights[c], c)):
            try:
                active, weights, solution = fit([p for p in active if p.code != code])
                break
            except Infeasible:
                continue
        else:
            raise Infeasible(f"no plan of at most {limit} products meets the constraints")
    return weights, solution


@dataclass(frozen=True)
class _Fit:
    """One optimisation over a set of products, without the positions too small to hold."""

    profile: ClientProfile
    holdings: list[Holding]
    market: MarketData
    policy: AllocationPolicy
    constraints: list[Constraint]
    target: float
    tilts: tuple[Tilt, ...]
    closes: Mapping[str, float]

    def __call__(self, products: list[Product]) -> tuple[list[Product], dict[str, float], Solution]:
        """Solve; drop every position below the smallest purchase, or below the minimum weight
        (but the largest reserve holding, which takes the reserve once the others go); again."""
        active, aum, floor = list(products), self.profile.aum, self.policy.min_weight
        while active:
            problem = _problem(
                active, self.profile, self.holdings, self.market, self.policy,
                self.constraints, self.tilts, floor,
            )  # fmt: skip
            weights, solution = _solve_rounded(problem, self.target)
            held = {p.code: (p, float(w)) for p, w in zip(active, weights, strict=True) if w > 0}
            keep = _largest_reserve(held) if problem.reserve_share > 0 else None
            too_small = {
                code
                for code, (p, w) in held.items()
                if (w < floor and code != keep) or w * aum < smallest_purchase(p, self.closes)
            }
            if not too_small:
                return active, {c: w for c, (_, w) in held.items()}, solution
            active = [p for p in active if p.code not in too_small]
        raise Infeasible("no eligible product meets the constraints")


def _largest_reserve(held: dict[str, tuple[Product, float]]) -> str | None:
    reserve = [(w, c) for c, (p, w) in held.items() if p.liquidity_reserve_eligible]
    return max(reserve)[1] if reserve else None


def _meets(found: tuple[dict[str, float], Solution] | None, target: float) -> bool:
    """A plan that reaches its target: solved, and the least volatile plan not above it."""
    return (
        found is not None
        and not found[1].fallback_reason
        and found[1].min_volatility <= target + VOL_TOLERANCE
    )


def _admit(
    solve: Solve, target: float, tilts: tuple[Tilt, ...]
) -> tuple[dict[str, float], Solution]:
    """The plan over one product per tracked index. Only if no plan over them is feasible and
    reaches the target (a single product's cap leaves no room: a reserve above it, a level
    that needs more cash than one fund may hold), the second best of each index is admitted
    too, then the third; afterwards every admitted look-alike the plan does not need is let
    go again, so one exposure is split only where one product cannot hold it."""
    active, tiers = list(solve.products), list(solve.spares)
    found: tuple[dict[str, float], Solution] | None = None
    while True:
        try:
            found = solve.over(active, target, tilts)
        except Infeasible:
            if not tiers:
                raise
        if _meets(found, target) or not tiers:
            break
        active += tiers.pop(0)
    assert found is not None  # the loop leaves with a plan, or raises
    chosen = {p.code for p in solve.products}
    for spare in [p for p in active if p.code not in chosen]:
        trial = [p for p in active if p is not spare]
        if spare.code not in found[0]:
            active = trial
            continue
        try:
            without = solve.over(trial, target, tilts)
        except Infeasible:
            continue
        if _meets(without, target) or not _meets(found, target):
            found, active = without, trial
    return found


def _vector(wishes: tuple[Wish, ...], products: list[Product], lex: Lexicon) -> np.ndarray:
    return sum(
        (exposure_vector(w.kind, w.target, products, lex) for w in wishes),
        np.zeros(len(products)),
    )


def _means(wish: Wish, product: Product, lex: Lexicon) -> bool:
    """The product is the one named, or one of the theme's own (not only exposed to it)."""
    if wish.kind == "product":
        return product.code == wish.target
    return lex.themes[wish.target].holds(product)


def _share(wishes: tuple[Wish, ...], weights: dict[str, float], market: MarketData) -> float:
    lex = lexicon_for(market)
    return sum(share_of(w.kind, w.target, weights, market, lex) for w in wishes)


def _groups(intent: RequestIntent) -> list[tuple[Wish, ...]]:
    """The wishes to shape, in the client's order; a product name's wishes grouped."""
    groups: dict[tuple[str, ...], list[Wish]] = {}
    for w in intent.wishes:
        if not w.sure:
            continue  # a person confirms it first: it shapes nothing (see _asks)
        if w.kind == "product" and w.direction in ("avoid", "sell"):
            continue  # left out of the candidates: see request_exclusions
        key = (w.direction, w.term, w.phrase) if w.kind == "product" else w.key
        groups.setdefault(key, []).append(w)
    return [tuple(g) for g in groups.values()]


def _asks(
    intent: RequestIntent, weights: dict[str, float], solve: Solve
) -> tuple[list[Tilt], list[WishOutcome]]:
    """Each wish the candidates can serve as a tilt; the others as outcomes not done, and why."""
    products, profile, market, policy = solve.products, solve.profile, solve.market, solve.policy
    lex = lexicon_for(market)
    tilts: list[Tilt] = []
    skipped = [
        WishOutcome(wish=w, done="not_done", reason="unconfirmed")
        for w in intent.wishes
        if not w.sure
    ]
    step = policy.request_step
    for group in _groups(intent):
        first, before = group[0], _share(group, weights, market)
        if first.up and not any(_means(w, p, lex) for w in group for p in products):
            # No candidate is what the wish names: not eligible (the rules route it), or kept
            # out by its minimum investment or a constraint.
            eligible = eligible_products(profile, market)
            held_back = any(_means(w, p, lex) for w in group for p in eligible)
            skipped += [
                WishOutcome(wish=w, done="not_done", before=round(before, 4),
                            after=round(before, 4),
                            reason="minimum" if held_back else "not_eligible")
                for w in group
            ]  # fmt: skip
            continue
        if first.up:
            share = sum(w.share or 0.0 for w in group)
            amount = sum(w.amount or 0.0 for w in group)
            asked = share or (amount / profile.aum if amount and profile.aum else 0.0)
            lower = max(min(asked, 1.0), before) if asked else before + step
            tilts.append(Tilt(group, before, lower, 1.0))
        elif first.direction == "less":
            level = sum(w.share or 0.0 for w in group)  # 减少到20%: a level, else a step down
            upper = min(level, before) if level else max(before - step, 0.0)  # never a rise
            tilts.append(Tilt(group, before, 0.0, upper))
        else:
            tilts.append(Tilt(group, before, 0.0, 0.0))
    return tilts, skipped


def _hold(tilt: Tilt) -> Tilt:
    """The wish kept from going backwards: its share no lower (more, buy) or no higher (less,
    avoid) than the plan without the request gives it."""
    if tilt.wishes[0].up:
        return replace(tilt, lower=tilt.before, upper=1.0)
    return replace(tilt, lower=0.0, upper=tilt.before)


def _in_reserve(tilt: Tilt, after: float, weights: dict[str, float], solve: Solve) -> bool:
    """A wish for less cash held back by the liquidity reserve: what is left of its share is
    in reserve products, and no more than the reserve the plan must keep."""
    market = solve.market
    reserve_share = _reserve_share(solve.profile, solve.constraints, solve.policy.min_weight)
    if tilt.wishes[0].up or after > reserve_share + SHARE_TOLERANCE:
        return False
    reserve = {c: w for c, w in weights.items() if market.products[c].liquidity_reserve_eligible}
    return _share(tilt.wishes, reserve, market) >= after - SHARE_TOLERANCE


def _passes(
    solve: Solve, relaxed: tuple[Limit, ...], aim: float, ceiling: float, trial: tuple[Tilt, ...]
) -> bool:
    """Whether the trial can be met with these limits relaxed."""
    loose = solve
    for name in relaxed:
        loose = loose.relaxed(name)
    free = "volatility" in relaxed
    found = _try(loose, math.inf if free else aim, math.inf if free else ceiling, trial)
    return found is not None


def _binding(
    solve: Solve, aim: float, ceiling: float, trial: tuple[Tilt, ...], tilt: Tilt
) -> Reason:
    """The limit that kept `tilt` (the trial's wish) from being met in full: the one whose
    relaxation alone lets it through; else, of two that do together, the one that alone lets
    half of it through (the one that bound first), the earlier in LIMITS' order on a tie;
    `limits` when no two do. A wish for less is never said to be held by the reserve here:
    _in_reserve says that, with the reserve's figure."""
    names = [n for n in LIMITS if tilt.wishes[0].up or n != "reserve"]
    for name in names:
        if _passes(solve, (name,), aim, ceiling, trial):
            return name
    half = tuple(t.scaled(0.5) if t is tilt else t for t in trial)
    for pair in combinations(names, 2):
        if _passes(solve, pair, aim, ceiling, trial):
            first, second = pair
            if _passes(solve, (second,), aim, ceiling, half) and not _passes(
                solve, (first,), aim, ceiling, half
            ):
                return second
            return first
    return "limits"


def _outcome(
    tilt: Tilt, fraction: float, weights: dict[str, float], solve: Solve, bound: Reason
) -> list[WishOutcome]:
    """Done if the full wish holds in the plan; partly if the plan moved its way; else not,
    and why: the liquidity reserve the plan keeps, or the limit that bound (_binding)."""
    after = _share(tilt.wishes, weights, solve.market)
    if tilt.wishes[0].up:
        moved = after > tilt.before + SHARE_TOLERANCE
    else:
        moved = after < tilt.before - SHARE_TOLERANCE
    met = tilt.lower - SHARE_TOLERANCE <= after <= tilt.upper + SHARE_TOLERANCE
    done: Done
    reason: Reason | None
    if fraction == 1.0 and met:
        done, reason = "done", None if moved else "already"
    else:
        done = "partly" if moved else "not_done"
        reason = "reserve" if _in_reserve(tilt, after, weights, solve) else bound
    return [
        WishOutcome(wish=w, done=done, before=round(tilt.before, 4), after=round(after, 4),
                    reason=reason)
        for w in tilt.wishes
    ]  # fmt: skip


def _shape(
    intent: RequestIntent,
    solve: Solve,
    target: float,
    baseline: tuple[dict[str, float], Solution],
) -> tuple[dict[str, float], Solution, RequestShaping]:
    """The plan with the client's wishes as tilts, each as far as the level's limits allow.

    Tilts are tried in the order the client gave them: in full, then half way, else not at all.
    A tilt is kept only if the plan still stays at or below the volatility the plan without the
    request was aimed at, so a wish can never take the plan above the client's level. Every
    trial holds each other wish where the plan without the request has it, or better, so that
    serving one wish never moves the plan against another (不要债券 filled with the cash the
    client also declined); one that cannot be served at all is held there too.
    """
    market = solve.market
    weights, solution = baseline
    vol_before = _vol(weights, market)
    aim = target
    if intent.risk == "lower":
        aim = max(min(target, vol_before) * (1 - solve.policy.request_risk_cut), 1e-6)
    tilts, outcomes = _asks(intent, weights, solve)
    holds = [_hold(t) for t in tilts]
    accepted: list[Tilt] = []
    fractions: list[float] = []
    bounds: list[Reason] = []
    if aim < target:
        safer = _try(solve, aim, target, tuple(holds))
        weights, solution = safer or (weights, solution)
    for i, tilt in enumerate(tilts):
        bounds.append("limits")  # a wish met in full, but not after rounding: no one limit
        for fraction in (1.0, 0.5):
            trial = (*accepted, tilt.scaled(fraction), *holds[i + 1 :])
            found = _try(solve, aim, target, trial)
            if found is not None:
                accepted.append(tilt.scaled(fraction))
                fractions.append(fraction)
                weights, solution = found
                break
            if fraction == 1.0:
                bounds[-1] = _binding(solve, aim, target, trial, trial[len(accepted)])
        else:
            accepted.append(holds[i])
            fractions.append(0.0)
    outcomes = [
        *(
            o
            for t, f, b in zip(tilts, fractions, bounds, strict=True)
            for o in _outcome(t, f, weights, solve, b)
        ),
        *outcomes,
    ]
    vol_after = _vol(weights, market)
    risk: Done | None = None
    if intent.risk == "lower":
        risk = "done" if vol_after < vol_before - 1e-4 else "not_done"
    elif intent.risk == "higher":
        risk = "not_done"  # the level and goal set the ceiling; a wish never lifts it
    shaping = RequestShaping(
        wishes=outcomes,
        volatility_before=round(vol_before, 6),
        volatility_after=round(vol_after, 6),
        risk=risk,
    )
    return weights, solution, shaping


def _vol(weights: dict[str, float], market: MarketData) -> float:
    codes = list(weights)
    mu, cov = market.product_returns_and_covariance(codes)
    return portfolio_performance(np.array([weights[c] for c in codes]), mu, cov)[1]


def _try(
    solve: Solve, aim: float, ceiling: float, tilts: tuple[Tilt, ...]
) -> tuple[dict[str, float], Solution] | None:
    """The plan under these tilts, or None if they cannot be met within the ceiling. Rounding
    can lift a tilted plan a hair above the ceiling: it is aimed lower by that much, a few times."""
    for _ in range(MAX_REAIMS):
        try:
            weights, solution = solve(aim, tilts)
        except Infeasible:
            return None
        if solution.fallback_reason:
            return None
        excess = _vol(weights, solve.market) - ceiling
        if excess <= VOL_TOLERANCE:
            return weights, solution
        aim -= excess + VOL_TOLERANCE
    return None


def allocate_portfolio(
    profile: ClientProfile,
    holdings: list[Holding],
    *,
    market: MarketData,
    model: LanguageModel,
    policy: AllocationPolicy,
    constraints: list[Constraint],
    offline: LanguageModel | None = None,
    intent: RequestIntent | None = None,
    closes: Mapping[str, float] | None = None,
) -> Plan:
    """Build the target portfolio for the profile; infeasible problems fall back and say so.

    A client's request (its suitable wishes) tilts the plan within the same limits; products
    they asked to avoid or sell are left out. One product per tracked index, unless no plan
    exists without a second (then `Plan.doubled` says why). `closes` are the last stored closes
    on or before the run's day: exchange-traded products are bought in lots of 100 at them."""
    closes = closes or {}
    candidates = _candidates(
        profile, market, [*constraints, *request_exclusions(intent)], policy, closes,
        _named_or_held(holdings, intent),
    )  # fmt: skip
    aimed = risk_target(profile, policy, constraints)
    target = aimed.target
    fallback = None
    shaping = None
    method: str  # the optimiser's method, or reserve_only when it has none
    spares = tuple(tuple(tier) for tier in candidates.spares)
    try:
        solve = Solve(
            candidates.chosen, profile, holdings, market, policy, constraints, closes, spares
        )
        weights, solution = solve(target)
        reach = solution.max_return_volatility
        if not solution.fallback_reason and reach < aimed.band[1] - VOL_TOLERANCE:
            # The shelf and caps stop below the level's ceiling: place the client in the part
            # of the band they can reach, so clients spread over it instead of piling up at its
            # top (issue 27: most C2 and C5 plans were one plan each).
            aimed = risk_target(profile, policy, constraints, reach=reach)
            if aimed.target != target:
                target = aimed.target
                weights, solution = solve(target)
        if intent is not None and (intent.wishes or intent.risk):
            weights, solution, shaping = _shape(intent, solve, target, (weights, solution))
        method, target_used = solution.method, solution.target_volatility
        span = (solution.min_volatility, solution.max_return_volatility)
        if solution.fallback_reason:
            fallback = Fallback(reason=solution.fallback_reason, method="min_volatility")
        every = [*candidates.chosen, *(p for tier in spares for p in tier)]
        found = doubled(weights, market.products, _cap_map(every, policy, constraints))
    except Infeasible as exc:
        weights = _reserve_only([*candidates.chosen, *(p for tier in spares for p in tier)])
        method, target_used, span = "reserve_only", 0.0, (0.0, 0.0)
        fallback = Fallback(reason=str(exc), method="reserve_only")
        found = [
            d.model_copy(update={"reason": "reserve_only"})
            for d in doubled(weights, market.products, {c: 1.0 for c in weights})
        ]
    plan = build_plan(
        weights,
        profile,
        holdings,
        market=market,
        model=model,
        policy=policy,
        method=method,
        target=target_used,
        span=span,
        fallback=fallback,
        offline=offline,
        constraints=constraints,
        request=shaping,
        closes=closes,
        shelf=candidates.choice,
        doubled=found,
    )
    # The shelf and the caps allow no plan as volatile as the target: the plan says so.
    limited = method != "reserve_only" and (
        aimed.reach is not None or span[1] < target - VOL_TOLERANCE
    )
    recorded = aimed.model_copy(update={"shelf_limited": limited})
    return seal(plan.model_copy(update={"risk_target": recorded}))


def _cap_map(
    products: list[Product], policy: AllocationPolicy, constraints: list[Constraint]
) -> dict[str, float]:
    caps = _caps(products, policy, constraints)
    return {p.code: float(c) for p, c in zip(products, caps, strict=True)}
