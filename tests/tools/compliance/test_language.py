"""Prohibited language (LANG-01..08) with its negation cases (LANG-05), grounded numbers
(TW-NUM-01), products outside the plan (TW-TXT-01), internal identifiers (TW-TXT-02) and unmasked
personal data (PII-01..05), in Chinese and English."""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest
from compliance_helpers import context, fill, fired, hits, plan, profile, with_text
from factories import AS_OF

from core.masking import mask_text
from core.settings import CompliancePolicy
from tools.compliance.engine import RuleContext
from tools.compliance.evaluators.language import past_figures, prohibited
from tools.compliance.rulebook import shipped_rules
from tools.market.market_data import load_market

RULES = shipped_rules()
MARKET = load_market()
REQ_03_ZH = "本建议不构成收益承诺，本公司不以任何方式向您做出不受损失或者取得最低收益的承诺。"


@cache
def base(jurisdiction: str, locale: str) -> RuleContext:
    """A clean, composed letter for a C3 client: no rule fires on it."""
    policy = CompliancePolicy(jurisdiction=jurisdiction)  # type: ignore[arg-type]
    prof = profile(MARKET, locale=locale, sustainability_preference="none")
    return context(prof, plan(fill({"510300": 0.3}), prof, MARKET), MARKET, policy)


def with_line(line: str, jurisdiction: str = "CN") -> RuleContext:
    """The clean text with one more line, as the client would read it."""
    locale = "en" if line.isascii() else "zh-CN"
    ctx = base(jurisdiction, locale)
    return with_text(ctx, f"{ctx.client_text}\n{line}", letter=ctx.letter)


@pytest.mark.parametrize("jurisdiction", ["CN", "US", "EU"])
def test_the_clean_text_fires_nothing(jurisdiction: str) -> None:
    for locale in ("zh-CN", "en"):
        assert fired(RULES, base(jurisdiction, locale)) == set()


FIRES = [
    ("LANG-01", "block", ["本产品保本", "保本保息", "零风险", "无风险", "本金无忧",
                          "This fund is capital guaranteed.", "It is risk-free.",
                          "You can't lose."]),
    ("LANG-02", "block", ["保证收益", "稳赚不赔", "保底收益5%", "承诺收益", "guaranteed return",
                          "a guaranteed 8% a year"]),
    ("LANG-03", "block", ["这只基金一定会涨", "下半年必涨", "明年翻倍", "It will definitely rise.",
                          "This is a sure thing."]),
    ("LANG-04", "block", ["过去三年年化12%，未来也能保持", "过去三年年化12%，未来也能…",
                          "It historically returned 10% a year, so you will earn as much."]),
    ("LANG-06", "revise", ["业绩比较基准4%", "The benchmark is 4% a year."]),
    ("LANG-07", "revise", ["该基金过去三年年化收益12%。", "历史年化收益8%。",
                           "The fund has historically returned 10% a year."]),
    ("LANG-08", "block", ["建议立即全仓买入510300", "Go all in on 510300 today."]),
]  # fmt: skip
PASSES = [
    ("LANG-01", ["本产品不保本", "并非保本", REQ_03_ZH, "Returns are not guaranteed.",
                 "This fund is not risk-free."]),
    ("LANG-02", ["不保证收益", "不承诺保本保收益", "There is no guarantee of returns."]),
    ("LANG-03", ["市场可能上涨，也可能下跌", "Prices may rise or fall."]),
    ("LANG-04", ["该基金过去三年年化收益12%。过往业绩不预示其未来表现。",
                 "It historically returned 10% a year. Past performance is not a reliable "
                 "indicator of future results."]),
    ("LANG-06", ["业绩比较基准4%，业绩比较基准不代表实际收益，可能损失本金",
                 "The benchmark is 4% a year; it is not a guarantee and you may lose money."]),
    ("LANG-07", ["该基金过去三年年化收益12%。过往业绩不预示其未来表现。",
                 "The fund has historically returned 10% a year. Past performance is not a "
                 "reliable indicator of future results."]),
    ("LANG-08", ["建议分批买入，定期复核", "Consider investing in instalments."]),
]  # fmt: skip


@pytest.mark.parametrize("jurisdiction", ["CN", "US", "EU"])
@pytest.mark.parametrize(
    ("rule", "verdict", "phrase"), [(r, v, p) for r, v, ps in FIRES for p in ps]
)
def test_phrase_fires_its_rule(rule: str, verdict: str, phrase: str, jurisdiction: str) -> None:
    assert hits(RULES, with_line(phrase, jurisdiction)).get(rule) == verdict


@pytest.mark.parametrize(("rule", "phrase"), [(r, p) for r, ps in PASSES for p in ps])
def test_compliant_phrase_does_not_fire(rule: str, phrase: str) -> None:
    assert rule not in hits(RULES, with_line(phrase))


