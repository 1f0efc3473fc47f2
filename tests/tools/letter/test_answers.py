"""Answers to a client's questions about the shelf (issue 28, part 3): facts from the shelf, the
rules and the plan, in the client's language, with no id and no forecast; a product above the
level is said to be above it, a product the plan holds is given with its share, and one it does
not hold with the reason why."""

from __future__ import annotations

import re

import pytest
from compliance_helpers import plan, profile
from letters import en_letter, zh_letter

from core.schemas.letter import AnswerLine
from core.schemas.plan import Constraint, Plan
from core.schemas.profile import ClientProfile
from core.schemas.request import Question
from core.schemas.special_care import SleeveHolding, SpecialCareOffer
from tools.letter.answers import (
    answer_lines,
    check_answers,
    described_names,
    load_answers,
)
from tools.letter.text import (
    ANSWERED,
    BULLET,
    HEADINGS,
    answer_head,
    answer_parts,
    headings,
    money,
    percent,
    render_text,
)
from tools.market.market_data import load_market

MARKET = load_market()
LOCALES = ["zh-CN", "en"]
# A C3 plan: a money-market fund, both treasury ETFs, the cheaper CSI 300 ETF and one gold ETF.
WEIGHTS = {"TW-MM-01": 0.10, "511260": 0.40, "518880": 0.15, "510300": 0.25, "511010": 0.10}
# The shelf's names of products and issuers: names, in whatever script they are written.
NAMES = sorted(
    {n for p in MARKET.shelf for n in (p.name_zh, p.name_en, *p.issuer.split(" / "))},
    key=len,
    reverse=True,
)
CJK = re.compile(r"[\u3400-\u9fff]")
# Identifiers a client cannot read: shelf codes, what a product tracks as the shelf writes it.
IDS = re.compile(
    r"(?<![A-Za-z0-9-])(?:\d{6}|TW-[A-Z]{2}-\d+|CSI-[A-Z-]+|NDX100|SP500|CGB\d+Y|active-\w+)"
)


def client(locale: str, level: str = "C3", **changes: object) -> ClientProfile:
    return profile(MARKET, risk_level=level, locale=locale).model_copy(update=changes)


def the_plan(prof: ClientProfile, weights: dict[str, float] = WEIGHTS, **changes: object) -> Plan:
    return plan(weights, prof, MARKET).model_copy(update=changes)


def ask(kind: str, target: str, words: str = "") -> Question:
    return Question(kind=kind, target=target, phrase=words, term=words)  # type: ignore[arg-type]


def answer(prof: ClientProfile, pl: Plan, question: Question) -> AnswerLine:
    (found,) = answer_lines([question], prof, pl, MARKET, prof.locale)
    return found


def unnamed(text: str) -> str:
    for name in NAMES:
        text = text.replace(name, " ")
    return text


def read_as_a_client(a: AnswerLine, locale: str) -> None:
    """No code, no tracked id, no word of the other language (names aside, the shelf's)."""
    for line in a.lines:
        assert not IDS.search(line), line
        rest = unnamed(line)
        for words in described_names():
            rest = rest.replace(words, " ")
        if locale == "zh-CN":
            assert not re.findall(r"[A-Za-z]{2,}", rest), line
        else:
            assert not CJK.search(rest), line


