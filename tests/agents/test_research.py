"""Tests for the research agent: every item traceable, nothing above the client's level."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from factories import AS_OF, make_client

from agents.profiling import profile_client
from agents.research import ResearchBrief, research_products
from core.schemas.profile import ClientProfile
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from tools.llm.offline import OfflineModel
from tools.llm.port import LanguageModel
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData
from tools.market.shelf import Access

LEVELS = [
    pytest.param({"risk_level": "C1", "lowest_category": True}, id="C1-lowest"),
    *[pytest.param({"risk_level": f"C{n}"}, id=f"C{n}") for n in range(1, 6)],
    pytest.param({"risk_level": "C5", "financial_assets": 9_000_000}, id="C5-qualified"),
    pytest.param({"risk_level": "C4", "locale": "en", "horizon_years": 0.2}, id="C4-en-short"),
]


def profile(market: MarketData, **overrides: Any) -> ClientProfile:
    return profile_client(
        make_client(**overrides),
        as_of=AS_OF,
        model=OfflineModel(),
        market=market,
        tiers=TierPolicy(),
        allocation=AllocationPolicy(),
        compliance=CompliancePolicy(),
    )


def brief(
    p: ClientProfile, market: MarketData, model: LanguageModel | None = None
) -> ResearchBrief:
    return research_products(p, market=market, model=model or OfflineModel())


def max_rank(p: ClientProfile) -> int:
    return 1 if p.lowest_category else p.level_rank


@pytest.mark.parametrize("overrides", LEVELS)
def test_every_item_is_a_corpus_note_with_its_source(
    market: MarketData, overrides: dict[str, Any]
) -> None:
    corpus = {n.id: n for n in market.corpus}
    prof = profile(market, **overrides)
    result = brief(prof, market)
    assert result.items
    for item in result.items:
        note = corpus[item.source_id]
        assert (item.publisher, item.as_of, item.title) == (
            note.publisher.in_(prof.locale),
            note.as_of,
            note.title.in_(prof.locale),
        )
        assert item.publisher and item.summary == note.summary.in_(prof.locale)


CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_note_exists_in_both_languages_and_a_client_reads_theirs(
    market: MarketData, locale: str
) -> None:
    """A note's publisher, title and summary in zh-CN are Chinese and in en carry no Chinese at
    all; the research agent returns the client's language only."""
    for note in market.corpus:
        for words in (note.publisher, note.title, note.summary):
            assert CJK.search(words.zh) and not CJK.search(words.en), note.id
        assert note.one_line(locale) and note.summary.in_(locale).startswith(note.one_line(locale))
    result = brief(profile(market, risk_level="C4", locale=locale), market)
    for item in result.items:
        chinese = [bool(CJK.search(t)) for t in (item.publisher, item.title, item.summary)]
        assert chinese == [locale == "zh-CN"] * 3, item.source_id


@pytest.mark.parametrize("overrides", LEVELS)
def test_no_note_about_a_product_above_the_clients_level(
    market: MarketData, overrides: dict[str, Any]
) -> None:
    p = profile(market, **overrides)
    corpus = {n.id: n for n in market.corpus}
    for item in brief(p, market).items:
        for code in corpus[item.source_id].products:
            assert market.products[code].risk_rating.rank <= max_rank(p), (item.source_id, code)


def test_lowest_category_sees_only_cash_notes_and_c5_sees_more(market: MarketData) -> None:
    lowest = brief(profile(market, risk_level="C1", lowest_category=True), market)
    c5 = brief(profile(market, risk_level="C5"), market)
    corpus = {n.id: n for n in market.corpus}
    for item in lowest.items:
        assert {market.products[c].risk_rating.value for c in corpus[item.source_id].products} == {
            "R1"
        }
    assert {f.risk_rating for f in lowest.product_facts} == {"R1"}
    assert {f.risk_rating for f in c5.product_facts} >= {"R1", "R2", "R3", "R4"}


@pytest.mark.parametrize("overrides", LEVELS)
def test_product_facts_only_for_eligible_products(
    market: MarketData, overrides: dict[str, Any]
) -> None:
    p = profile(market, **overrides)
    facts = brief(p, market).product_facts
    assert [f.code for f in facts] == [e.code for e in eligible_products(p, market)]
    for fact in facts:
        product = market.products[fact.code]
        assert fact.source_id == f"shelf:{fact.code}"
        assert product.risk_rating.rank <= max_rank(p)
        assert product.lockup_days <= p.max_lockup_days
        assert fact.name == product.name(p.locale)
        assert fact.access == "none" or p.qualified_investor


@pytest.mark.parametrize(("assets", "qualified"), [(2_999_999, False), (3_000_000, True)])
def test_qualified_investor_products_only_when_qualified(
    market: MarketData, assets: float, qualified: bool
) -> None:
    p = profile(market, risk_level="C5", financial_assets=assets, annual_income=100_000)
    assert p.qualified_investor is qualified
    result = brief(p, market)
    restricted = {p.code for p in market.shelf if p.access is Access.QUALIFIED_INVESTOR}
    assert bool(restricted & {f.code for f in result.product_facts}) is qualified
    corpus = {n.id: n for n in market.corpus}
    cited = {c for i in result.items for c in corpus[i.source_id].products}
    if not qualified:
        assert not restricted & cited


@pytest.mark.parametrize(
    "summary", ["均衡配置 [TW-HV-2611-01]，另见 [TW-FAKE-99]。", "A summary that cites nothing."]
)
def test_an_ungrounded_summary_is_replaced_by_the_cited_listing(
    market: MarketData, scripted: Callable[..., Any], summary: str
) -> None:
    result = brief(profile(market), market, scripted({"research_summary": [summary]}))
    assert result.summary_fallback is True
    assert "TW-FAKE-99" not in result.summary
    assert result.citations == [i.source_id for i in result.items]
    assert all(f"[{i.source_id}]" in result.summary for i in result.items)


def test_scripted_summary_citing_known_sources_is_kept(
    market: MarketData, scripted: Callable[..., Any]
) -> None:
    p = profile(market)
    known = brief(p, market).items[0].source_id
    model = scripted({"research_summary": [f"见 [{known}] 与 [{known}]。"]})
    result = brief(p, market, model)
    model.assert_done()
    assert result.citations == [known]
    assert result.summary == f"见 [{known}] 与 [{known}]。"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_offline_summary_cites_only_item_ids(market: MarketData, locale: str) -> None:
    result = brief(profile(market, locale=locale), market)
    ids = [i.source_id for i in result.items]
    assert result.citations
    assert set(result.citations) <= set(ids)
    assert all(f"[{sid}]" in result.summary for sid in result.citations)