@pytest.mark.parametrize(
    ("rule", "phrase"), [(r, p) for r, _, ps in FIRES if r in ("LANG-01", "LANG-02", "LANG-03",
                                                               "LANG-08") for p in ps]
)  # fmt: skip
def test_detector_finds_the_term(rule: str, phrase: str) -> None:
    assert prohibited(phrase, rule)


NEGATED = [
    "不保本", "不保证收益", "不承诺保本保收益", "不代表实际收益", "并非保本", REQ_03_ZH,
    "本产品非保本浮动收益型", "Returns are not guaranteed.", "There is no guarantee against loss.",
    "The fund is not risk-free.", "This advice is not a promise of returns.",
]  # fmt: skip


@pytest.mark.parametrize("phrase", NEGATED)
def test_negation_and_disclaimers_do_not_fire(phrase: str) -> None:
    """LANG-05: a negated term is a disclaimer, not a promise."""
    assert not prohibited(phrase, "LANG-01") and not prohibited(phrase, "LANG-02")
    found = hits(RULES, with_line(phrase))
    assert "LANG-01" not in found and "LANG-02" not in found


def test_a_negated_disclaimer_in_the_letter_is_recorded_as_pass() -> None:
    ctx = base("CN", "zh-CN")
    letter = f"{ctx.letter}\n本产品不保本。"
    assert hits(RULES, with_text(ctx, f"{letter}\n{ctx.client_text}", letter))["LANG-05"] == "pass"


# A negator in another clause, or a word that only looks like one (非常 "very", 不仅 "not only",
# 无需 "no need"), does not negate the promise that follows it.
NOT_NEGATED = [
    pytest.param("LANG-01", "非常安全，保本保息", id="LANG-01-feichang-very"),
    pytest.param("LANG-01", "不仅保本，收益还高", id="LANG-01-bujin-not-only"),
    pytest.param("LANG-01", "无需担心，零风险", id="LANG-01-wuxu-no-need"),
    pytest.param("LANG-01", "Never a loss: capital guaranteed.", id="LANG-01-never-a-loss"),
    pytest.param("LANG-02", "不用担心，保证收益", id="LANG-02-buyong-no-worry"),
    pytest.param("LANG-02", "No worries, guaranteed returns of 8%.", id="LANG-02-no-worries"),
    pytest.param("LANG-03", "毫无疑问，必涨", id="LANG-03-wu-no-doubt"),
]


@pytest.mark.parametrize(("rule", "phrase"), NOT_NEGATED)
def test_a_negator_outside_the_clause_does_not_excuse_a_promise(rule: str, phrase: str) -> None:
    assert prohibited(phrase, rule)
    assert hits(RULES, with_line(phrase)).get(rule) == "block"


@pytest.mark.parametrize(
    ("text", "past"),
    [
        ("过去三年年化12%，未来也能…", True),
        ("该基金过去三年年化收益12%", True),
        ("历史年化收益8%", True),
        ("It historically returned 10% a year, so you will…", True),
        ("Over the past five years it returned 7.5% a year.", True),
        ("组合预期年化收益约4.2%", False),
        ("其中约11.8%保留在可每日赎回的现金管理类产品中", False),
        ("The estimated annual return is about 4.2%.", False),
    ],
)
def test_past_figures(text: str, past: bool) -> None:
    assert bool(past_figures(text)) is past


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_number_from_the_plan_is_grounded_and_an_invented_one_is_not(locale: str) -> None:
    ctx = base("CN", locale)
    figure = f"{ctx.plan.expected_return * 100:.1f}%"
    grounded = f"组合预期年化收益约{figure}。" if locale == "zh-CN" else f"About {figure} a year."
    invented = "预计年化收益15.3%。" if locale == "zh-CN" else "You should earn 15.3% a year."
    prof, pl = ctx.profile, ctx.plan
    assert "TW-NUM-01" not in hits(RULES, context(prof, pl, MARKET, letter=grounded))
    assert hits(RULES, context(prof, pl, MARKET, letter=invented))["TW-NUM-01"] == "revise"


@pytest.mark.parametrize("name", ["测试客户013", "测试客户014", "Client 2047"])
def test_digits_in_the_clients_name_are_not_figures_but_a_figure_beside_it_is(name: str) -> None:
    ctx = base("CN", "zh-CN")
    named = dataclasses.replace(ctx, client_name=name)
    greeting = f"尊敬的{name}：您好。"
    assert "TW-NUM-01" not in hits(RULES, with_text(named, greeting))
    claim = f"尊敬的{name}：预计年化收益15.3%。"
    assert hits(RULES, with_text(named, claim))["TW-NUM-01"] == "revise"
    assert hits(RULES, with_text(ctx, greeting))["TW-NUM-01"] == "revise"  # unknown: a figure


