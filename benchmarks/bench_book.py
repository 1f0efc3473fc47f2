"""The book of issue 27, as a client would read it: a varied book through the real graph (SQLite,
offline model), every plan an advisor must sign approved, then each plan and delivered letter
counted against what a broker would send.

python benchmarks/bench_book.py [--clients N]

Prints: distinct plans (weights to 1%), plans holding two products on one index, zh letters with
an English sentence and en letters with Chinese, letters naming an internal id, letters missing a
holding's weight, clients who hold something without trades in their letter, and lessons given
to a client without the flag.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from factories import AS_OF, add_advisors, make_client  # noqa: E402

from core.database import session_scope  # noqa: E402
from core.services import approvals, deliveries, runs  # noqa: E402
from core.settings import Settings  # noqa: E402
from graphs.runner import Runner, open_runner  # noqa: E402
from tools.market.market_data import MarketData  # noqa: E402

LEVELS = ("C2", "C3", "C4", "C5")
GOALS = ("preservation", "income", "balanced", "growth", "aggressive_growth")
HORIZONS = (2, 6, 12)
AUMS = (180_000, 2_400_000)
ENGLISH_SENTENCE = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,]+[A-Za-z][A-Za-z'’-]*){3,}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
TRADE = re.compile(r"(?:卖出|买入|Sell|Buy)[^\n]*?\d[\d,]*\s*(?:元|CNY)")
INTERNAL = re.compile(r"\b(?:adv|sup)-[a-z0-9-]+\b|\[?TW-[A-Z]{2}-\d{4}-\d{2}\]?|1/N|offline-v1")
# Lines that may name what the checks look for: the AI disclosure names the model (REQ-05), and
# the signature names the advisor and their branch, proper names in either language.
NAMED = ("本方案由算法模型辅助生成", "This plan was prepared with the help of algorithms",
         "投资顾问：", "联系方式：", "Your advisor:", "Contact:")  # fmt: skip


def book(size: int) -> list[dict[str, Any]]:
    """`size` clients spread over level, goal, horizon, AUM, holdings and locale."""
    combos = list(itertools.product(LEVELS, GOALS, HORIZONS, AUMS, (True, False)))
    picked = [combos[i * len(combos) // size] for i in range(min(size, len(combos)))]
    out = []
    for i, (level, goal, horizon, aum, holds) in enumerate(picked):
        holdings = [{"product_code": "511260", "market_value": round(aum * 0.35)}] if holds else []
        out.append(
            {
                "client_id": f"C-B{i:03d}",
                "name": "李明" if i % 3 else "Alex Chen",
                "locale": "en" if i % 3 == 0 else "zh-CN",
                "risk_level": level,
                "goal": goal,
                "horizon_years": horizon,
                "aum": aum,
                "financial_assets": aum * 2,
                "liquidity_need": round(aum * 0.05),
                "max_drawdown_tolerance_pct": {"C2": 10, "C3": 15, "C4": 25, "C5": 35}[level],
                "holdings": holdings,
                "birth_year": 1960 + (i * 7) % 40,
                "advisor_id": "adv-li",
            }
        )
    return out


def run_book(runner: Runner, clients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each client through the graph; an advisor approves every plan that waits for one."""
    out = []
    for data in clients:
        client = make_client(**data)
        run = runner.execute(runner.create(client, as_of=AS_OF).id)
        if run.status == "awaiting_approval":
            with session_scope(runner.engine) as session:
                approval = approvals.latest_for_run(session, run.id)
                assert approval is not None
                approval_id, plan_hash = approval.id, approval.plan_hash
            decision = {"action": "approve", "plan_hash": plan_hash, "advisor": "adv-li"}
            run = runner.decide(approval_id, decision, on=AS_OF)
        with session_scope(runner.engine) as session:
            stored = runs.get(session, run.id)
            delivery = deliveries.get(session, run.id)
            out.append(
                {
                    "client": data,
                    "status": stored.status,
                    "plan": stored.plan or {},
                    "profile": stored.profile or {},
                    "text": delivery.text if delivery else None,
                }
            )
    return out


