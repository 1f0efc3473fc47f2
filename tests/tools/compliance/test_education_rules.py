"""TW-EDU-01 at its edges: the weight grid, several concentrated holdings, a plan that sells
the holding, and a profile stored before flags carried their measurements."""

from __future__ import annotations

from compliance_helpers import client, context, fill, plan, profile_of

from core.schemas.profile import BehaviourFlag
from tools.compliance.engine import Hit, RuleContext
from tools.compliance.evaluators.education import concentration_raised
from tools.market.market_data import MarketData

TWO = {  # of 850,000: 510300 35.29%, 511260 41.18%
    "holdings": [
        {"product_code": "510300", "market_value": 300_000},
        {"product_code": "511260", "market_value": 350_000},
    ]
}


def ctx(market: MarketData, weights: dict[str, float]) -> RuleContext:
    prof = profile_of(client(**TWO), market)
    return context(prof, plan(weights, prof, market), market, letter="")


def caps(hits: list[Hit]) -> dict[str | None, float | None]:
    return {h.remedy.product_code: h.remedy.value for h in hits if h.remedy is not None}


def test_a_weight_within_one_grid_step_of_todays_share_is_not_raised(market: MarketData) -> None:
    at = {"510300": 0.353, "511260": 0.4118, "TW-MM-01": 0.2352}
    assert concentration_raised(ctx(market, at), "TW-EDU-01") == []
    up = {"510300": 0.3531, "511260": 0.4118, "TW-MM-01": 0.2351}
    assert caps(concentration_raised(ctx(market, up), "TW-EDU-01")) == {"510300": 0.3529}


def test_every_concentrated_holding_the_plan_raises_gets_its_own_cap(market: MarketData) -> None:
    raised = concentration_raised(ctx(market, {"510300": 0.4, "511260": 0.5, "TW-MM-01": 0.1}), "x")
    assert caps(raised) == {"510300": 0.3529, "511260": 0.4117}
    assert "510300: the lesson cites 35.3% of assets; the plan holds 40.0%" in [
        h.evidence for h in raised
    ]


def test_a_plan_that_sells_the_holding_does_not_contradict_the_lesson(market: MarketData) -> None:
    assert concentration_raised(ctx(market, fill({})), "TW-EDU-01") == []


def test_a_flag_without_measurements_is_not_read_as_a_share(market: MarketData) -> None:
    c = ctx(market, {"510300": 0.4, "511260": 0.5, "TW-MM-01": 0.1})
    old = [BehaviourFlag(flag="concentration", evidence="510300 is 35% of assets")]
    stored = c.profile.model_copy(update={"behaviour_flags": old})
    assert concentration_raised(RuleContext(**{**c.__dict__, "profile": stored}), "x") == []
