"""Required wording: present in the composed text it passes; without its line it fires; it is
required only where it applies, and in the variant of the jurisdiction."""

from __future__ import annotations

from typing import Any

import pytest
from compliance_helpers import (
    PRO,
    client,
    context,
    fill,
    hits,
    plan,
    profile_of,
    variant_market,
    with_text,
)
from test_special_care_rules import offered

from core.settings import CompliancePolicy
from tools.compliance.disclosures import required_wording
from tools.compliance.engine import RuleContext
from tools.compliance.rulebook import shipped_rules

RULES = shipped_rules()
MARKET = variant_market()
C4 = {"risk_level": "C4", "goal": "growth", "max_drawdown_tolerance_pct": 30}
QUALIFIED = {"financial_assets": 3_000_000}
HELD = [{"product_code": "510300", "market_value": 300_000}]
BASE = fill({"510300": 0.3})

# rule -> (jurisdictions, client overrides, weights): a plan on which the rule's wording applies.
SCENARIOS: dict[str, tuple[tuple[str, ...], dict[str, Any], dict[str, float]]] = {
    **{r: (("CN", "US", "EU"), {}, BASE) for r in ("REQ-01", "REQ-02", "REQ-03", "REQ-04")},
    **{r: (("CN", "US", "EU"), {}, BASE) for r in ("REQ-05", "REQ-07")},
    "REQ-08": (("US",), {}, BASE),
    "REQ-09": (("EU",), {}, BASE),
    "CN-DIS-02": (("CN", "US", "EU"), C4, fill({"LEV-4": 0.1})),
    "CN-COOL-01": (("CN",), {"risk_level": "C5", **QUALIFIED}, fill({"TW-PF-01": 0.1})),
    "CN-COOL-02": (("CN",), QUALIFIED, fill({"TW-AM-01": 0.1})),
    "CN-COOL-03": (("CN",), C4, fill({"512480": 0.1})),
    "US-BI-04": (("US",), {}, BASE),  # TW-MM-01 is the firm's own fund
    "CN-COI-01": (("CN",), {}, BASE),  # TW-MM-01 is the firm's own fund
    "EU-COI-01": (("EU",), {}, BASE),
    "EU-SUIT-06": (("EU",), {"holdings": HELD}, fill({})),  # sells the 510300 position
    "TW-REQ-02": (("CN", "US", "EU"), {}, BASE),  # answers the client's request
    # A long-tail C5 client's core plan with the higher-risk part offered beside it.
    "TW-OFFER-01": (("CN",), {"risk_level": "C5", "aum": 200_000}, BASE),
}
REQUESTS = {"TW-REQ-02": "多配债券，我想买512480，下个月要用10万，另外帮我买比特币"}


def composed(
    jurisdiction: str,
    locale: str,
    overrides: dict[str, Any],
    weights: dict[str, float],
    request: str | None = None,
    **policy_overrides: Any,
) -> RuleContext:
    """The offline letter and the composed wording for this client and plan."""
    policy = CompliancePolicy(jurisdiction=jurisdiction, **policy_overrides)  # type: ignore[arg-type]
    c = client(locale=locale, **overrides)
    prof = profile_of(c, MARKET, policy)
    pl = plan(weights, prof, MARKET, holdings=c.holdings)
    return context(prof, pl, MARKET, policy, request=request)


def scenario(rule: str, jurisdiction: str, locale: str) -> RuleContext:
    _, overrides, weights = SCENARIOS[rule]
    if rule == "TW-OFFER-01":
        return offered(MARKET, locale)
    return composed(jurisdiction, locale, overrides, weights, REQUESTS.get(rule))


def _params() -> list[Any]:
    return [
        pytest.param(rule, j, locale, id=f"{rule}-{j}-{locale}")
        for rule, (jurisdictions, _, _) in SCENARIOS.items()
        for j in jurisdictions
        for locale in ("zh-CN", "en")
    ]


def test_every_evaluated_wording_rule_has_a_scenario() -> None:
    assert {r.id for r in RULES.rules if r.kind == "wording" and r.evaluated} == set(SCENARIOS)


@pytest.mark.parametrize(("rule", "jurisdiction", "locale"), _params())
def test_composed_text_carries_the_wording(rule: str, jurisdiction: str, locale: str) -> None:
    ctx = scenario(rule, jurisdiction, locale)
    lines = required_wording(ctx)[rule]
    assert lines and all(line in ctx.client_text for line in lines)
    assert rule not in hits(RULES, ctx)


@pytest.mark.parametrize(("rule", "jurisdiction", "locale"), _params())
def test_removing_any_line_of_the_wording_fires(rule: str, jurisdiction: str, locale: str) -> None:
    ctx = scenario(rule, jurisdiction, locale)
    for line in required_wording(ctx)[rule]:
        cut = with_text(ctx, ctx.client_text.replace(line, ""), letter=ctx.letter)
        assert hits(RULES, cut).get(rule) == RULES.get(rule).verdict, line


