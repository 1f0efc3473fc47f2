"""The reader's categories of issue 28 (tools/market/intent.py, data/request_lexicon.yaml):
hedged figures, money set aside, "only" and "the rest", informal spellings, feelings that mean
less risk, signatures, wanting to know about a name, in zh-CN and en; and for each, what must
still go to a person."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from tools.market.intent import LEXICON_FILE, _respelt, lexicon_for, parse_request
from tools.market.market_data import MarketData

AS_OF = date(2026, 11, 25)
DATA = yaml.safe_load(LEXICON_FILE.read_text("utf-8"))


def wishes(text: str, market: MarketData) -> list[tuple[str, str, float | None, float | None]]:
    intent = parse_request(text, market, AS_OF)
    assert intent.understood, intent
    assert all(w.sure for w in intent.wishes), intent
    return sorted((w.direction, w.target, w.share, w.amount) for w in intent.wishes)


# ---------------------------------------------------------------- hedged amounts and shares


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("黄金配个一成左右吧", [("buy", "gold", 0.1, None)]),
        ("五万左右买黄金", [("buy", "gold", None, 50000.0)]),
        ("黄金大概两成上下", [("buy", "gold", 0.2, None)]),
        ("大约三万元买可转债", [("buy", "convertible", None, 30000.0)]),
        ("about 20% in gold", [("buy", "gold", 0.2, None)]),
        ("roughly 10k into bonds", [("buy", "bond", None, 10000.0)]),
        ("Put around 15 percent in short-term bonds pls", [("buy", "bond", 0.15, None)]),
        ("approximately 10% gold or so", [("buy", "gold", 0.1, None)]),
    ],
)
def test_a_hedged_figure_is_that_figure(
    market: MarketData, text: str, expected: list[tuple[str, str, float | None, float | None]]
) -> None:
    assert wishes(text, market) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想买点黄金，金额三万左右", [("buy", "gold", None, 30000.0)]),
        ("I'd like some gold, about 20k", [("buy", "gold", None, 20000.0)]),
        ("多配点债券，两成左右", None),  # more by two tenths, or to them? A person asks.
        ("买点黄金和债券，三万左右", None),  # split how? Only one name takes a figure alone.
    ],
)
def test_a_figure_alone_belongs_to_the_clause_before(
    market: MarketData,
    text: str,
    expected: list[tuple[str, str, float | None, float | None]] | None,
) -> None:
    intent = parse_request(text, market, AS_OF)
    if expected is None:
        assert not intent.understood, intent
    else:
        assert wishes(text, market) == expected


@pytest.mark.parametrize("text", ["三万左右", "about 20k", "不要黄金，三万左右"])
def test_a_figure_with_nothing_to_belong_to_is_a_doubt(market: MarketData, text: str) -> None:
    assert not parse_request(text, market, AS_OF).understood


# ---------------------------------------------------------------- money set aside


@pytest.mark.parametrize(
    ("text", "amount", "within"),
    [
        ("下个月要用两万块，麻烦留出来", 20000.0, 1.0),
        ("年底要用三万，麻烦预留一下", 30000.0, 12.0),
        ("预留五万，三个月后要用", 50000.0, 3.0),
        ("明年五月份付首付，要用三十万", 300000.0, 6.0),
        ("Please set aside 30k for next month", 30000.0, 1.0),
        ("Keep 30,000 yuan available for the next three months.", 30000.0, 3.0),
        ("I need 20,000 yuan next month, please put it aside.", 20000.0, 1.0),
    ],
)
def test_money_set_aside_is_a_cash_need(
    market: MarketData, text: str, amount: float, within: float
) -> None:
    intent = parse_request(text, market, AS_OF)
    assert intent.understood, intent
    assert [(n.amount, n.within_months) for n in intent.cash_needs] == [(amount, within)]


@pytest.mark.parametrize(
    "text", ["麻烦留出来", "please set some aside", "留一部分", "明年五月份付首付"]
)
def test_setting_aside_with_no_amount_is_a_doubt(market: MarketData, text: str) -> None:
    intent = parse_request(text, market, AS_OF)
    assert not intent.understood and not intent.cash_needs, intent


# ---------------------------------------------------------------- only, and the rest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("只要债券，别的都不要", [("buy", "bond", None, None)]),
        ("只买货币基金，其他都不需要", [("buy", "cash", None, None)]),
        ("Cash only please", [("buy", "cash", None, None)]),
        ("Bonds only, nothing else", [("buy", "bond", None, None)]),
        ("just bonds please, the rest is up to you", [("buy", "bond", None, None)]),
        ("I only want a little stock", [("less", "equity", None, None)]),
        ("股票只要一点点", [("less", "equity", None, None)]),
        (
            "Reduce stocks a bit and add some gold. Everything else up to you",
            [("buy", "gold", None, None), ("less", "equity", None, None)],
        ),
        ("不要黄金，其他都行", [("avoid", "gold", None, None)]),
    ],
)
def test_only_and_the_rest(
    market: MarketData, text: str, expected: list[tuple[str, str, float | None, float | None]]
) -> None:
    assert wishes(text, market) == expected


@pytest.mark.parametrize("text", ["not only bonds", "不只要债券", "everything", "全部"])
def test_only_negated_or_everything_alone_is_a_doubt(market: MarketData, text: str) -> None:
    assert not parse_request(text, market, AS_OF).understood


# ---------------------------------------------------------------- informal spellings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dont want stocks", [("avoid", "equity", None, None)]),
        ("don’t buy stocks", [("avoid", "equity", None, None)]),  # a curly apostrophe
        ("ｄｏｎｔ want stocks", [("avoid", "equity", None, None)]),  # full-width letters
        (
            "no special requests, just dont want too much in the stock market",
            [("less", "equity", None, None)],
        ),
        ("more gold pls thx u", [("more", "gold", None, None)]),
        ("im ok with more bonds plz", [("more", "bond", None, None)]),
        (
            "fewer stonks, more bondz",
            [("less", "equity", None, None), ("more", "bond", None, None)],
        ),
        ("俺想多配点债券，蟹蟹", [("more", "bond", None, None)]),
        ("木有别的要求，多配点黄金", [("more", "gold", None, None)]),
    ],
)
def test_informal_spellings_read_as_their_words(
    market: MarketData, text: str, expected: list[tuple[str, str, float | None, float | None]]
) -> None:
    assert wishes(text, market) == sorted(expected)


def test_a_spelling_is_only_a_whole_word(market: MarketData) -> None:
    """The u of "U.S." or "use" is not "you"; every variant is given once."""
    assert _respelt("u.s. use bonus u im", lexicon_for(market)) == "u.s. use bonus you i'm"
    variants = [v for vs in DATA["spelling"].values() for v in vs]
    assert len(variants) == len(set(variants))


@pytest.mark.parametrize(
    "text", ["dont sell", "i cant decide, u choose the stocks", "wont buy gold"]
)
def test_a_respelt_negation_still_goes_to_a_person(market: MarketData, text: str) -> None:
    intent = parse_request(text, market, AS_OF)
    assert not intent.understood or all(w.direction == "avoid" for w in intent.wishes), intent


# ---------------------------------------------------------------- feelings that mean less risk


@pytest.mark.parametrize(
    "text",
    [
        "波动太大我受不了",
        "我怕亏",
        "担心亏钱，稳一点",
        "稳字当头",
        "保守点，不求大富大贵",
        "风险低点，收益差不多就行",
        "I'm worried about losing money",
        "i cant sleep when the market drops",
        "Play it safe, I'm nervous",
        "I can't afford to lose anything.",
    ],
)
def test_a_feeling_of_risk_asks_for_less(market: MarketData, text: str) -> None:
    intent = parse_request(text, market, AS_OF)
    assert intent.understood and intent.risk == "lower" and not intent.wishes, intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("股票少放一点吧，波动太大我受不了", [("less", "equity", None, None)]),
        ("I'm nervous, fewer stocks please", [("less", "equity", None, None)]),
    ],
)
def test_a_feeling_beside_a_wish(
    market: MarketData, text: str, expected: list[tuple[str, str, float | None, float | None]]
) -> None:
    assert wishes(text, market) == expected
    assert parse_request(text, market, AS_OF).risk == "lower"


@pytest.mark.parametrize(
    "text",
    [
        "worried about gold",
        "担心黄金",
        "I'm not worried about risk",
        "不怕亏，多买股票",
        "怕错过科技股",
    ],
)
def test_a_feeling_about_a_name_or_negated_is_never_a_sure_wish(
    market: MarketData, text: str
) -> None:
    """A feeling about a product is not a wish to buy it; "not worried" is not "worried"."""
    intent = parse_request(text, market, AS_OF)
    assert not intent.understood or intent.risk == "higher", intent
    assert not [w for w in intent.wishes if w.sure and w.direction == "buy"], intent


# ---------------------------------------------------------------- signatures


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("多配债券，谢谢！—小王", [("more", "bond", None, None)]),
        ("多配债券，谢谢！王芳", [("more", "bond", None, None)]),
        ("债券多一点。此致敬礼，陈女士", [("more", "bond", None, None)]),
        ("No stocks, thanks. —Anna", [("avoid", "equity", None, None)]),
        ("More bonds. Best, Anna", [("more", "bond", None, None)]),
        ("All good on my end, do what you think is right. Regards, Li", []),
        ("Fewer stocks. Kind regards, Wang Fang", [("less", "equity", None, None)]),
    ],
)
def test_a_signature_is_not_a_wish(
    market: MarketData, text: str, expected: list[tuple[str, str, float | None, float | None]]
) -> None:
    assert wishes(text, market) == expected


@pytest.mark.parametrize(
    "text",
    [
        "More bonds. Thanks, crypto",  # not a name: no capital
        "More bonds. Thanks, Bitcoin",  # never a name: not on the shelf
        "多配债券。谢谢，比特币",
        "多配债券 —— 明年三月要用",
    ],
)
def test_what_follows_a_sign_off_is_read_unless_it_is_a_name(market: MarketData, text: str) -> None:
    intent = parse_request(text, market, AS_OF)
    assert not intent.understood or intent.cash_needs, intent


def test_a_product_after_a_sign_off_is_still_a_product(market: MarketData) -> None:
    assert wishes("Best, Gold", market) == [("buy", "gold", None, None)]
    both = [("more", "bond", None, None), ("more", "gold", None, None)]
    assert wishes("多配债券。谢谢，黄金", market) == both


# ---------------------------------------------------------------- wanting to know, as a question


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        ("你好，想了解一下沪深300ETF，费用高吗？", {"510300", "159919"}),
        ("想了解一下黄金ETF", {"518880", "159934"}),
        ("黄金ETF了解一下，流动性怎么样？", {"518880", "159934"}),
        ("Tell me about gold. How risky is it?", {"gold"}),
        ("I'd like to learn more about convertible bonds", {"convertible"}),
    ],
)
def test_wanting_to_know_is_a_question_and_a_follow_up_is_about_the_same(
    market: MarketData, text: str, targets: set[str]
) -> None:
    intent = parse_request(text, market, AS_OF)
    assert intent.understood and not intent.wishes, intent
    assert {q.target for q in intent.questions} == targets


@pytest.mark.parametrize("text", ["费用高吗？", "了解一下", "How risky is it?", "想了解一下比特币"])
def test_a_question_about_nothing_named_is_for_a_person(market: MarketData, text: str) -> None:
    intent = parse_request(text, market, AS_OF)
    assert not intent.understood and not intent.questions, intent


# ---------------------------------------------------------------- what stays with a person


@pytest.mark.parametrize(
    "text",
    [
        "别太保守，也别太激进",
        "收益要高，但一分钱都不能亏",
        "Sell half.",
        "黄金会涨吗？大概多少",
        "Buy some crypto and a bit of gold.",
        "dont be too conservative",
        "keep my stocks",
        "不要卖，只要黄金",
    ],
)
def test_ambiguous_phrasings_still_go_to_a_person(market: MarketData, text: str) -> None:
    assert not parse_request(text, market, AS_OF).understood


@pytest.mark.parametrize(
    "text",
    [
        "五万左右买黄金，其余你们定",
        "Roughly 10% in gold please, the rest is your call.",
        "下个月要用五万，请预留出来",
        "预留两万，三个月后要用",
        "只要债券和货币基金，别的都不要",
        "Bonds only please, nothing else.",
        "dont want too many stocks pls, thx",
        "im ok with more bonds, u decide the rest",
        "Don’t buy any private funds for me.",
        "I'm nervous about the market, I can't sleep when it drops.",
        "担心亏钱，股票少配点",
        "No special requests. Thanks, Wang Fang",
        "想了解一下黄金ETF，流动性怎么样？",
        "留两万块应急",
        "Need to keep about 50k aside for school fees in September",
        "只买国债，其他的不要",
        "I just want bonds and cash, nothing fancy",
        "最近睡不着，怕亏，稳健点",
        "I'm a nervous investor, low risk please",
        "能介绍一下纳指ETF吗",
        "Thanks in advance!\n—Tom",
        "谢谢！——张先生",
    ],
)
def test_long_tail_phrasings_of_the_categories_are_read_whole(
    market: MarketData, text: str
) -> None:
    """Every clause read, every wish sure: nothing for a person to confirm."""
    intent = parse_request(text, market, AS_OF)
    assert intent.understood and all(w.sure for w in intent.wishes), intent


# ---------------------------------------------------------------- ranges in Chinese numerals


@pytest.mark.parametrize("text", ["下个月要用三五万", "两三万放黄金", "七八千买可转债"])
def test_a_range_in_chinese_numerals_is_a_doubt_never_one_large_amount(
    text: str, market: MarketData
) -> None:
    """三五万 is 30-50k, not 350k: for a long-tail client that misreading could turn the whole
    plan into cash. A person asks which it is."""
    intent = parse_request(text, market, AS_OF)
    assert not intent.understood
    assert not intent.cash_needs
    assert all(w.amount is None and not w.sure for w in intent.wishes)


def test_one_chinese_number_with_a_unit_between_is_still_one_amount(market: MarketData) -> None:
    assert wishes("一万五放黄金", market) == [("buy", "gold", None, 15000.0)]


@pytest.mark.parametrize(
    "text",
    [
        "风险别太低",
        "不要风险太低",
        "波动不要太小",
        "不要低波动的",
        "我不想要太低的风险",
        "I don't want low risk",
    ],
)
def test_a_negated_low_risk_asks_for_more_and_goes_to_a_person(
    text: str, market: MarketData
) -> None:
    """Not too low a risk is the opposite of safer: never read as a wish for less risk."""
    intent = parse_request(text, market, AS_OF)
    assert intent.risk is None and not intent.understood


@pytest.mark.parametrize("text", ["波动别太大", "no big swings please", "不想亏钱", "风险低一点"])
def test_a_negated_big_risk_still_asks_for_less(text: str, market: MarketData) -> None:
    assert parse_request(text, market, AS_OF).risk == "lower"
