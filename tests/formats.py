"""Hypothesis strategies for contact data as people type it, and how a reader reads it back."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from hypothesis import strategies as st

from core.masking import luhn_valid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44]
PROVINCES += [45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 91]
# Whitespace, dashes, dots, slashes and parentheses in their full-width and typographic forms,
# and the zero-width characters pasted text carries.
SEPARATOR_CHARS = (
    " \u00a0\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212－./／_·()\u200b\u200d\u2060\ufeff"
)
# ASCII, full-width, Arabic-Indic, Devanagari and mathematical bold digits.
DIGIT_ZEROS = (0x30, 0xFF10, 0x0660, 0x0966, 0x1D7CE)


@dataclass(frozen=True)
class Typed:
    """A secret as typed, the secret itself, and digits typed before it that may stay (+86)."""

    text: str
    secret: str
    lead: str = ""


def normalised(text: str) -> str:
    """The text as a reader takes it in: NFKC, any decimal digit as ASCII, zero-width dropped."""
    out = []
    for char in text:
        if unicodedata.category(char) != "Cf":
            digit = unicodedata.decimal(char, None)
            out.append(str(digit) if digit is not None else unicodedata.normalize("NFKC", char))
    return "".join(out)


# Chinese numerals read digit by digit, as phone numbers are spoken (幺 is 1, 两 is 2), and the
# financial capitals (大写).
CHINESE_NUMERALS = [
    "零〇",
    "一幺壹",
    "二两贰",
    "三叁",
    "四肆",
    "五伍",
    "六陆",
    "七柒",
    "八捌",
    "九玖",
]
_NUMERAL_DIGITS = {c: str(d) for d, chars in enumerate(CHINESE_NUMERALS) for c in chars}
RLO, PDF = "\u202e", "\u202c"
_OVERRIDDEN = re.compile(f"{RLO}([^{PDF}\n]*)")


def readable(text: str, *, shown: bool = False, stars: bool = True) -> str:
    """What a reader can read back, however it is spaced: no separators, invisible characters or
    combining marks, every numeral a digit; `shown` reads a right-to-left override's run (U+202E)
    in the order a screen shows it, and without `stars` a star is a separator like any other."""
    if shown:
        text = _OVERRIDDEN.sub(lambda m: m.group(1)[::-1], text)
    out = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.category(char) not in ("Cf", "Mn", "Me"):
            digit = unicodedata.decimal(char, None)
            out.append(str(digit) if digit is not None else _NUMERAL_DIGITS.get(char, char))
    read = unicodedata.normalize("NFKC", "".join(out)).upper()
    return "".join(c for c in read if c.isalnum() or c == "@" or (stars and c == "*"))


def reads(surface: str, secret: str) -> bool:
    """Whether a reader can read the secret back from the surface, as stored or as shown.

    Stars stay only in an address: w***@example.com is no longer w@example.com, but
    139*1234*5678 is still 13912345678 (a masked number has lost its digits, stars or not)."""
    stars = "@" in secret
    return any(readable(secret) in readable(surface, shown=s, stars=stars) for s in (False, True))


def digits_of(text: str) -> str:
    """The digits (and ID check letter) left in a text, normalised."""
    return "".join(c for c in normalised(text).upper() if c.isdigit() or c == "X")


def check_char(body: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def id_number(province: int, area: int, born: date, seq: int) -> str:
    body = f"{province:02d}{area:04d}{born:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def with_luhn(body: str) -> str:
    return next(body + c for c in "0123456789" if luhn_valid(body + c))


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


ids = st.builds(
    id_number,
    st.sampled_from(PROVINCES),
    st.integers(0, 9999),
    st.dates(date(1900, 1, 1), date(2020, 12, 31)),
    st.integers(0, 999),
)
cards = st.builds(
    lambda prefix, digits, length: with_luhn((prefix + digits)[: length - 1]),
    st.sampled_from(["62", "4", "51"]),
    st.text("0123456789", min_size=18, max_size=18),
    st.integers(16, 19),
)
id18 = st.builds(
    lambda id_, wrong: id_[:17] + next(c for c in "0123456789X" if c != id_[17]) if wrong else id_,
    ids,
    st.booleans(),
)
id15 = st.builds(
    lambda province, area, born, seq: f"{province:02d}{area:04d}{born:%y%m%d}{seq:03d}",
    st.sampled_from(PROVINCES),
    st.integers(0, 9999),
    st.dates(date(1900, 1, 1), date(1999, 12, 31)),
    st.integers(0, 999),
)
mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
)
CARD_GROUPINGS = {
    n: [[n], [6, n - 6], [4, 4, 4, n - 12], *([[4, 4, 4, 4, 3]] if n == 19 else [])]
    for n in range(16, 20)
}


def _styled(char: str, style: int) -> str:
    if not char.isdigit():
        return ["X", "x", "Ｘ"][style % 3]
    return chr(DIGIT_ZEROS[style] + int(char))


@st.composite
def rendered(draw: st.DrawFn, value: str, groupings: list[list[int]]) -> str:
    """The value in random digit styles, split into groups joined by separator runs."""
    styles = draw(st.lists(st.integers(0, 4), min_size=len(value), max_size=len(value)))
    if draw(st.booleans()):
        styles = [styles[0]] * len(value)  # one style throughout, as most people type
    chars = [_styled(c, s) for c, s in zip(value, styles, strict=True)]
    out, at = [], 0
    for size in draw(st.sampled_from(groupings)):
        if at:
            out.append(draw(st.text(SEPARATOR_CHARS, min_size=1, max_size=3)))
        out += chars[at : at + size]
        at += size
    return "".join(out)


@st.composite
def typed_mobiles(draw: st.DrawFn) -> Typed:
    value = draw(mobiles)
    lead = draw(st.sampled_from(["", "+86", "0086", "＋８６", "(+86)"]))
    label = draw(
        st.sampled_from(["", "tel", "Tel:", "TEL#", "mobile", "phone: ", "手机", "电话："])
    )
    sep = draw(st.text(SEPARATOR_CHARS, max_size=2)) if lead else ""
    text = lead + sep + draw(rendered(value, [[11], [3, 4, 4], [3, 8], [7, 4]]))
    return Typed(label + text, value, digits_of(lead))


@st.composite
def typed_ids(draw: st.DrawFn) -> Typed:
    """18-character IDs (some with a mistyped check digit) and 15-digit first-generation IDs."""
    if draw(st.booleans()):
        value, groupings = draw(id18), [[18], [6, 8, 4], [6, 4, 4, 4], [3, 3, 8, 4]]
    else:
        value, groupings = draw(id15), [[15], [6, 6, 3], [6, 9]]
    label = draw(st.sampled_from(["", "ID", "idno:", "ID No. ", "身份证号", "证件："]))
    return Typed(label + draw(rendered(value, groupings)), value)


@st.composite
def typed_cards(draw: st.DrawFn) -> Typed:
    """Cards passing Luhn, and cards failing it after a label that says what they are."""
    value = draw(cards)
    label = draw(st.sampled_from(["card", "Card No.", "卡号", "卡号：", "acct#", "银行卡 "]))
    if draw(st.booleans()):
        value = value[:-1] + str((int(value[-1]) + 1) % 10)
    else:
        label = draw(st.sampled_from(["", label]))
    return Typed(label + draw(rendered(value, CARD_GROUPINGS[len(value)])), value)


local_parts = st.from_regex(r"[a-z0-9]{1,8}|[\u4e00-\u9fff]{1,4}|[a-zà-öø-ÿ]{1,8}", fullmatch=True)
domains = st.from_regex(
    r"([a-z][a-z0-9]{1,8}|[a-zà-öø-ÿ]{2,8}|[\u4e00-\u9fff]{2,4})\.(com|cn|中国)", fullmatch=True
)


@st.composite
def typed_emails(draw: st.DrawFn) -> Typed:
    """Internationalised addresses, some typed in full-width forms, some after a label."""
    address = f"{draw(local_parts)}@{draw(domains)}"
    text = full_width(address) if draw(st.booleans()) else address
    return Typed(draw(st.sampled_from(["", "邮箱 ", "mail: ", "请发到 "])) + text, address)


typed_numbers = st.one_of(typed_mobiles(), typed_ids(), typed_cards())
typed_secrets = st.one_of(typed_numbers, typed_emails())


# ------------------------------------------------ obfuscations (issue 26 §1)

# Zero-width space, non-joiner and joiner, word joiner, BOM, variation selectors, the combining
# grapheme joiner; then combining marks, and bidi marks, embeddings and isolates.
INVISIBLES = "\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f\u034f"
COMBINING = "".join(chr(c) for c in range(0x300, 0x370))
BIDI_CONTROLS = "\u200e\u200f\u202a\u202b\u202c\u2066\u2067\u2068\u2069"
BLANKS = " \t\u00a0\u3000"
GAP_MARKS = "-|./"
# Labels that say a card follows (core.masking's _CARD_LABEL): it is then read across a wide gap.
CARD_LABELS = ["卡号", "卡号：", "card ", "Card No. ", "acct#", "银行卡 "]


def _numeral(char: str, style: int) -> str:
    """A digit in one of five digit scripts or as a Chinese numeral; the ID's X as typed."""
    if not char.isdigit():
        return ["X", "x", "Ｘ"][style % 3]
    if style < len(DIGIT_ZEROS):
        return chr(DIGIT_ZEROS[style] + int(char))
    return CHINESE_NUMERALS[int(char)][style % len(CHINESE_NUMERALS[int(char)])]


