"""Masking that spacing, invisible characters, numeral scripts and bidi controls cannot defeat
(issue 26 §1): generated valid numbers and addresses, obfuscated as an attacker would."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from formats import PDF, RLO, Typed, obfuscated, reads, wide_gaps
from hypothesis import given, settings
from hypothesis import strategies as st

from core.bidi import RIGHT_TO_LEFT
from core.masking import find_sensitive, mask_text
from core.masking_read import normalise
from core.masking_scan import SEPARATORS
from tools.market.market_data import load_market

FILLER = ["客户", "请回电", "备注", "note", "Dear client", "计划两年内购房", "please call"]
BOUNDS = [" ", "，", "。", "：", "; ", "\n"]


@settings(max_examples=300, deadline=None)
@given(
    typed=obfuscated,
    before=st.sampled_from(FILLER),
    after=st.sampled_from(FILLER),
    bounds=st.tuples(st.sampled_from(BOUNDS), st.sampled_from(BOUNDS)),
)
def test_an_obfuscated_item_is_masked_and_nothing_else_changes(
    typed: Typed, before: str, after: str, bounds: tuple[str, str]
) -> None:
    prefix, suffix = before + bounds[0], bounds[1] + after
    masked = mask_text(prefix + typed.text + suffix)
    assert not reads(masked, typed.secret), (typed.text, masked)
    assert masked.startswith(prefix) and masked.endswith(suffix), (typed.text, masked)
    assert mask_text(masked) == masked


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FILLER), st.sampled_from(BOUNDS), obfuscated)))
def test_no_obfuscated_item_in_a_document_can_be_read_back(
    parts: list[tuple[str, str, Typed]],
) -> None:
    text = "".join(filler + bound + typed.text + bound for filler, bound, typed in parts)
    masked = mask_text(text)
    for _, _, typed in parts:
        assert not reads(masked, typed.secret), (typed.text, masked)


MOBILE, ID, ADDRESS = "13912345678", "11010519491231002X", "wang@example.com"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("电话一三九一二三四五六七八。", MOBILE, id="chinese-numerals"),
        pytest.param("电话幺三九幺两三四五六七八。", MOBILE, id="spoken-numerals"),
        pytest.param("身份证壹壹零壹零伍壹玖肆玖壹贰叁壹零零贰X", ID, id="financial-capitals"),
        pytest.param("call 139    1234    5678 now", MOBILE, id="four-spaces"),
        pytest.param("call 139\t\t\t\t1234\t\t\t\t5678 now", MOBILE, id="tabs"),
        pytest.param("call 139|1234|5678 now", MOBILE, id="pipes"),
        pytest.param("call 139 | 1234 | 5678 now", MOBILE, id="spaced-pipes"),
        pytest.param("\ufe0e".join(MOBILE), MOBILE, id="variation-selector"),
        pytest.param("\u034f".join(MOBILE), MOBILE, id="grapheme-joiner"),
        pytest.param("\u0301".join(MOBILE), MOBILE, id="combining-marks"),
        pytest.param("139" + "\u200b" * 4 + "1234" + "\u200b" * 4 + "5678", MOBILE, id="zwsp-run"),
        pytest.param("139" + "\u2060" * 5 + "1234" + "\u2060" * 5 + "5678", MOBILE, id="wj-run"),
        pytest.param(f"电话{RLO}87654321931{PDF}。", MOBILE, id="reversed-in-rlo"),
        pytest.param(f"mail {RLO}{ADDRESS[::-1]}{PDF}", ADDRESS, id="address-reversed-in-rlo"),
        pytest.param("call 139 19491231 now", "13919491231", id="mobile-ending-in-a-date"),
    ],
)
def test_what_the_attack_typed_is_masked(text: str, secret: str) -> None:
    masked = mask_text(text)
    assert not reads(masked, secret), masked
    assert find_sensitive(masked, near_misses=True) == []


def test_digit_groups_a_right_to_left_mark_shows_in_reverse_are_masked() -> None:
    text = "call \u200f5678 1234 139 now"  # a screen shows "call 139 1234 5678 now"
    assert [f.kind for f in find_sensitive(text)] == ["mobile"]
    assert "1234" not in mask_text(text)


def test_a_number_reversed_in_an_override_is_masked_in_the_order_it_shows() -> None:
    # The masked form goes into the override reversed, so a screen shows 139****5678.
    assert mask_text(f"电话{RLO}87654321931{PDF}。") == f"电话{RLO}8765****931{PDF}。"


def test_an_override_a_screen_shows_beside_another_number_is_masked() -> None:
    # An isolate left open (U+2067) shows the override's run right after 13812345678: a screen
    # shows 22 digits in a row, the two mobiles side by side.
    text = f"请回电 13812345678\u2067 或 {RLO}87654321931{PDF}"
    masked = mask_text(text)
    assert not reads(masked, "13812345678") and not reads(masked, MOBILE), masked


def test_a_blank_run_is_collapsed_before_masking_not_after() -> None:
    assert mask_text("电话 139    1234    5678。") == "电话 139****5678。"
    assert mask_text("电话 139 \u3000 \t 1234    5678。") == "电话 139****5678。"


harmless = st.sampled_from(
    [
        "我想把一半的钱买债券，三成放到黄金",
        "二〇二六年十一月二十五日",
        "一百二十万元，两年内不用",
        "AUM    1,200,000    现金 850000.00 元",
        "| 510300 | 512480 | 159915 |",
        "2026-11-25    2026/11/26",
        "run-" + "0123456789abcdef" * 2,
        "b286b16103484307ea03ebc34de6d8cdbfd58c690fd9800aff370891be5e4a5c",
        "收益率 3.5%，波动率 一成",
        "壹万贰仟元整",
    ]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(harmless, min_size=1, max_size=4), st.sampled_from(["，", "\n", "    ", " | "]))
def test_ordinary_text_with_numerals_and_wide_gaps_is_untouched(
    items: list[str], joiner: str
) -> None:
    text = joiner.join(items)
    assert mask_text(text) == text


# ------------------------------------------------ any run of marks is a gap (issue 26 §1, review)


@pytest.mark.parametrize(
    "text",
    [
        "139 -- 1234 -- 5678",
        "139 || 1234 || 5678",
        "139 | | 1234 | | 5678",
        "139、1234、5678",
        "139~1234~5678",
        "139:1234:5678",
        "139*1234*5678",
    ],
)
def test_a_mobile_apart_by_any_run_of_marks_is_masked(text: str) -> None:
    assert mask_text(f"请回电{text}。") == "请回电139****5678。"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证110105、19491231、002X", "身份证110105********002X"),
        ("身份证110105、1949、1231、002X", "身份证110105********002X"),
        ("卡号6222、0212、3456、7894", "卡号6222 **** **** 7894"),
        ("卡号：6222～0212～3456～7895", "卡号：6222 **** **** 7895"),  # fails Luhn, labelled
    ],
)
def test_an_id_or_a_labelled_card_split_with_ideographic_commas_is_masked(
    text: str, masked: str
) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("代码 159919、159928、510500", id="codes-passing-luhn"),
        pytest.param("510300、510500、518880", id="codes"),
        pytest.param("6222、0212、3456、7894", id="luhn-unlabelled"),
        pytest.param("110105、491231、002", id="id15-unchecked"),
        pytest.param("110105、19491231、0021", id="id-wrong-check"),
        pytest.param("金额 1,000、2,000、13,912,345,678", id="amounts"),
        pytest.param("分别买1500、2000、300元", id="amounts-with-unit"),
        pytest.param("买159915 20000元", id="code-and-amount"),
        pytest.param("2026-11-25、2026-11-26", id="dates"),
        pytest.param("股债比 3:1、2:1，收益率 13.5%、12.0%、8.25%", id="ratios-percentages"),
        pytest.param("第1、3、5、7、9、11、13、15条", id="enumeration"),
        pytest.param("13:00、14:30、15:45", id="times"),
        pytest.param("电话139****5678、2026年", id="a-mask-and-a-year"),
        pytest.param("130，20000101", id="an-amount-and-a-date"),
        pytest.param("130，10000000.00", id="amounts-with-a-decimal"),
        pytest.param("AUM 499044945，2000-01-09 00:00", id="a-date-inside"),
    ],
)
def test_lists_of_figures_are_not_read_as_one_number(text: str) -> None:
    assert find_sensitive(text, near_misses=True) == []
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请打\n139\n1234\n5678\n谢谢", "请打\n139****5678\n谢谢"),
        ("请打 139 \r\n 1234 \r\n 5678", "请打 139****5678"),
        ("证件\n110105\n19491231\n002X", "证件\n110105********002X"),
    ],
)
def test_a_mobile_or_an_id_typed_across_lines_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("139\n\n1234\n\n5678", id="paragraphs"),
        pytest.param("110105\n19491231\n0021", id="id-wrong-check"),
        pytest.param("6222\n0212\n3456\n7894", id="card"),
        pytest.param("卡号\n6222\n0212\n3456\n7894", id="labelled-card"),
        pytest.param("850000\n120000\n300000", id="amounts"),
    ],
)
def test_across_lines_no_card_no_unchecked_id_and_no_paragraph_is_read(text: str) -> None:
    assert mask_text(text) == text


figures = st.one_of(
    st.sampled_from(sorted(p.code for p in load_market().shelf)),
    st.integers(1000, 10**9).map("{:,}".format),
    st.integers(0, 10**6).map("{}元".format),
    st.floats(0, 100).map("{:.1f}%".format),
    st.dates(date(1900, 1, 1), date(2099, 12, 31)).map(str),
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.integers(1, 99).map(str),
)


def _wide_in_a_list(gap: str) -> bool:
    """A mark no narrow gap holds (across a narrow gap a Luhn-valid run is a card, as in 6222
    0212 …); nothing a screen shows right to left, which would show the figures around it side
    by side; no @, which makes 159919@0.0 an address."""
    read = normalise(gap)[0]
    return (
        not set(read) <= SEPARATORS | {","}
        and RIGHT_TO_LEFT.isdisjoint(map(unicodedata.bidirectional, gap))
        and "@" not in read
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(figures, min_size=2, max_size=6),
    st.one_of(wide_gaps.filter(_wide_in_a_list), st.just("\n")),
)
def test_lists_of_figures_joined_by_any_gap_are_untouched(items: list[str], joiner: str) -> None:
    text = joiner.join(items)
    assert find_sensitive(text, near_misses=True) == [], text
    assert mask_text(text) == text
