"""Masking that spacing, invisible characters, numeral scripts and bidi controls cannot defeat
(issue 26 §1): generated valid numbers and addresses, obfuscated as an attacker would."""

from __future__ import annotations

import pytest
from formats import PDF, RLO, Typed, obfuscated, reads
from hypothesis import given, settings
from hypothesis import strategies as st

from core.masking import find_sensitive, mask_text

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