PII = [
    ("PII-01", "身份证号11010519491231002X"),
    ("PII-01", "ID 440304199001011233"),
    ("PII-02", "手机13912345678"),
    ("PII-02", "call +86 139-1234-5678"),
    ("PII-03", "卡号6222021234567894"),
    ("PII-03", "card 6222 0212 3456 7894"),
    ("PII-04", "邮箱w@example.com"),
    ("PII-05", "SSN 123-45-6789"),
]


@pytest.mark.parametrize(("rule", "raw"), PII)
@pytest.mark.parametrize("jurisdiction", ["CN", "US", "EU"])
def test_unmasked_personal_data_blocks_and_masked_data_passes(
    rule: str, raw: str, jurisdiction: str
) -> None:
    assert hits(RULES, with_line(raw, jurisdiction))[rule] == "block"
    masked = mask_text(raw)
    assert masked != raw
    assert not {r for r in hits(RULES, with_line(masked, jurisdiction)) if r.startswith("PII")}


@pytest.mark.parametrize(
    "text",
    ["证件号110105200002300015", "110105194912310021", "卡号6222021234567895", "SSN 000-12-3456",
     f"截至{AS_OF.isoformat()}，数据来源2026.11-1"],
)  # fmt: skip
def test_invalid_numbers_are_not_personal_data(text: str) -> None:
    """An invalid date or check digit, a Luhn failure or a never-assigned SSN is not PII."""
    assert not {r for r in hits(RULES, with_line(text)) if r.startswith("PII")}


@pytest.mark.parametrize(
    ("named", "fires"),
    [("510300", False), ("TW-BD-01", False), ("512480", True), ("华宝中证医疗ETF", True)],
    ids=["held", "in-shown-research", "outside-code", "outside-name"],
)
def test_a_letter_may_name_only_held_or_researched_products(named: str, fires: bool) -> None:
    """TW-TXT-01: the model's words may not recommend a product the plan does not hold, or
    that no note the letter shows is about."""
    ctx = base("CN", "zh-CN")
    assert ("TW-BD-01" in ctx.research_products) and "TW-BD-01" not in ctx.plan.weights()
    letter = f"{ctx.letter}\n您也可以关注{named}。"
    found = hits(RULES, context(ctx.profile, ctx.plan, MARKET, letter=letter))
    assert found.get("TW-TXT-01") == ("revise" if fires else None)


@pytest.mark.parametrize(
    ("line", "fires"),
    [
        ("您的投资顾问（adv-li）将与您联系。", True),
        ("Your supervisor sup-zhao has reviewed it.", True),
        ("参考研究[TW-HV-2611-01]。", True),
        ("本方案由offline-v1撰写。", True),
        ("This plan was written by offline-v1.", True),
        ("同一范围内产品等权配置（1/N）的估算为4.1%。", True),
        ("您的投资顾问将与您联系。", False),
        ("您可投资产品的等权组合是比较的基准。", False),
    ],
    ids=["advisor-login", "supervisor-login", "note-id", "model-id-zh", "model-id-en", "1/N",
         "advisor-in-words", "equal-mix"],
)  # fmt: skip
def test_internal_identifiers_fail_the_letter(line: str, fires: bool) -> None:
    """TW-TXT-02: a login id, a note id, the model id outside the AI disclosure or "1/N"."""
    assert (hits(RULES, with_line(line)).get("TW-TXT-02") == "revise") is fires


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_ai_disclosure_may_name_the_model(locale: str) -> None:
    """REQ-05 must name the model: its own line is the one place the id may appear."""
    ctx = base("CN", locale)
    assert "offline-v1" in ctx.client_text and "TW-TXT-02" not in hits(RULES, ctx)
    advised = dataclasses.replace(ctx, profile=ctx.profile.model_copy(update={"advisor_id": "li"}))
    assert "liquidity" in advised.client_text or "流动性" in advised.client_text
    assert "TW-TXT-02" not in hits(RULES, advised)  # "li" in "liquidity" is no login
    assert "TW-TXT-02" in hits(RULES, with_text(advised, advised.client_text + "\n(li)"))


def test_every_evaluated_language_rule_is_exercised_here() -> None:
    covered = {r for r, _, _ in FIRES} | {"LANG-05", "TW-NUM-01", "TW-TXT-01", "TW-TXT-02"}
    covered |= {r for r, _ in PII}
    covered |= {"TW-ANS-01", "TW-ANS-02"}  # the answers to questions: test_answer_rules.py
    assert {r.id for r in RULES.rules if r.kind == "language" and r.evaluated} == covered