def _body(text: str) -> str:
    """The letter without the lines that must name the model, the advisor or their branch."""
    return "\n".join(line for line in text.splitlines() if not line.startswith(NAMED))


def _pairs(weights: dict[str, float], market: MarketData) -> bool:
    """Two held products that track one index (the shelf's `tracks`, where it has it)."""
    tracked = [getattr(market.products[c], "tracks", None) for c in weights if c in market.products]
    named = [t for t in tracked if t]
    if named:
        return len(named) != len(set(named))
    return {"518880", "159934"} <= set(weights) or {"510300", "159919"} <= set(weights)


def _weight_missing(text: str, plan: dict[str, Any], market: MarketData, locale: str) -> bool:
    """A holding whose weight the letter never gives beside its name or code."""
    for h in plan["holdings"]:
        code, pct = h["product_code"], f"{h['weight'] * 100:.1f}%"
        names = [code]
        if code in market.products:
            names.append(market.products[code].name(locale))
        if not any(n in text and pct in text[text.index(n) :][:80] for n in names):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=57)
    args = parser.parse_args()
    clients = book(args.clients)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'book.db'}"
        with open_runner(Settings(environment="test", database_url=url)) as runner:
            with session_scope(runner.engine) as session:
                add_advisors(session)
            results = run_book(runner, clients)
            market = runner.market
    statuses = Counter(r["status"] for r in results)
    delivered = [r for r in results if r["text"]]
    plans = [
        tuple(sorted((h["product_code"], round(h["weight"], 2)) for h in r["plan"]["holdings"]))
        for r in results
        if r["plan"]
    ]
    zh = [r for r in delivered if r["client"]["locale"] == "zh-CN"]
    en = [r for r in delivered if r["client"]["locale"] == "en"]

    def english_in(r: dict[str, Any]) -> bool:
        return bool(ENGLISH_SENTENCE.search(_body(r["text"]).replace(r["client"]["name"], "")))

    def chinese_in(r: dict[str, Any]) -> bool:
        return bool(CHINESE.search(_body(r["text"]).replace(r["client"]["name"], "")))

    holders = [r for r in delivered if r["client"]["holdings"]]
    no_trades = [r for r in holders if not TRADE.search(r["text"])]
    unflagged = [
        r
        for r in delivered
        if not r["profile"].get("behaviour_flags")
        and ("投资者教育" in r["text"] or "Investor education" in r["text"])
    ]
    n = len(results)
    print(f"clients {n}; statuses {dict(statuses)}")
    print(f"{'distinct plans (weights to 1%)':<52} {len(set(plans))}/{len(plans)}")
    pairs = sum(_pairs({h["product_code"]: h["weight"] for h in p}, market) for p in
                (r["plan"]["holdings"] for r in results if r["plan"]))  # fmt: skip
    print(f"{'plans holding two products on one index':<52} {pairs}/{len(plans)}")
    print(f"{'(below: outside the AI disclosure and the signature)':<52}")
    print(f"{'zh letters with an English sentence':<52} {sum(map(english_in, zh))}/{len(zh)}")
    print(f"{'en letters with Chinese text':<52} {sum(map(chinese_in, en))}/{len(en)}")
    ids = sum(bool(INTERNAL.search(_body(r["text"]))) for r in delivered)
    print(f"{'letters naming an internal id or 1/N':<52} {ids}/{len(delivered)}")
    missing = sum(
        _weight_missing(r["text"], r["plan"], market, r["client"]["locale"]) for r in delivered
    )
    print(f"{'letters missing a holding weight':<52} {missing}/{len(delivered)}")
    print(
        f"{'clients holding something, no trade in the letter':<52} {len(no_trades)}/{len(holders)}"
    )
    print(f"{'education given without a flag':<52} {len(unflagged)}/{len(delivered)}")


if __name__ == "__main__":
    main()
