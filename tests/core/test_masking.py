"""Tests for sensitive-data detection and masking (COMPLIANCE.md §9)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from formats import (
    Typed,
    cards,
    digits_of,
    ids,
    normalised,
    typed_emails,
    typed_numbers,
    typed_secrets,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from core import masking
from core.masking import find_sensitive, luhn_valid, mask_contact, mask_text, valid_id_number


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_sensitive(text)]


@pytest.mark.parametrize("number", ["11010519491231002X", "440304199001011233"])
def test_valid_id_numbers_are_masked_keeping_six_and_four(number: str) -> None:
    assert valid_id_number(number)
    assert kinds(f"身份证号：{number}。") == ["id_number"]
    assert mask_text(number) == number[:6] + "********" + number[-4:]


@pytest.mark.parametrize(
    "number",
    [
        "110105200002300015",  # check digit right, but 30 February
        "990105194912310023",  # check digit right, but province 99 does not exist
    ],
)
def test_near_miss_id_numbers_are_not_ids(number: str) -> None:
    assert not valid_id_number(number)
    assert "id_number" not in kinds(number)
    assert "id_number" not in [f.kind for f in find_sensitive(number, near_misses=True)]


def test_a_mistyped_check_digit_is_masked_but_not_proof_of_an_id() -> None:
    number = "110105194912310021"  # the check character should be X
    assert not valid_id_number(number) and kinds(number) == []
    assert mask_text(f"身份证 {number}") == "身份证 110105********0021"


def test_an_order_number_failing_id_and_card_checks_is_left_alone() -> None:
    text = "订单号202611251234567890已受理"
    assert not valid_id_number("202611251234567890")
    assert find_sensitive(text) == []
    assert mask_text(text) == text


@pytest.mark.parametrize("text", ["10086", "95588", "拨打10086查询", "010-12345678", "AUM 850000"])
def test_service_codes_and_landlines_are_untouched(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("card", "masked"),
    [
        ("6222021234567894", "6222 **** **** 7894"),
        ("4111111111111111", "4111 **** **** 1111"),
        ("622848001234567894", "6228 **** **** 7894"),
        ("6222 0212 3456 7894", "6222 **** **** 7894"),
    ],
)
def test_luhn_valid_cards_are_masked_keeping_first_and_last_four(card: str, masked: str) -> None:
    assert luhn_valid(card.replace(" ", ""))
    assert mask_text(f"卡号{card}，") == f"卡号{masked}，"
    assert kinds(card) == ["bank_card"]


def test_a_card_failing_luhn_is_not_masked() -> None:
    assert not luhn_valid("6222021234567895")
    assert mask_text("6222021234567895") == "6222021234567895"


@pytest.mark.parametrize(
    "phone", ["13912345678", "+86 139 1234 5678", "139-1234-5678", "008613912345678"]
)
def test_mobiles_are_masked_to_three_and_four(phone: str) -> None:
    assert mask_text(f"电话：{phone}。") == "电话：139****5678。"
    assert kinds(phone) == ["mobile"]


def test_two_mobiles_in_one_sentence_are_both_masked() -> None:
    assert mask_text("13912345678 和 13812345678") == "139****5678 和 138****5678"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("联系日期 2026-11-25 13912345678 下午", "13912345678", id="date-mobile"),
        pytest.param("电话13912345678 10086", "13912345678", id="mobile-service-code"),
        pytest.param("call 1 13912345678 today", "13912345678", id="digit-mobile"),
        pytest.param("卡号 6222021234567894 2026年到期", "6222021234567894", id="card-year"),
    ],
)
def test_a_number_next_to_another_number_is_still_masked(text: str, secret: str) -> None:
    # COMPLIANCE §9.3/§9.4 regexes only need a non-digit on each side; a space is enough.
    assert secret not in mask_text(text)


def test_ssn_is_masked_and_never_assigned_ranges_are_not() -> None:
    assert mask_text("SSN 123-45-6789.") == "SSN ***-**-6789."
    for number in ("666-12-3456", "000-12-3456", "123-00-4567", "123-45-0000"):
        assert mask_text(number) == number


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("w@example.com", "w***@example.com"),
        ("wang.fang+vip@mail.example.cn", "w***@mail.example.cn"),
    ],
)
def test_emails_keep_one_letter_of_the_local_part(email: str, masked: str) -> None:
    assert mask_text(f"邮箱 {email} 。") == f"邮箱 {masked} 。"
    assert kinds(email) == ["email"]


def test_mask_contact_masks_every_field_and_keeps_missing_ones() -> None:
    contact = {"phone": "13912345678", "id_number": "11010519491231002X", "email": "w@example.com"}
    assert mask_contact(contact) == {
        "phone": "139****5678",
        "id_number": "110105********002X",
        "email": "w***@example.com",
    }
    assert mask_contact({"phone": "+86 139 1234 5678", "id_number": None, "email": None}) == {
        "phone": "139****5678",
        "id_number": None,
        "email": None,
    }


def test_mask_contact_reads_contact_fields_as_typed() -> None:
    contact = {
        "phone": "＋８６ １３９-１２３４-５６７８",
        "id_number": "110105 19491231 002x",
        "email": "ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    }
    assert mask_contact(contact) == {
        "phone": "139****5678",
        "id_number": "110105********002X",
        "email": "w***@example.com",
    }


# ---------------------------------------------------------------- properties


phones = st.builds(
    lambda second, rest, fmt: fmt.format(f"1{second}{rest[:1]}", rest[1:5], rest[5:]),
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
    st.sampled_from(["{}{}{}", "+86 {} {} {}", "{}-{}-{}", "0086{}{}{}"]),
)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}.com",
    st.from_regex(r"[a-z0-9][a-z0-9._]{0,11}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9]{1,10}", fullmatch=True),
)
secrets = st.one_of(ids, cards, phones, emails)
# Digit-free filler: numbers next to numbers are covered by the explicit adjacency test above.
filler = st.sampled_from(["客户", "电话", "备注", "note", "Dear client", "计划两年内购房"])
separators = st.sampled_from([" ", "，", "。", "\n", "；", "： "])


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    items = draw(st.lists(secrets, min_size=1, max_size=6))
    parts = []
    for item in items:
        parts += [draw(filler), draw(separators), item, draw(separators)]
    return "".join([*parts, draw(filler)]), items


@settings(max_examples=200, deadline=None)
@given(documents())
def test_masking_is_idempotent_and_leaves_nothing_to_find(doc: tuple[str, list[str]]) -> None:
    text, items = doc
    masked = mask_text(text)
    assert mask_text(masked) == masked
    assert find_sensitive(masked) == []
    for item in items:
        assert item not in masked


def test_digits_inside_a_hex_token_are_not_a_phone_number() -> None:
    # A SHA-256 in an audit payload once contained "16103484307", which looks like a mobile.
    assert (
        find_sensitive("hash b286b16103484307ea03ebc34de6d8cdbfd58c690fd9800aff370891be5e4a5c")
        == []
    )
    assert mask_text("手机13912345678") == "手机139****5678"


# ------------------------------------------------ formats people type (issue 11 §4)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        pytest.param("电话：１３９１２３４５６７８。", "电话：139****5678。", id="full-width"),
        pytest.param("١٣٩١٢٣٤٥٦٧٨", "139****5678", id="arabic-indic-digits"),
        pytest.param("139.1234.5678", "139****5678", id="dots"),
        pytest.param("139/1234/5678", "139****5678", id="slashes"),
        pytest.param("139,1234,5678", "139****5678", id="commas-3-4-4"),
        pytest.param("电话139，1234，5678", "电话139****5678", id="full-width-commas"),
        pytest.param("139 — 1234 — 5678", "139****5678", id="dash-run"),
        pytest.param("139\u00a01234\u30005678", "139****5678", id="nbsp-ideographic-space"),
        pytest.param("139\u200b1234\ufeff5678", "139****5678", id="zero-width"),
        pytest.param("+86 (139) 1234-5678", "139****5678", id="country-code-parentheses"),
        pytest.param("tel13912345678", "tel139****5678", id="tel-prefix"),
        pytest.param("Mobile#139 1234 5678", "Mobile#139****5678", id="mobile-hash"),
        pytest.param("ID11010519491231002X", "ID110105********002X", id="id-prefix"),
        pytest.param("110105 1949 1231 002X", "110105********002X", id="id-6-4-4-4"),
        pytest.param("110105-19491231-002x", "110105********002X", id="id-6-8-4-dashes"),
        pytest.param("110105 1949-12-31 002X", "110105********002X", id="id-typed-birth-date"),
        pytest.param(
            "１１０１０５１９４９１２３１００２Ｘ", "110105********002X", id="id-full-width"
        ),
        pytest.param("老身份证110105491231002", "老身份证110105*****1002", id="id-15-digits"),
        pytest.param("card6222021234567894", "card6222 **** **** 7894", id="card-prefix"),
        pytest.param(
            "卡号：6222-0212-3456-7895", "卡号：6222 **** **** 7895", id="card-label-no-luhn"
        ),
        pytest.param("6222.0212.3456.7894", "6222 **** **** 7894", id="card-dots"),
        pytest.param("用户@例子.中国", "用***@例子.中国", id="email-chinese"),
        pytest.param("josé@exämple.com", "j***@exämple.com", id="email-accents"),
        pytest.param("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "w***@example.com", id="email-full-width"),
        pytest.param("邮箱wang@example.com", "邮箱w***@example.com", id="email-after-chinese"),
    ],
)
def test_formats_people_type_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert mask_text(masked) == masked


@pytest.mark.parametrize(
    "text",
    [
        "AUM 1,200,000，现金 850000.00 元",
        "2026-11-25 与 2026/11/26、2026.11.27",
        "比率 0.13912345678",
        "plan_hash " + "a" * 53 + "13912345678",
        "13912345678" + "ab" * 26 + "c",
        "510300 / 512480 / 159915",
        "订单 6222021234567895",
    ],
)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_dates_beside_a_number_stay_dates() -> None:
    assert mask_text("2026-11-25 13912345678") == "2026-11-25 139****5678"
    assert mask_text("13912345678 20261125") == "139****5678 20261125"


# ------------------------------------------------ properties over formats


@settings(max_examples=400, deadline=None)
@given(typed_numbers)
def test_typed_numbers_never_keep_their_hidden_digits(typed: Typed) -> None:
    masked = mask_text(typed.text)
    # Whatever the format, only the first 3 (mobile), 4 (card) or 6 (ID) digits and the last 4
    # remain, after a country code the masker left outside the number.
    value = typed.secret
    shown = {lead + value[:k] + value[-4:] for lead in {"", typed.lead} for k in (3, 4, 6)}
    assert digits_of(masked) in shown, (typed.text, masked)
    assert mask_text(masked) == masked


@settings(max_examples=200, deadline=None)
@given(typed_emails())
def test_international_emails_never_keep_their_local_part(typed: Typed) -> None:
    local, _, domain = typed.secret.partition("@")
    masked = normalised(mask_text(f"{typed.text}。"))
    assert f"{local}@" not in masked
    assert f"{local[0]}***@{domain}" in masked


hashes = st.builds(lambda b: hashlib.sha256(b).hexdigest(), st.binary())
hex_tokens = st.text("0123456789abcdef", min_size=64, max_size=64)
dates = st.builds(
    lambda d, fmt: d.strftime(fmt),
    st.dates(date(1950, 1, 1), date(2030, 12, 31)),
    st.sampled_from(
        ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d %H:%M"]
    ),
)
amounts = st.builds(
    lambda n, cents, fmt: fmt.format(n=n, c=cents, f=n + cents / 100),
    st.integers(0, 9_999_999_999),
    st.integers(0, 99),
    st.sampled_from(["{n:,}", "{n}.{c:02d}", "¥{f:,.2f}", "{n} 元", "RMB {f:,.2f}", "AUM {n}"]),
)
harmless = st.one_of(hashes, hex_tokens, dates, amounts)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(harmless, min_size=1, max_size=5), st.sampled_from(["，", "；", "、", " and ", "\n"])
)
def test_hashes_dates_and_amounts_are_untouched(items: list[str], joiner: str) -> None:
    text = joiner.join(items)
    assert mask_text(text) == text


@st.composite
def typed_documents(draw: st.DrawFn) -> list[str]:
    """Typed secrets and look-alikes in Chinese and English text, as a list of parts."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        item = draw(st.one_of(typed_secrets.map(lambda t: t.text), harmless))
        parts += [draw(filler), draw(separators), item, draw(separators)]
    return [*parts, draw(filler)]


