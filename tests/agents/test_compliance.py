"""Tests for the compliance gate: every rule fails and passes, disclosures, ordering, masking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from factories import AS_OF, make_client

from agents.compliance import ComplianceReport, check_compliance
from agents.plan import Fallback, Plan, build_plan
from agents.profiling import ClientProfile, profile_client
from agents.research import ResearchBrief, research_products
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from tools.disclosures import AI_MARKER, NO_GUARANTEE, RISK_WARNING, suitability_opinion
from tools.llm import LanguageModel
from tools.market import DATA_DIR, MarketData
from tools.masking import find_sensitive
from tools.offline_model import OfflineModel
from tools.rules import EVALUATORS, Finding, RuleContext, RuleSet, evaluate, overall_verdict

LOCALES = ["zh-CN", "en"]
CLEAN = {"TW-MM-01": 0.2, "510300": 0.3, "511010": 0.3, "518880": 0.2}
BY_RATING = {"R1": "511990", "R2": "511010", "R3": "510300", "R4": "513500", "R5": "TW-PF-01"}
QUALIFIED = {"financial_assets": 9_000_000}
PROFESSIONAL = {"investor_type": "professional", "financial_assets": 6_000_000}


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


def plan_for(
    p: ClientProfile,
    market: MarketData,
    weights: dict[str, float],
    fallback: Fallback | None = None,
) -> Plan:
    return build_plan(
        weights,
        p,
        [],
        market=market,
        model=OfflineModel(),
        policy=AllocationPolicy(),
        method="test",
        target=0.0,
        span=(0.0, 0.0),
        fallback=fallback,
    )


def check(
    market: MarketData,
    rules: RuleSet,
    weights: dict[str, float] = CLEAN,
    *,
    request: str | None = None,
    fallback: Fallback | None = None,
    model: LanguageModel | None = None,
    **overrides: Any,
) -> tuple[ClientProfile, Plan, ResearchBrief, ComplianceReport]:
    p = profile(market, **overrides)
    plan = plan_for(p, market, weights, fallback)
    research = research_products(p, market=market, model=OfflineModel())
    report = check_compliance(
        p,
        plan,
        research,
        client_name="王芳",
        request=request,
        market=market,
        model=model or OfflineModel(),
        policy=CompliancePolicy(),
        rules=rules,
    )
    return p, plan, research, report


def ids(report: ComplianceReport) -> set[str]:
    return {f.rule_id for f in report.findings}


def mix(code: str, weight: float = 0.2) -> dict[str, float]:
    """Cash split across two funds (each within its cap) plus one product under test."""
    return {"TW-MM-01": (1 - weight) / 2, "TW-MM-02": (1 - weight) / 2, code: weight}


# rule id -> (failing example, passing example); each example is check() keyword arguments.
RULE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "CN-C-04": ({"assessed_on": "2024-11-24"}, {"assessed_on": "2024-11-25"}),
    "CN-R-04": ({"weights": {**CLEAN, "518880": 0.1, "ZZ-UNKNOWN": 0.1}}, {}),
    "CN-MIS-05": (
        {"weights": mix("511010"), "risk_level": "C1", "lowest_category": True},
        {
            "weights": {"TW-MM-01": 0.4, "TW-MM-02": 0.3, "511990": 0.3},
            "risk_level": "C1",
            "lowest_category": True,
        },
    ),
    "CN-MIS-03": ({"weights": mix("513500")}, {"weights": mix("513500"), "risk_level": "C4"}),
    "CN-MIS-01": ({"weights": mix("TW-AM-01")}, {"weights": mix("TW-AM-01"), **QUALIFIED}),
    "CN-MIS-06": ({"request": "我想买513100，越多越好"}, {"request": "I'd like more 510300"}),
    "CN-MIS-07": ({"weights": mix("513500"), "risk_level": "C4"}, {"risk_level": "C4"}),
    "TW-PLAN-01": ({"weights": {**CLEAN, "518880": 0.1}}, {}),
    "TW-CONC-01": (
        {"weights": {"TW-MM-01": 0.2, "510300": 0.41, "511010": 0.39}},
        {"weights": {"TW-MM-01": 0.2, "510300": 0.4, "511010": 0.4}},
    ),
    "DIV-P-03": (
        {"weights": {"TW-MM-01": 0.5, "510300": 0.29, "512480": 0.21}, "risk_level": "C4"},
        {"weights": {"TW-MM-01": 0.5, "510300": 0.3, "512480": 0.2}, "risk_level": "C4"},
    ),
    "DIV-P-05": (
        {"weights": {"TW-MM-01": 0.05, "510300": 0.35, "511010": 0.35, "518880": 0.25}},
        {},
    ),
    "DIV-P-06": (
        {"weights": mix("TW-AM-01"), "horizon_years": 0.2, **QUALIFIED},
        {"weights": mix("TW-AM-01"), "horizon_years": 5, **QUALIFIED},
    ),
    "DIV-P-07": (
        {"weights": {"TW-MM-01": 0.4, "510300": 0.3, "TW-SN-2601": 0.15, "TW-PF-01": 0.15}}
        | {"risk_level": "C5", **QUALIFIED},
        {"weights": {"TW-MM-01": 0.4, "510300": 0.4, "TW-SN-2601": 0.1, "TW-PF-01": 0.1}}
        | {"risk_level": "C5", **QUALIFIED},
    ),
    "TW-ALLOC-01": ({"fallback": Fallback(reason="solver failed", method="reserve_only")}, {}),
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_fails_and_passes(
    market: MarketData, rules: RuleSet, rule_id: str, locale: str
) -> None:
    failing, passing = RULE_CASES[rule_id]
    rule = next(r for r in rules.rules if r.id == rule_id)
    *_, report = check(market, rules, locale=locale, **failing)
    hits = [f for f in report.findings if f.rule_id == rule_id]
    assert hits, report.findings
    assert {f.verdict for f in hits} == {rule.verdict}
    assert {f.message for f in hits} == {rule.message_zh if locale == "zh-CN" else rule.message_en}
    assert all(f.evidence for f in hits)
    *_, clean = check(market, rules, locale=locale, **passing)
    assert rule_id not in ids(clean), clean.findings


@pytest.mark.parametrize("rating", sorted(BY_RATING))
@pytest.mark.parametrize("level", ["C1", "C2", "C3", "C4", "C5"])
def test_level_against_rating_matrix(
    market: MarketData, rules: RuleSet, level: str, rating: str
) -> None:
    *_, report = check(market, rules, mix(BY_RATING[rating]), risk_level=level, **QUALIFIED)
    assert ("CN-MIS-03" in ids(report)) is (int(rating[1]) > int(level[1]))


@pytest.mark.parametrize("rating", sorted(BY_RATING))
def test_lowest_category_holds_r1_only_and_is_blocked_otherwise(
    market: MarketData, rules: RuleSet, rating: str
) -> None:
    weights = mix(BY_RATING[rating])
    *_, report = check(market, rules, weights, risk_level="C1", lowest_category=True, **QUALIFIED)
    assert "CN-MIS-03" not in ids(report)
    assert ("CN-MIS-05" in ids(report)) is (rating != "R1")
    assert (report.verdict == "block") is (rating != "R1")


def test_verified_professional_may_hold_r5(market: MarketData, rules: RuleSet) -> None:
    p, *_, report = check(market, rules, mix("TW-PF-01"), **PROFESSIONAL)
    assert p.professional and p.risk_level == "C3"
    assert not ids(report) & {"CN-MIS-03", "CN-MIS-07", "CN-MIS-01", "DIV-P-07"}


def test_unverified_professional_claim_gets_ordinary_treatment(
    market: MarketData, rules: RuleSet
) -> None:
    p, *_, report = check(market, rules, mix("TW-PF-01"), investor_type="professional")
    assert not p.professional
    assert {"CN-MIS-03", "CN-MIS-07", "CN-MIS-01"} <= ids(report)


def test_an_unknown_product_blocks(market: MarketData, rules: RuleSet) -> None:
    *_, report = check(market, rules, {"TW-MM-01": 0.4, "TW-MM-02": 0.4, "ZZ-UNKNOWN": 0.2})
    assert report.verdict == "block"


def test_revise_findings_carry_their_remedies(market: MarketData, rules: RuleSet) -> None:
    weights = {"TW-MM-01": 0.05, "510300": 0.45, "513500": 0.2, "511010": 0.3}
    p, *_, report = check(market, rules, weights)
    remedies = [(r.rule_id, r.kind, r.product_code, r.value) for r in report.remedies]
    assert ("CN-MIS-03", "exclude", "513500", None) in remedies
    assert ("TW-CONC-01", "cap", "510300", 0.4) in remedies
    assert ("DIV-P-05", "min_reserve", None, pytest.approx(p.liquidity_reserve_share)) in remedies
    assert all(f.remedy is None for f in report.findings if f.verdict != "revise")


def test_a_product_above_the_level_is_never_approvable(market: MarketData, rules: RuleSet) -> None:
    # CN-MIS-03 (revise) and CN-MIS-07 (escalate) together: the plan must change, so an
    # advisor's approval (allowed on escalate) must not be enough.
    *_, report = check(market, rules, mix("513500"))
    assert {"CN-MIS-03", "CN-MIS-07"} <= ids(report)
    assert report.verdict == "revise"


def _finding(verdict: str) -> Finding:
    return Finding(rule_id="X", severity="low", verdict=verdict, message="m", evidence="e")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdicts", "overall"),
    [
        ([], "pass"),
        (["pass"], "pass"),
        (["escalate"], "escalate"),
        (["escalate", "revise"], "revise"),
        (["revise", "escalate", "escalate"], "revise"),
        (["escalate", "block", "revise"], "block"),
        (["block", "pass"], "block"),
    ],
)
def test_overall_verdict_ordering(verdicts: list[str], overall: str) -> None:
    # block > revise > escalate > pass: a plan that must change is never approved as is.
    assert overall_verdict([_finding(v) for v in verdicts]) == overall


@pytest.mark.parametrize("locale", LOCALES)
def test_clean_report_passes_with_every_required_disclosure(
    market: MarketData, rules: RuleSet, locale: str
) -> None:
    p, plan, research, report = check(market, rules, locale=locale)
    assert (report.verdict, report.findings) == ("pass", [])
    assert report.plan_hash == plan.plan_hash and report.rule_set_version == rules.version
    text = report.client_text
    for wording in (RISK_WARNING, NO_GUARANTEE, AI_MARKER):
        assert wording[locale] in text
    assert suitability_opinion(p, plan) in text
    assert "C3" in suitability_opinion(p, plan) and "R3" in suitability_opinion(p, plan)
    for code in CLEAN:
        assert (f"【{code}】" if locale == "zh-CN" else f"[{code}]") in text
    assert research.items
    for item in research.items:
        assert f"[{item.source_id}] {item.publisher}, {item.as_of.isoformat()}" in text
    assert str(market.cma.window["end"]) in text


def _removals(p: ClientProfile, plan: Plan, research: ResearchBrief) -> dict[str, str]:
    item = research.items[0]
    first = plan.holdings[0].product_code
    return {
        "REQ-01": suitability_opinion(p, plan),
        "REQ-02": RISK_WARNING[p.locale],
        "REQ-03": NO_GUARANTEE[p.locale],
        "REQ-04": f"【{first}】" if p.locale == "zh-CN" else f"[{first}]",
        "REQ-05": AI_MARKER[p.locale],
        "REQ-07": f"[{item.source_id}] {item.publisher}, {item.as_of.isoformat()}",
    }


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("rule_id", ["REQ-01", "REQ-02", "REQ-03", "REQ-04", "REQ-05", "REQ-07"])
def test_required_wording_rule_fires_when_its_wording_is_removed(
    market: MarketData, rules: RuleSet, rule_id: str, locale: str
) -> None:
    p, plan, research, report = check(market, rules, locale=locale)
    wording = _removals(p, plan, research)[rule_id]
    assert wording in report.client_text
    ctx = RuleContext(
        profile=p,
        plan=plan,
        market=market,
        policy=CompliancePolicy(),
        client_text=report.client_text.replace(wording, ""),
        sources=[(i.source_id, i.publisher, i.as_of.isoformat()) for i in research.items],
    )
    findings = evaluate(rules, ctx)
    assert [f.rule_id for f in findings] == [rule_id]
    assert overall_verdict(findings) == "revise"


def test_every_rule_has_an_evaluator_and_both_messages(rules: RuleSet) -> None:
    raw = yaml.safe_load((DATA_DIR / "rules.yaml").read_text("utf-8"))
    listed = [r["id"] for r in raw["rules"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(EVALUATORS) == {r.id for r in rules.rules}
    assert rules.version == raw["version"]
    for rule in rules.rules:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.message_zh), rule.id
        assert rule.message_en.isascii() and rule.message_en.strip(), rule.id
        assert rule.source.strip(), rule.id


def test_client_text_has_no_sensitive_data_from_notes(market: MarketData, rules: RuleSet) -> None:
    notes = "客户电话13912345678，身份证11010519491231002X，计划两年内购房。"
    *_, report = check(market, rules, notes=notes)
    assert find_sensitive(report.client_text) == []
    assert "13912345678" not in report.client_text


def test_client_text_masks_sensitive_data_the_model_writes(
    market: MarketData, rules: RuleSet, scripted: Callable[..., Any]
) -> None:
    letter = (
        "尊敬的{client_name}：请致电13912345678或发邮件至wang.fang@example.com，"
        "卡号6222021234567894。"
    )
    model = scripted({"letter": [letter]})
    *_, report = check(market, rules, model=model, notes="电话13912345678")
    model.assert_done()
    assert report.client_text.startswith("尊敬的王芳：请致电139****5678")
    assert find_sensitive(report.client_text) == []
    for secret in ("13912345678", "wang.fang@", "6222021234567894"):
        assert secret not in report.client_text
