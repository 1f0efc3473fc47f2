"""A client's own request through the whole graph (DESIGN §2): the five cases of issue 14, and
what the advisor and the letter see."""

from __future__ import annotations

from typing import Any

import pytest
from factories import long_tail_client
from test_graph import decide, row, start

from graphs.runner import Runner
from tools.market.intent import lexicon_for, share_of
from tools.market.market_data import MarketData

ABOVE_LEVEL = [
    ("zh-CN", "我想把一半的钱买私募基金和行业ETF，收益高一点。", {"TW-PF-01", "512480"}),
    (
        "en",
        "I'd like to move most of my savings into the private equity fund and some tech "
        "sector ETFs.",
        {"TW-PF-01", "512480"},
    ),
    ("zh-CN", "能不能帮我买点黄金ETF？", {"518880", "159934"}),
]
UNSUITABLE = {"zh-CN": "不适合您", "en": "not suitable for you"}


def fired(state: dict[str, Any]) -> dict[str, str]:
    return {f["rule_id"]: f["verdict"] for f in state["compliance"]["findings"]}


@pytest.mark.parametrize(("locale", "request_text", "asked"), ABOVE_LEVEL)
def test_a_request_above_the_level_goes_to_an_advisor_with_the_warning(
    runner: Runner, locale: str, request_text: str, asked: set[str]
) -> None:
    client = long_tail_client(risk_level="C2", goal="income", locale=locale)
    run_id = start(runner, client, request_text)
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval"
    assert fired(state)["CN-MIS-06"] == "escalate"
    assert not asked & {h["product_code"] for h in state["plan"]["holdings"]}
    request = state["approval"]["request"]
    assert request["text"] == request_text
    routes = request["review"]["routes"]
    assert {r["route"] for r in routes} == {"above_level"}
    assert asked <= {code for r in routes for code in r["above"]}
    warnings = request["review"]["warnings"]
    assert warnings and all(
        "不适当警示" in w["zh-CN"] and "特别风险警示书" in w["zh-CN"] for w in warnings
    )
    # The letter tells the client it is unsuitable (不适当警示) and what happens if they insist.
    assert UNSUITABLE[locale] in state["compliance"]["client_text"]
    assert decide(runner, run_id)["status"] == "delivered"


def test_the_lowest_category_is_refused_with_the_reason_in_the_letter(runner: Runner) -> None:
    client = long_tail_client(risk_level="C1", lowest_category=True, goal="preservation")
    run_id = start(runner, client, "我想买沪深300ETF。")
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval"
    refusal = [f for f in state["compliance"]["findings"] if f["rule_id"] == "CN-MIS-05"]
    assert refusal and all(f["verdict"] == "escalate" for f in refusal)
    assert "request refused" in refusal[0]["evidence"]
    assert "CN-MIS-06" not in fired(state)  # refused, never a route to buy it
    assert "只能购买R1级产品，我们不能为您办理" in state["compliance"]["client_text"]
    assert {h["risk_rating"] for h in state["plan"]["holdings"]} == {"R1"}


def _shares(plan: dict[str, Any], market: MarketData) -> tuple[float, float]:
    weights = {h["product_code"]: h["weight"] for h in plan["holdings"]}
    lex = lexicon_for(market)
    return (
        share_of("theme", "bond", weights, market, lex),
        share_of("theme", "equity", weights, market, lex),
    )


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("zh-CN", "希望多配一些债券，少一点股票，稳一点。"),
        ("en", "More bonds and fewer stocks, please."),
    ],
)
def test_a_suitable_request_shapes_the_plan_and_is_delivered(
    runner: Runner, market: MarketData, locale: str, text: str
) -> None:
    plain = row(runner, start(runner, long_tail_client(risk_level="C3", locale=locale)))
    asked = row(runner, start(runner, long_tail_client(risk_level="C3", locale=locale), text))
    assert plain["status"] == asked["status"] == "delivered"
    step = runner.settings.allocation.request_step
    bond_before, equity_before = _shares(plain["plan"], market)
    bond_after, equity_after = _shares(asked["plan"], market)
    assert bond_after >= bond_before + 0.02
    assert equity_after <= equity_before - 0.02
    outcomes = {o["wish"]["target"]: o for o in asked["plan"]["request"]["wishes"]}
    assert outcomes["bond"]["done"] == outcomes["equity"]["done"] == "done"
    assert outcomes["bond"]["after"] >= outcomes["bond"]["before"] + step - 1e-3
    assert asked["plan"]["expected_volatility"] <= plain["plan"]["target_volatility"] + 1e-6
    # The letter answers the request with the plan's own figures.
    letter = asked["compliance"]["client_text"]
    header = "、关于您的要求\n" if locale == "zh-CN" else ". About your request\n"
    assert header in letter
    assert f"{outcomes['bond']['after'] * 100:.1f}%" in letter


def test_a_request_that_cannot_be_understood_goes_to_an_advisor(runner: Runner) -> None:
    run_id = start(runner, long_tail_client(risk_level="C3"), "我想买比特币")
    state = row(runner, run_id)
    assert state["status"] == "awaiting_approval"
    assert fired(state)["TW-REQ-01"] == "escalate"
    assert "未能准确理解" in state["compliance"]["client_text"]