@settings(max_examples=200, deadline=None)
@given(typed_documents())
def test_in_chinese_and_english_text_each_item_is_masked_as_alone(parts: list[str]) -> None:
    text = "".join(parts)
    masked = mask_text(text)
    assert masked == "".join(mask_text(p) for p in parts)
    assert mask_text(masked) == masked
    assert find_sensitive(masked, near_misses=True) == []


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (r"no client '+86\u206013812345678'", "13812345678"),  # repr() of an invisible joiner
        (r"id 11010519491231002\uff38 here", "11010519491231002"),  # a full-width X, escaped
        (r"card 6222\x200212\u00a03456\U00002060789012", "3456"),  # three escape forms
    ],
)
def test_items_written_with_escapes_are_masked_as_the_characters_themselves(
    text: str, hidden: str
) -> None:
    """An id shown with repr() in an error or a log line escapes its invisible characters; the
    digits around the escapes are still one item."""
    assert hidden not in mask_text(text)
    assert mask_text(r"a\path and \x41 stay") == r"a\path and \x41 stay"


def test_an_id_run_together_with_an_email_is_masked_on_a_later_pass() -> None:
    masked = mask_text("身份证110105491231002 9@qq.com 买黄金")
    assert "110105491231002" not in masked


def test_text_that_keeps_revealing_numbers_loses_every_digit_rather_than_raise() -> None:
    crafted = "13800001391 " + "2341391 " * 60
    masked = mask_text(crafted)
    assert not any(ch.isdigit() for ch in masked)


def test_remembered_findings_keep_no_raw_text_and_each_caller_its_own_list() -> None:
    text = "请回电 13912345678，谢谢。"
    first = masking.find_sensitive(text)
    first.clear()  # a caller's list is its own
    again = masking.find_sensitive(text)
    assert [f.kind for f in again] == ["mobile"]
    assert again == masking.find_sensitive(text)
    remembered = list(masking._remembered.items())
    assert all(isinstance(k, bytes) and len(k) == 32 for k, _ in remembered)
    assert "13912345678" not in repr(remembered)