def _marks_only(char: str) -> bool:
    """Neither a letter nor a digit once NFKC has read it (℃ reads °C, ㈱ reads (株))."""
    return not any(c.isalnum() for c in unicodedata.normalize("NFKC", char))


def _not_thousands(gap: str) -> bool:
    """Not a lone comma, which before three digits is a thousands separator (1,000)."""
    return unicodedata.normalize("NFKC", gap) != ","


blank_runs = st.text(BLANKS, min_size=1, max_size=8)
# A few of the separators people put in numbers, between optional blanks: a narrow gap, which
# any number is read across.
narrow_gaps = st.one_of(
    blank_runs,
    st.builds(
        lambda before, mark, after: before + mark + after,
        st.sampled_from(["", " ", "\u3000", "\t"]),
        st.sampled_from(GAP_MARKS),
        st.sampled_from(["", " ", "\u3000", "\t"]),
    ),
)
# Any run of punctuation, symbols and blanks on one line (、 ~ : * ‖ — …): a wide gap, which a
# mobile and an ID are read across, and a card after its label. Four stars in a row are a mask
# masking wrote (139****5678), which it leaves alone.
wide_gaps = st.text(
    st.characters(categories=["P", "S", "Zs"]).filter(_marks_only), min_size=1, max_size=6
).filter(lambda gap: "****" not in unicodedata.normalize("NFKC", gap))
gaps = st.one_of(narrow_gaps, wide_gaps)