NO_HOUSE = {"511990": 0.3, "511880": 0.3, "510300": 0.4}
NOT_APPLICABLE = [
    ("REQ-08", "CN", {}, BASE), ("REQ-08", "EU", {}, BASE),
    ("REQ-09", "CN", {}, BASE), ("REQ-09", "US", {}, BASE),
    ("CN-DIS-02", "CN", C4, fill({"512480": 0.1})),  # R4, no leverage
    ("CN-COOL-01", "CN", QUALIFIED, fill({"TW-AM-01": 0.1})),  # no private fund
    ("CN-COOL-01", "US", {"risk_level": "C5", **QUALIFIED}, fill({"TW-PF-01": 0.1})),
    ("CN-COOL-01", "EU", {"risk_level": "C5", **QUALIFIED}, fill({"TW-PF-01": 0.1})),
    ("CN-COOL-02", "US", QUALIFIED, fill({"TW-AM-01": 0.1})),
    ("CN-COOL-03", "CN", {**C4, **PRO}, fill({"512480": 0.1})),  # professional
    ("CN-COOL-03", "EU", C4, fill({"512480": 0.1})),
    ("US-BI-04", "US", {}, NO_HOUSE),
    ("CN-COI-01", "CN", {}, NO_HOUSE), ("CN-COI-01", "US", {}, BASE),
    ("CN-COI-01", "EU", {}, BASE),
    ("EU-COI-01", "EU", {}, NO_HOUSE), ("EU-COI-01", "CN", {}, BASE),
    ("EU-SUIT-06", "EU", {}, fill({})),  # nothing held, nothing sold
    ("EU-SUIT-06", "CN", {"holdings": HELD}, fill({})),
    ("TW-REQ-02", "CN", {}, BASE),  # no request, nothing to answer
    ("TW-OFFER-01", "CN", {"risk_level": "C5", "aum": 200_000}, BASE),  # nothing offered
]  # fmt: skip


@pytest.mark.parametrize(("rule", "jurisdiction", "overrides", "weights"), NOT_APPLICABLE)
def test_wording_is_required_only_where_it_applies(
    rule: str, jurisdiction: str, overrides: dict[str, Any], weights: dict[str, float]
) -> None:
    ctx = composed(jurisdiction, "zh-CN", overrides, weights)
    assert required_wording(ctx)[rule] == []
    assert rule not in hits(RULES, with_text(ctx, ctx.letter))  # nothing missing either


@pytest.mark.parametrize(
    ("rule", "jurisdiction", "zh", "en"),
    [
        ("REQ-03", "US", "亦不就任何损失提供担保", "gives no guarantee against loss"),
        ("REQ-05", "EU", "不减轻本公司对本建议所负的责任", "does not reduce our responsibility"),
        ("REQ-05", "US", "投资顾问可以调整或否决算法的建议", "Advisors may override the algorithm"),
    ],
)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_us_and_eu_variants_differ_from_cn_and_the_cn_line_does_not_do(
    rule: str, jurisdiction: str, zh: str, en: str, locale: str
) -> None:
    ctx = composed(jurisdiction, locale, {}, BASE)
    (line,) = required_wording(ctx)[rule]
    (cn_line,) = required_wording(composed("CN", locale, {}, BASE))[rule]
    assert (zh if locale == "zh-CN" else en) in line and line != cn_line
    swapped = with_text(ctx, ctx.client_text.replace(line, cn_line), letter=ctx.letter)
    assert hits(RULES, swapped)[rule] == "revise"


@pytest.mark.parametrize(
    ("locale", "past", "disclaimer"),
    [
        ("zh-CN", "该基金过去三年年化收益12%。", "过往业绩不预示其未来表现。"),
        ("en", "The fund has historically returned 10% a year.", "Past performance is not a"),
    ],
)
def test_past_figures_in_the_letter_bring_the_req_06_disclaimer(
    locale: str, past: str, disclaimer: str
) -> None:
    """REQ-06 is enforced by LANG-07: composed with its disclaimer, cut without it."""
    ctx = composed("CN", locale, {}, BASE)
    ctx = context(ctx.profile, ctx.plan, MARKET, letter=f"{ctx.letter}\n{past}")
    assert disclaimer in ctx.client_text
    assert "LANG-07" not in hits(RULES, ctx)
    (line,) = required_wording(ctx)["REQ-06"]
    cut = with_text(ctx, ctx.client_text.replace(line, ""), letter=ctx.letter)
    assert hits(RULES, cut)["LANG-07"] == "revise"