@pytest.mark.parametrize("locale", LOCALES)
def test_a_product_the_plan_holds_is_answered_with_its_share_amount_fees_and_liquidity(
    locale: str,
) -> None:
    prof = client(locale)
    pl = the_plan(prof)
    a = answer(prof, pl, ask("product", "510300", "沪深300怎么样"))
    held = next(h for h in pl.holdings if h.product_code == "510300")
    text = "\n".join(a.lines)
    assert a.subject == MARKET.products["510300"].name(locale)
    assert a.question == "沪深300怎么样"
    assert percent(held.weight) in text and money(held.amount, locale) in text
    says = {
        "zh-CN": ["跟踪沪深300指数", "风险等级：R3", "在您可以购买的范围之内", "本方案配置了它",
                  "管理费0.15%", "托管费0.05%", "合计0.20%", "没有锁定期"],
        "en": ["tracks the CSI 300 index", "Risk level: R3", "within what that level allows",
               "This plan holds it", "0.15% a year for management", "0.05% for custody",
               "0.20% a year in all", "no lock-up"],
    }[locale]  # fmt: skip
    for words in says:
        assert words in text, words
    read_as_a_client(a, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_product_above_the_level_is_said_to_be_above_it_and_not_suitable(locale: str) -> None:
    prof = client(locale)
    a = answer(prof, the_plan(prof), ask("product", "513100", "纳指etf适合我吗"))
    text = "\n".join(a.lines)
    above = {
        "zh-CN": ["风险等级：R4", "高于您的风险承受能力等级（C3）", "不适合您",
                  "因为它的风险等级高于您的风险承受能力等级", "纳斯达克100指数", "随汇率变动"],
        "en": ["Risk level: R4", "above what your risk tolerance level (C3) allows",
               "not suitable for you", "because its risk level is above", "Nasdaq-100 index",
               "exchange rate"],
    }[locale]  # fmt: skip
    for words in above:
        assert words in text, words
    assert "本方案配置了它" not in text and "This plan holds it" not in text
    read_as_a_client(a, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_lowest_category_is_told_it_may_buy_r1_only(locale: str) -> None:
    prof = client(locale, "C1", lowest_category=True)
    a = answer(prof, the_plan(prof, {"TW-MM-01": 0.5, "511990": 0.5}), ask("product", "510300"))
    text = "\n".join(a.lines)
    assert ("只能购买R1级产品" if locale == "zh-CN" else "may buy R1 products only") in text
    assert a.question == ""


@pytest.mark.parametrize("locale", LOCALES)
def test_a_look_alike_not_chosen_names_the_one_held_and_the_rule_that_chose_it(
    locale: str,
) -> None:
    prof = client(locale)
    pl = the_plan(prof)
    # The firm's money-market fund costs less than the exchange's: the plan holds it.
    a = answer(prof, pl, ask("product", "511990"))
    line = a.lines[2]
    assert MARKET.products["TW-MM-01"].name(locale) in line
    assert ("费用更低" if locale == "zh-CN" else "its lower fees") in line
    # Two CSI 300 ETFs at the same fees: one of them is enough, and no reason is made up.
    b = answer(prof, pl, ask("product", "159919"))
    assert MARKET.products["510300"].name(locale) in b.lines[2]
    assert ("是因为" if locale == "zh-CN" else "was chosen for") not in b.lines[2]
    # Held, with a look-alike on the shelf: why this one.
    c = answer(prof, pl, ask("product", "TW-MM-01"))
    assert ("费用更低" if locale == "zh-CN" else "its lower fees") in c.lines[2]
    assert ("本公司自己的产品" if locale == "zh-CN" else "our firm's own products") in c.lines[0]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_product_not_chosen_gives_the_reason_that_applies(locale: str) -> None:
    prof = client(locale)
    pl = the_plan(prof)
    zh = locale == "zh-CN"
    # Within the level, buyable, no look-alike held: the plan's weighing, and no judgement.
    weighed = answer(prof, pl, ask("product", "510500")).lines[2]
    assert ("这不是对它未来表现的判断" if zh else "no judgement on how it will do") in weighed
    # Only for qualified investors (R3, within the level).
    qualified = answer(prof, pl, ask("product", "TW-AM-01")).lines[2]
    assert ("只面向合格投资者" if zh else "qualified investors only") in qualified
    # The client asked to leave it out.
    mine = the_plan(
        prof, constraints=[Constraint(kind="exclude", product_code="510500", rule_id="REQUEST")]
    )
    asked_out = answer(prof, mine, ask("product", "510500")).lines[2]
    assert ("您在留言中要求不配置或卖出它" if zh else "you asked us to leave it out") in asked_out
    # A lock-up longer than the horizon allows.
    short = prof.model_copy(update={"qualified_investor": True, "max_lockup_days": 30})
    locked = answer(short, pl, ask("product", "TW-AM-01")).lines[2]
    assert ("90天的锁定期" if zh else "lock-up of 90 days") in locked


@pytest.mark.parametrize("locale", LOCALES)
def test_a_product_in_the_special_care_offer_points_to_it(locale: str) -> None:
    prof = client(locale, "C4")
    offer = SpecialCareOffer(
        holdings=[
            SleeveHolding(product_code="513100", risk_rating="R4", weight=0.1, amount=20_000)
        ],
        weights={**WEIGHTS, "513100": 0.1},
        expected_return=0.05,
        expected_volatility=0.08,
        cooling_off_hours=24,
    )
    excluded = [Constraint(kind="exclude", product_code="513100", rule_id="CN-MIS-07")]
    pl = the_plan(prof, offer=offer, constraints=excluded)
    a = answer(prof, pl, ask("product", "513100"))
    assert (
        "在您可以购买的范围之内" if locale == "zh-CN" else "within what that level allows"
    ) in a.lines[1]
    assert ("另行列出" if locale == "zh-CN" else "set out separately") in a.lines[2]
    # Without the offer, the procedure itself is the reason.
    b = answer(prof, the_plan(prof, constraints=excluded), ask("product", "513100"))
    assert (
        "单独的确认程序" if locale == "zh-CN" else "separate confirmation procedure"
    ) in b.lines[2]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_theme_lists_its_products_levels_what_the_plan_holds_and_the_fee_range(
    locale: str,
) -> None:
    prof = client(locale)
    pl = the_plan(prof)
    gold = answer(prof, pl, ask("theme", "gold", "黄金怎么样"))
    assert gold.subject == ("黄金" if locale == "zh-CN" else "Gold")
    text = "\n".join(gold.lines)
    held = next(h for h in pl.holdings if h.product_code == "518880")
    assert MARKET.products["159934"].name(locale) in text  # on the shelf, not held
    assert percent(held.weight) in text and "0.60%" in text
    equity = answer(prof, pl, ask("theme", "equity"))
    mixed = equity.lines[1]
    # R3 index funds within the level, R4 sector and overseas ones above it: both said.
    assert MARKET.products["510500"].name(locale) in mixed
    assert MARKET.products["513100"].name(locale) in mixed
    assert ("不适合您" if locale == "zh-CN" else "not suitable for you") in mixed
    assert "0.20%" in equity.lines[3] and "0.65%" in equity.lines[3]
    overseas = answer(prof, pl, ask("theme", "overseas"))
    assert ("都高于" if locale == "zh-CN" else "all above") in overseas.lines[1]
    for a in (gold, equity, overseas):
        read_as_a_client(a, locale)


def test_the_client_s_words_are_quoted_on_one_line_and_masked() -> None:
    prof = client("zh-CN")
    words = "黄金\n怎么样  我电话13912345678"
    a = answer(prof, the_plan(prof), ask("theme", "gold", words))
    assert "\n" not in a.question and "13912345678" not in a.question
    assert a.question.startswith("黄金 怎么样 我电话139")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_theme_of_one_product_names_it_and_answers_as_for_the_product(locale: str) -> None:
    prof = client(locale)
    pl = the_plan(prof)
    chips = answer(prof, pl, ask("theme", "semiconductor", "芯片呢"))
    product = answer(prof, pl, ask("product", "512480"))
    assert chips.subject == ("半导体行业" if locale == "zh-CN" else "Semiconductors")
    assert MARKET.products["512480"].name(locale) in chips.lines[0]
    assert chips.lines[1:] == product.lines


def test_one_answer_per_subject_in_the_order_asked_and_none_for_what_is_not_on_the_shelf() -> None:
    prof = client("en")
    questions = [
        ask("theme", "gold"),
        ask("product", "513100"),
        ask("theme", "gold", "gold again?"),
        ask("product", "999999"),
    ]
    found = answer_lines(questions, prof, the_plan(prof), MARKET, "en")
    assert [a.subject for a in found] == ["Gold", MARKET.products["513100"].name_en]


def test_every_product_on_the_shelf_is_answered_in_both_languages() -> None:
    check_answers(MARKET.shelf)
    for locale in LOCALES:
        prof = client(locale)
        pl = the_plan(prof)
        for p in MARKET.shelf:
            a = answer(prof, pl, ask("product", p.code))
            assert len(a.lines) == 5
            read_as_a_client(a, locale)


def test_a_shelf_entry_with_no_words_is_refused_naming_it() -> None:
    odd = MARKET.products["510300"].model_copy(update={"code": "X1", "tracks": "CSI-NEWINDEX"})
    with pytest.raises(ValueError, match="CSI-NEWINDEX"):
        check_answers((*MARKET.shelf, odd))
    assert set(load_answers()["categories"]) >= {p.category for p in MARKET.shelf}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_text_sets_the_answers_after_the_request_s_and_reads_them_back(locale: str) -> None:
    letter = zh_letter() if locale == "zh-CN" else en_letter()
    text = render_text(letter)
    (a,) = letter.answers
    titles = headings(letter)
    assert (
        text.index(titles["answer"])
        < text.index(titles["answers"])
        < text.index(titles["education"])
    )
    assert answer_head(a, locale) in text and ANSWERED[locale] in text
    assert answer_parts(text, locale) == [(a.subject, a.lines)]
    # Prose that imitates the heading, before the section, does not stand in for it.
    fake = f"{HEADINGS['answers'][locale]}\n【{a.subject}】\n{BULLET}made up"
    imitated = letter.model_copy(update={"opening": f"{letter.opening}\n\n{fake}"})
    assert answer_parts(render_text(imitated), locale) == [(a.subject, a.lines)]
    # Without questions the section is not there, and the numbers close up.
    bare = letter.model_copy(update={"answers": []})
    assert answer_parts(render_text(bare), locale) == []
    assert HEADINGS["answers"][locale] not in render_text(bare)