def test_a_cash_need_in_the_request_raises_the_reserve(runner: Runner) -> None:
    plain = row(runner, start(runner, long_tail_client(risk_level="C3")))
    asked = row(runner, start(runner, long_tail_client(risk_level="C3"), "下个月要用10万"))

    def cash(state: dict[str, Any]) -> float:
        return sum(h["weight"] for h in state["plan"]["holdings"] if h["asset_class"] == "cash")

    assert cash(asked) >= 100_000 / 200_000 - 1e-4 > cash(plain)
    assert asked["status"] == "delivered"


def test_a_plan_never_serves_one_wish_against_another_and_says_why_cash_stays(
    runner: Runner, market: MarketData
) -> None:
    # Issue 26: a C3 client's 不要货币基金，不要债券，不要现金 was delivered with cash up from
    # 10% to 48.7% (the declined bonds replaced by the declined cash), marked "limits".
    client = long_tail_client(risk_level="C3")
    plain = row(runner, start(runner, client))
    asked = row(runner, start(runner, client, "不要货币基金，不要债券，不要现金"))

    def cash(state: dict[str, Any]) -> float:
        weights = {h["product_code"]: h["weight"] for h in state["plan"]["holdings"]}
        return share_of("theme", "cash", weights, market, lexicon_for(market))

    assert cash(asked) <= cash(plain) + 1e-3
    outcomes = {o["wish"]["target"]: o for o in asked["plan"]["request"]["wishes"]}
    assert (outcomes["cash"]["done"], outcomes["cash"]["reason"]) == ("not_done", "reserve")
    assert outcomes["bond"]["after"] <= outcomes["bond"]["before"] + 1e-3
    # The letter says why the cash stays; nothing went against a wish, so TW-REQ-04 is quiet.
    reserve = f"{outcomes['cash']['after'] * 100:.1f}%"
    letter = asked["compliance"]["client_text"]
    assert f"方案须保留{reserve}的随时可取用的现金类资产作为流动性储备" in letter
    assert "TW-REQ-04" not in fired(asked) and asked["status"] == "delivered"


def test_avoiding_a_product_leaves_it_out(runner: Runner) -> None:
    plain = row(runner, start(runner, long_tail_client(risk_level="C3")))
    held = [h["product_code"] for h in plain["plan"]["holdings"] if h["asset_class"] != "cash"]
    state = row(runner, start(runner, long_tail_client(risk_level="C3"), f"不要买{held[0]}"))
    assert state["status"] == "delivered"
    assert held[0] not in {h["product_code"] for h in state["plan"]["holdings"]}


def test_the_cli_runs_a_request_and_prints_its_routes(settings: Any, tmp_path: Any) -> None:
    import json

    from factories import client_data
    from test_durability import cli

    client_file = tmp_path / "client.json"
    data = client_data(client_id="C-CLI", aum=200_000, liquidity_need=20_000, risk_level="C2")
    client_file.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    out = cli(
        settings, "run", "--client", str(client_file), "--as-of", "2026-11-25",
        "--request", "能不能帮我买点黄金ETF？我的手机13912345678",
    )  # fmt: skip
    assert out["status"] == "awaiting_approval"
    assert "13912345678" not in json.dumps(out)
    assert out["request"]["routes"] == ["buy 159934: above_level", "buy 518880: above_level"]
    assert "CN-MIS-06" in out["rules"]


def test_a_cash_need_the_plan_cannot_cover_goes_to_an_advisor(runner: Runner) -> None:
    # 300,000 next month from 200,000 held: the reserve is capped at the assets, and short.
    state = row(runner, start(runner, long_tail_client(risk_level="C3"), "下个月要用30万"))
    assert state["status"] == "awaiting_approval"
    assert fired(state)["TW-REQ-03"] == "escalate"
    assert "少于您近期的用款需要" in state["compliance"]["client_text"]


def test_two_cash_needs_add_up(runner: Runner) -> None:
    state = row(
        runner,
        start(runner, long_tail_client(risk_level="C3"), "下个月要用5万，下个月还要付学费8万"),
    )
    cash = sum(h["weight"] for h in state["plan"]["holdings"] if h["asset_class"] == "cash")
    assert cash * 200_000 >= 130_000 - 1
    assert "TW-REQ-03" not in fired(state)


def test_a_run_profiled_before_requests_were_read_still_has_its_request_routed(
    runner: Runner,
) -> None:
    from types import SimpleNamespace

    from graphs.nodes import _intent

    deps: Any = SimpleNamespace(market=runner.market)
    old: Any = {"profile": {"client_id": "C-OLD"}, "request": "我想买512480"}
    intent = _intent(old, deps)
    assert intent is not None and intent.products() == ["512480"]


def test_the_runner_refuses_a_lexicon_that_does_not_fit_the_shelf(settings: Any) -> None:
    from dataclasses import replace

    from graphs.runner import Runner as RunnerClass
    from tools.compliance.evaluators.registry import REGISTRY
    from tools.compliance.rulebook import shipped_rules
    from tools.llm.offline import OfflineModel
    from tools.market.market_data import load_market

    market = load_market()
    without = replace(market, shelf=tuple(p for p in market.shelf if p.code != "513100"))
    with pytest.raises(ValueError, match="513100"):
        RunnerClass(
            settings=settings, engine=None, checkpointer=None, market=without,  # type: ignore[arg-type]
            rules=shipped_rules(), evaluators=REGISTRY, model_factory=OfflineModel,
        )  # fmt: skip
