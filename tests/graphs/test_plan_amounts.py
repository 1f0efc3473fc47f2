"""The graph hands the allocation the last stored closes on or before the run's day: a plan buys
exchange-traded funds in whole lots at them, anything else in whole hundreds of yuan; and a
CN plan holding the firm's own fund says so in the text it checks."""

from __future__ import annotations

from factories import make_client
from outcomehelp import import_csv
from test_graph import row, start

from graphs.runner import Runner

CLOSES = {"510300": 4.12, "510500": 6.05, "518880": 5.48, "159934": 5.31, "159919": 4.10,
          "511260": 121.4, "511010": 103.2, "513500": 1.87, "513100": 1.52}  # fmt: skip
# 2026-11-26 is after the run's day (AS_OF, 2026-11-25): never used.
ROWS = "date,code,close\n" + "".join(
    f"2026-11-20,{code},{close}\n2026-11-26,{code},{close * 1.1:.4f}\n"
    for code, close in CLOSES.items()
)
CLIENT = {"risk_level": "C4", "goal": "growth", "holdings": []}


def test_exchange_traded_holdings_are_bought_in_lots_at_the_last_close(runner: Runner) -> None:
    import_csv(runner.engine, ROWS, runner.market.products)
    plan = row(runner, start(runner, make_client(**CLIENT)))["plan"]
    lots = [h for h in plan["holdings"] if h["rounding"] == "lots"]
    assert lots
    for h in plan["holdings"]:
        if h["product_code"] in CLOSES:
            assert h["rounding"] == "lots" and h["price"] == CLOSES[h["product_code"]]
            assert h["units"] % 100 == 0 and h["amount"] == round(h["units"] * h["price"], 2)
        else:
            assert h["rounding"] == "hundreds" and h["amount"] % 100 == 0
    buys = {t["product_code"]: t for t in plan["trades"]}
    for h in lots:
        assert (buys[h["product_code"]]["units"], buys[h["product_code"]]["price"]) == (
            h["units"],
            h["price"],
        )


def test_without_stored_closes_amounts_are_whole_hundreds(runner: Runner) -> None:
    plan = row(runner, start(runner, make_client(**CLIENT)))["plan"]
    assert {h["rounding"] for h in plan["holdings"]} == {"hundreds"}
    assert all(h["units"] is None and h["amount"] % 100 == 0 for h in plan["holdings"])


def test_a_cn_plan_with_the_firms_own_fund_carries_the_conflict_note(runner: Runner) -> None:
    state = row(runner, start(runner, make_client(**CLIENT)))
    held = {h["product_code"] for h in state["plan"]["holdings"]}
    assert "TW-MM-01" in held  # the cheapest money-market fund, under the neutral policy
    text = state["compliance"]["client_text"]
    assert "利益冲突提示" in text and "Tierwise 现金增利货币市场基金（TW-MM-01）" in text
    assert "CN-COI-01" not in {f["rule_id"] for f in state["compliance"]["findings"]}