@pytest.mark.parametrize(
    ("overrides", "weights", "expected"),
    [
        ({}, BASE, "您的风险承受能力等级为C3（普通投资者），本方案所含产品最高风险等级为R3"),
        (C4, fill({"512480": 0.1}), "等级为C4（普通投资者），本方案所含产品最高风险等级为R4"),
        ({**C4, **PRO}, fill({"512480": 0.1}), "等级为C4（专业投资者）"),
        ({"risk_level": "C1"}, {"511990": 0.4, "TW-MM-01": 0.3, "511880": 0.3}, "最高风险等级为R1"),
    ],
)
def test_suitability_opinion_states_the_client_and_plan_levels(
    overrides: dict[str, Any], weights: dict[str, float], expected: str
) -> None:
    """REQ-01 (CN-DIS-06): client level and category against the plan's highest product level."""
    (line,) = required_wording(composed("CN", "zh-CN", overrides, weights))["REQ-01"]
    assert expected in line


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_restrictions_are_listed_for_every_held_product(locale: str) -> None:
    """REQ-04 (CN-DIS-01, CN-DIS-05): loss of principal, redemption and lock-up per product."""
    ctx = composed("CN", locale, {}, fill({"LOCK-400": 0.1, "510300": 0.2}))
    lines = required_wording(ctx)["REQ-04"][1:]
    assert sorted(line.split("]")[0].split("】")[0][1:] for line in lines) == sorted(
        ctx.plan.weights()
    )
    (locked,) = [line for line in lines if "LOCK-400" in line]
    assert ("锁定期400天" if locale == "zh-CN" else "lock-up 400 days") in locked


LONG_TAIL = {"aum": 200_000, "liquidity_need": 20_000}
LOWEST = {**LONG_TAIL, "risk_level": "C1", "lowest_category": True, "goal": "preservation"}
R1_ONLY = {"511990": 0.4, "TW-MM-01": 0.3, "511880": 0.3}


@pytest.mark.parametrize(
    ("overrides", "weights", "signoff", "reviewer"),
    [
        ({}, BASE, True, True),
        (LONG_TAIL, BASE, True, False),
        (LOWEST, R1_ONLY, True, True),  # SYS-02: signed off whatever the tier
        (LOWEST, R1_ONLY, False, False),
    ],
    ids=["mid-tier", "long-tail", "lowest-long-tail", "lowest-policy-off"],
)
def test_ai_statement_says_an_advisor_reviews_where_one_does_without_their_login(
    overrides: dict[str, Any], weights: dict[str, float], signoff: bool, reviewer: bool
) -> None:
    ctx = composed("CN", "zh-CN", overrides, weights, lowest_category_signoff=signoff)
    (line,) = required_wording(ctx)["REQ-05"]
    assert "算法模型辅助生成" in line and "不代表实际收益" in line
    assert ("本方案经您的签约投资顾问审核后方才发送给您。" in line) is reviewer
    assert "adv-li" not in ctx.client_text  # the signature names the person, never the login


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_answer_to_a_request_says_what_was_done_and_what_not_and_why(locale: str) -> None:
    ctx = scenario("TW-REQ-02", "CN", locale)
    lines = required_wording(ctx)["TW-REQ-02"]
    zh = locale == "zh-CN"
    text = "\n".join(lines)
    # 512480 is R4 against C3: unsuitable, with the way forward if the client insists.
    assert ("不适合您" if zh else "not suitable for you") in text and "512480" in text
    assert ("特别风险警示" if zh else "special written risk warning") in text
    assert ("100,000元" if zh else "100,000 CNY") in text  # the cash need, by code
    assert ("未能准确理解" if zh else "could not fully understand") in text  # 比特币
    # The answer has its own section of the letter, under its heading and before the
    # disclosures.
    heading = "、关于您的要求\n" if zh else ". About your request\n"
    assert ctx.client_text.index(heading + lines[0]) < ctx.client_text.index(
        required_wording(ctx)["REQ-01"][0]
    )


def test_an_avoided_product_the_plan_still_holds_is_not_said_to_be_left_out() -> None:
    """After an advisor's weights, the letter never claims the plan leaves out what it holds."""
    policy = CompliancePolicy()
    prof = profile_of(client(), MARKET, policy)
    held = plan(fill({"510300": 0.3}), prof, MARKET, source="advisor")
    ctx = context(prof, held, MARKET, policy, request="不要买510300")
    answer = "\n".join(required_wording(ctx)["TW-REQ-02"])
    assert "本方案未配置该产品" not in answer
    assert "您的投资顾问已据此调整方案，其占比为30.0%" in answer


def test_a_wish_not_sure_is_answered_as_awaiting_the_advisor() -> None:
    ctx = composed("CN", "zh-CN", {}, BASE, request="股票太多了")
    answer = "\n".join(required_wording(ctx)["TW-REQ-02"])
    assert "需要您的投资顾问与您确认后再办理" in answer and "未能准确理解" in answer
    assert "已按您的要求调整" not in answer