@st.composite
def hidden(
    draw: st.DrawFn,
    value: str,
    groupings: list[list[int]],
    between: st.SearchStrategy[str] = gaps,
) -> str:
    """The value in mixed numeral scripts, its groups apart by gaps drawn from `between`,
    invisible characters and marks between its characters; or all of it reversed inside
    U+202E…U+202C.

    Inside an override only invisible characters and combining marks are strewn: a PDF or an
    isolate there would end the override or turn part of it back, so the value would not show."""
    reverse = draw(st.booleans())
    noise = INVISIBLES + COMBINING + ("" if reverse else BIDI_CONTROLS)
    styles = draw(st.lists(st.integers(0, 7), min_size=len(value), max_size=len(value)))
    out, at = [], 0
    for size in draw(st.sampled_from(groupings)):
        if at:
            out.append(draw(between.filter(_not_thousands) if size == 3 else between))
        for char, style in zip(value[at : at + size], styles[at : at + size], strict=True):
            out.append(_numeral(char, style) + draw(st.text(noise, max_size=2)))
        at += size
    text = "".join(out)
    return RLO + text[::-1] + PDF if reverse else text


@st.composite
def hidden_address(draw: st.DrawFn, address: str) -> str:
    """An address in full-width forms or not, invisible characters and combining marks between
    its characters; or all of it reversed inside U+202E…U+202C."""
    text = full_width(address) if draw(st.booleans()) else address
    noise = st.text(INVISIBLES + COMBINING, max_size=2)
    text = "".join(c + draw(noise) for c in text[:-1]) + text[-1]
    return RLO + text[::-1] + PDF if draw(st.booleans()) else text


def _hidden_as(
    values: st.SearchStrategy[str],
    groupings: Callable[[str], list[list[int]]],
    between: st.SearchStrategy[str] = gaps,
) -> st.SearchStrategy[Typed]:
    return values.flatmap(
        lambda v: hidden(v, groupings(v), between).map(lambda text: Typed(text, v))
    )


obfuscated_mobiles = _hidden_as(mobiles, lambda _: [[11], [3, 4, 4], [3, 8], [7, 4]])
obfuscated_ids = _hidden_as(ids, lambda _: [[18], [6, 8, 4], [6, 4, 4, 4], [3, 3, 8, 4]])
# Luhn alone is no proof across a wide gap (a list of product codes passes it one time in ten):
# a card is apart by narrow gaps, or by any after a label that says it is a card.
obfuscated_cards = st.one_of(
    _hidden_as(cards, lambda v: CARD_GROUPINGS[len(v)], narrow_gaps),
    st.builds(
        lambda label, typed: Typed(label + typed.text, typed.secret),
        st.sampled_from(CARD_LABELS),
        _hidden_as(cards, lambda v: CARD_GROUPINGS[len(v)]),
    ),
)
obfuscated_emails = st.builds(
    lambda local, domain: f"{local}@{domain}", local_parts, domains
).flatmap(lambda a: hidden_address(a).map(lambda text: Typed(text, a)))
# A valid ID, mobile, Luhn-valid card or address, obfuscated as an attacker would.
obfuscated = st.one_of(obfuscated_mobiles, obfuscated_ids, obfuscated_cards, obfuscated_emails)
