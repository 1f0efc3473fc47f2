"""Tests for sensitive-data detection and masking (COMPLIANCE.md §9)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.masking import (
    find_sensitive,
    luhn_valid,
    mask_contact,
    mask_text,
    valid_id_number,
)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44]
_PROVINCES += [45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 91]


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
        "110105194912310021",  # wrong check character (should be X)
        "110105200002300015",  # check digit right, but 30 February
        "990105194912310023",  # check digit right, but province 99 does not exist
    ],
)
def test_near_miss_id_numbers_are_not_ids(number: str) -> None:
    assert not valid_id_number(number)
    assert "id_number" not in kinds(number)


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


# ---------------------------------------------------------------- properties


def _id_number(province: int, area: int, born: date, seq: int) -> str:
    body = f"{province:02d}{area:04d}{born:%Y%m%d}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def _with_luhn(body: str) -> str:
    return next(body + c for c in "0123456789" if luhn_valid(body + c))


ids = st.builds(
    _id_number,
    st.sampled_from(_PROVINCES),
    st.integers(0, 9999),
    st.dates(date(1900, 1, 1), date(2020, 12, 31)),
    st.integers(0, 999),
)
cards = st.builds(
    lambda prefix, digits, length: _with_luhn((prefix + digits)[: length - 1]),
    st.sampled_from(["62", "4", "51"]),
    st.text("0123456789", min_size=18, max_size=18),
    st.integers(16, 19),
)
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
