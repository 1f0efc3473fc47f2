"""The letter the compliance agent composes: every holding with its weight and amount, the trades
from what the client holds, notes about the plan in the client's language, the answer in its own
section, no internal identifier, and the text the rules check is render_text of it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import AS_OF, make_client

from agents.allocation import allocate_portfolio
from agents.compliance import ComplianceReport, check_compliance
from agents.profiling import profile_client
from core.schemas.client import ClientInput
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from tools.compliance.evaluators.registry import REGISTRY
from tools.compliance.rulebook import shipped_rules
from tools.letter.compose import MAX_NOTES
from tools.letter.text import HEADINGS, money, percent, render_text
from tools.llm.offline import OfflineModel
from tools.llm.offline import letter as offline_letter
from tools.market.intent import parse_request
from tools.market.market_data import MarketData

RULES = shipped_rules()
CJK = re.compile(r"[\u3400-\u9fff]")
HOLDS = {"holdings": [{"product_code": "512480", "market_value": 100_000}]}
C4 = {"risk_level": "C4", "goal": "growth", "horizon_years": 8, "max_drawdown_tolerance_pct": 30}


def report(
    market: MarketData, request: str | None = None, **overrides: Any
) -> tuple[ClientInput, ComplianceReport]:
    client = make_client(**overrides)
    intent = parse_request(request, market) if request else None
    prof = profile_client(
        client, as_of=AS_OF, model=OfflineModel(), market=market, tiers=TierPolicy(),
        allocation=AllocationPolicy(), compliance=CompliancePolicy(), intent=intent,
    )  # fmt: skip
    plan = allocate_portfolio(
        prof, client.holdings, market=market, model=OfflineModel(), policy=AllocationPolicy(),
        constraints=[], intent=intent,
    )  # fmt: skip
    return client, check_compliance(
        prof, plan, client_name=client.name, intent=intent, market=market, model=OfflineModel(),
        fallback_model=OfflineModel(), policy=CompliancePolicy(), rules=RULES,
        evaluators=REGISTRY, current=client.holdings,
    )  # fmt: skip


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_holding_is_in_the_table_with_its_weight_and_amount(
    market: MarketData, locale: str
) -> None:
    _, r = report(market, locale=locale, **C4, **HOLDS)
    assert len(r.document.holdings) >= 4  # every holding, not the top four
    for line in r.document.holdings:
        assert line.amount > 0 and line.rounding == "hundreds"
        assert line.name == market.products[line.code].name(locale)
        shown = f"{percent(line.weight)}"
        assert any(
            line.code in row and shown in row and money(line.amount, locale) in row
            for row in r.client_text.splitlines()
        )
    rounded = "整百元" if locale == "zh-CN" else "whole hundreds of yuan"
    assert rounded in r.client_text
    assert r.client_text == render_text(r.document)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_client_who_holds_something_reads_the_trades(market: MarketData, locale: str) -> None:
    _, r = report(market, locale=locale, **C4, **HOLDS)
    sells = [t for t in r.document.trades if t.side == "sell"]
    assert [t.code for t in sells] == ["512480"] and 0 < sells[0].amount <= 100_000
    assert {t.code for t in r.document.trades if t.side == "buy"} == {
        h.code for h in r.document.holdings
    } - {"512480"}
    assert all(t.amount % 100 == 0 for t in r.document.trades if t.side == "buy")
    heading = HEADINGS["trades"][locale]
    assert re.search(rf"^\S+[、.] ?{heading}$", r.client_text, re.MULTILINE)
    side = "卖出" if locale == "zh-CN" else "Sell "
    assert f"{side}{market.products['512480'].name(locale)}" in r.client_text


def test_a_client_who_holds_nothing_gets_no_trades_section(market: MarketData) -> None:
    _, r = report(market, holdings=[])
    assert r.document.trades == [] and HEADINGS["trades"]["zh-CN"] not in r.client_text
    numbers = re.findall(r"^([一二三四五六七八九十])、", r.client_text, re.MULTILINE)
    assert numbers == list("一二三四五六七八九十")[: len(numbers)]  # no gap where trades were


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_notes_are_about_the_plan_by_title_and_publisher_in_the_clients_language(
    market: MarketData, locale: str
) -> None:
    _, r = report(market, locale=locale, **C4)
    notes = r.document.research
    assert 0 < len(notes) <= MAX_NOTES
    held = {h.code for h in r.document.holdings}
    classes = {market.products[c].asset_class for c in held}
    corpus = {n.title.in_(locale): n for n in market.corpus}
    for line in notes:
        note = corpus[line.title]
        assert set(note.products) & held or set(note.asset_classes) & classes
        assert line.publisher == note.publisher.in_(locale)
        assert line.summary == note.one_line(locale)
        assert note.id not in r.client_text
        # REQ-07's source line is the note's own line in the research section.
        source = (
            f"{line.title}（{line.publisher}，{line.as_of}）"
            if locale == "zh-CN"
            else f"{line.title} ({line.publisher}, {line.as_of})"
        )
        assert source in r.client_text
    assert "REQ-07" not in {f.rule_id for f in r.findings}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_letter_is_in_the_clients_language_only(market: MarketData, locale: str) -> None:
    request = "希望稳一点" if locale == "zh-CN" else "Safer, please."
    client, r = report(market, request, locale=locale)
    names = [client.name, *(n for p in market.shelf for n in (p.name_zh, p.name_en))]
    text = r.client_text
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    if locale == "en":
        assert not CJK.search(text)
    else:
        assert not re.search(r"[A-Za-z]+(?: [A-Za-z]+){3,}", text)
    assert r.document.answer and r.document.answer[0] in r.client_text
    assert "adv-" not in r.client_text and "1/N" not in r.client_text
    assert {f.rule_id for f in r.findings if f.verdict != "pass"} <= {"TW-REQ-01"}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_offline_opening_names_only_the_sections_the_letter_has(locale: str) -> None:
    data = {"risk_level": "C3", "goal": "balanced", "horizon_years": 5, "holdings": 4}
    bare = offline_letter({**data, "trades": False, "request": False, "research": False}, locale)
    full = offline_letter({**data, "trades": True, "request": True, "research": True}, locale)
    words = ["买卖", "要求", "相关研究"] if locale == "zh-CN" else ["trades", "request", "research"]
    assert all(w in full for w in words) and not any(w in bare for w in words)
    greeting = "尊敬的{client_name}：\n" if locale == "zh-CN" else "Dear {client_name},\n"
    assert bare.startswith(greeting)
