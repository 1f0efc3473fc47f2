"""The chains of digit groups that numbers come from, in a reading of a text (core/masking_read).

People put any punctuation, symbols and blanks between the groups of a number (139、1234、5678,
139 | | 1234 | | 5678, 139*1234*5678), so a chain joins groups across a gap: any run of
characters of Unicode categories P, S and Zs (a reading has made each run of blanks one space),
and at most one line break; a letter, an ideograph other than a numeral, a digit or a second
line break ends it. How wide the gap is decides which numbers may be read across it (Gap):

- narrow, a few of SEPARATORS (139-1234-5678, 6222 0212 3456 7894): any number;
- wide, any other run on one line: a mobile (1[3-9] and nine digits, +86 before it or not) or an
  18-character ID with its province, birth date and check digit, structures that lists of
  product codes or amounts seldom have; a card, which is only Luhn (right for one run of digits
  in ten), only after a label that says it is one (卡号, card no.), and never a 15-digit ID or
  one failing its check;
- a line break: a mobile or a checked ID typed across lines, never a card.

What a gap is not: four stars in a row are a mask masking wrote (139****5678); a dot beside a
short group is a decimal point (850000.00) and a lone comma in an amount's shape is a thousands
separator (1,391,234), and a number neither starts inside an amount nor ends before a decimal
point. Across a wide gap or a line break each side of it holds three digits or more, as people
group numbers (139 1234 5678, 110105 19491231 002X): groups of one or two are list items and
times (第1、3、5条, 13:45). A chain of several groups followed by a unit of amount (元, 万, %,
yuan) is a list of figures (买159915 20000元), not a number. What is left is the price of reading
139、1234、5678: plain figures whose digits happen to make a mobile (13000；100；100,
13000000，100) read as one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from itertools import pairwise

from core.masking_read import LINE_BREAKS


class Gap(IntEnum):
    """How far apart two digit groups are: which numbers may be read across them."""

    NARROW = 1
    WIDE = 2
    LINE = 3


# In a reading: a space (any run of blanks), hyphens, dashes and minus signs, dots, slashes,
# bars, underscores, middle dots and parentheses.
SEPARATORS = frozenset(
    " -./\\|_()\u00b7\u2010\u2011\u2012\u2013\u2014\u2015\u2027\u2212\u30fb\ufe63"
)
MAX_SEPARATORS = 3  # a narrow run such as " - " between two groups
MIN_PIECE = 3  # digits on each side of a wide gap or a line break
MASK = "****"  # the least masking writes between the digits it shows
MAX_NUMBER_DIGITS = 21  # a 19-digit card, or +86/0086 and an 11-digit mobile
_GROUP_RE = re.compile(r"[0-9]+")
_TOKEN_RE = re.compile(r"[0-9A-Za-z]+")
_DIGIT_RE = re.compile(r"[0-9]")
_HEX_TOKEN = re.compile(r"[0-9A-Fa-f]{16,}")
# An amount's thousands, however the list around it is punctuated ("，" reads as ","): the 000
# of 130,000，10000 ends the amount.
_AMOUNT_RE = re.compile(r"(?<![0-9])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9]|,[0-9]{3}(?![0-9]))")
_UNIT_RE = re.compile(r" ?(?:[元万亿千块份股%‰]|yuan|rmb|cny)", re.IGNORECASE)
_DATE_SEPARATORS = ("-", "/", ".")

Classify = Callable[[str, str, Gap], tuple[str, str] | None]
Number = tuple[int, int, str, str]  # start, end, kind, masked form


def _alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _may_start(norm: str, start: int, token: tuple[int, int]) -> bool:
    """Whether a number may start at the digit group at start, inside this ASCII alnum token."""
    if norm[start - 1 : start] == "." and norm[start - 2 : start - 1].isdigit():
        whole = start - 1
        while whole > 0 and norm[whole - 1].isdigit():
            whole -= 1
        # The fraction of a decimal (0.13912345678 is a ratio), unless "+86." is a country code.
        return norm[whole - 1 : whole] == "+"
    if token[0] == start:
        return True
    # Letters alone before the digits are a label (tel13912345678, ID11010519491231002X);
    # a token mixing digits and letters before them, or one long hex run, is a hash or a code.
    if _DIGIT_RE.search(norm, token[0], start):
        return False
    return not _HEX_TOKEN.fullmatch(norm, *token)


def _gap_char(char: str) -> bool:
    # A spacing mark a reading keeps (the stem of U+1D1BB, a symbol) is the character's it is on.
    category = unicodedata.category(char)
    return category[0] in "PSM" or category == "Zs" or char in LINE_BREAKS


def _gap(norm: str, a: tuple[int, int], b: tuple[int, int], commas: set[int]) -> Gap | None:
    """How wide the gap between groups a and b is, or None if no number is read across it."""
    gap = norm[a[1] : b[0]]
    # A dot beside a short group is a decimal point (850000.00, 1.39), not a separator.
    if "." in gap and min(a[1] - a[0], b[1] - b[0]) < 3:
        return None
    if gap == "," and a[1] in commas:
        return None  # a thousands separator
    # A comma before a 4-digit group is no thousands separator: 139,1234,5678 is a mobile.
    narrow = SEPARATORS | {","} if b[1] - b[0] == 4 else SEPARATORS
    if len(gap) <= MAX_SEPARATORS and all(c in narrow for c in gap):
        return Gap.NARROW
    # The first letter or ideograph ends the gap, so a paragraph between two numbers costs little.
    if not all(_gap_char(c) for c in gap) or MASK in gap:
        return None
    breaks = sum(c in LINE_BREAKS for c in gap.replace("\r\n", "\n"))
    if breaks > 1:
        return None
    return Gap.LINE if breaks else Gap.WIDE


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2099


def _typed_date(norm: str, groups: list[tuple[int, int]], k: int) -> bool:
    """Whether groups k, k+1, k+2 are a date typed with one separator: 2026-11-25, 2026/1/5."""
    if k + 2 >= len(groups):
        return False
    (s0, e0), (s1, e1), (s2, e2) = groups[k : k + 3]
    sep = norm[e0:s1]
    return (
        e0 - s0 == 4
        and max(e1 - s1, e2 - s2) <= 2
        and sep in _DATE_SEPARATORS
        and norm[e1:s2] == sep
        and _real_date(int(norm[s0:e0]), int(norm[s1:e1]), int(norm[s2:e2]))
    )


def _dates(norm: str, groups: list[tuple[int, int]]) -> set[int]:
    """Groups that are dates: typed (2026-11-25, 2026/1/5) or on their own (20261125)."""
    dated = set()
    for k, (s, e) in enumerate(groups):
        year, month, day = norm[s : s + 4], norm[s + 4 : s + 6], norm[s + 6 : e]
        if e - s == 8 and _real_date(int(year), int(month), int(day)):
            dated.add(k)
        if _typed_date(norm, groups, k):
            dated.update((k, k + 1, k + 2))
    return dated


@dataclass(frozen=True)
class _Groups:
    """A reading's digit groups, the gaps between them (None where no number is read across),
    the groups that are dates and where the reading cut its groups."""

    norm: str
    spans: list[tuple[int, int]]
    gaps: list[Gap | None]
    dated: set[int]
    cuts: set[int]


def _chains(groups: _Groups, i: int) -> Iterator[tuple[int, str, int, Gap]]:
    """Each chain from group i that may be a number: its last group, value, end, widest gap."""
    norm, digits, widest, piece = groups.norm, "", Gap.NARROW, 0
    for j in range(i, len(groups.spans)):
        gap = groups.gaps[j - 1] if j > i else Gap.NARROW
        if gap is None or (gap > Gap.NARROW and piece < MIN_PIECE):
            return
        widest, piece = max(widest, gap), piece if gap is Gap.NARROW else 0
        start, end = groups.spans[j]
        digits, piece = digits + norm[start:end], piece + end - start
        if len(digits) > MAX_NUMBER_DIGITS:
            return
        value = digits
        if len(digits) == 17 and norm[end : end + 1] in ("X", "x"):
            value, end = digits + "X", end + 1
        if end not in groups.cuts and _alnum(norm[end : end + 1]):
            return  # the digits run on into a word or a hash
        # Digits before a decimal point end an amount (130，10000000.00), not a number.
        decimal = j + 1 < len(groups.spans) and groups.gaps[j] is None and norm[end] == "."
        if piece >= MIN_PIECE and not (decimal and groups.spans[j + 1][0] == end + 1):
            yield j, value, end, widest


def _longest(groups: _Groups, i: int, classify: Classify) -> Number | None:
    """The longest chain of groups from group i that classifies as a number."""
    norm, start = groups.norm, groups.spans[i][0]
    lead = start - (norm[start - 1 : start] == "+")
    before = norm[max(lead - 24, 0) : lead]
    best = None
    for j, value, end, widest in _chains(groups, i):
        if j > i and _UNIT_RE.match(norm, end):
            continue  # groups followed by a unit are figures: 买159915 20000元
        found = classify(value, before, widest) if j == i or i not in groups.dated else None
        if found and (j == i or not _beside_a_date(groups, i, j, found[0])):
            best = (lead, end, *found)
    return best


def _beside_a_date(groups: _Groups, i: int, j: int, kind: str) -> bool:
    """Whether the chain of groups i to j holds a date that is not the number's own.

    A chain that ends with a date is a number beside it (13912345678 20261125, 130，20000101);
    a date inside one is an ID's birth date (110105 1949-12-31 002X), and eight digits that end
    a mobile after a narrow gap are the mobile's (139 19491231)."""
    if kind != "id_number" and any(k in groups.dated for k in range(i + 1, j)):
        return True
    start, end = groups.spans[j]
    mobile_ends = kind == "mobile" and end - start == 8 and groups.gaps[j - 1] is Gap.NARROW
    return j in groups.dated and not mobile_ends


def _cut(span: tuple[int, int], cuts: set[int]) -> list[tuple[int, int]]:
    """The digit group at span, cut where a reading put apart digits side by side."""
    inside = [k for k in range(span[0] + 1, span[1]) if k in cuts] if cuts else []
    return list(pairwise([span[0], *inside, span[1]]))


def numbers(norm: str, classify: Classify, cuts: set[int]) -> list[Number]:
    """Mobiles, cards and ID numbers: from each digit group, the longest chain that classifies.

    A group is cut where the reading shows apart digits side by side (core/masking_read.seams):
    the pieces join as across a narrow gap, and a number may start at each."""
    spans = [piece for m in _GROUP_RE.finditer(norm) for piece in _cut(m.span(), cuts)]
    commas = {k for m in _AMOUNT_RE.finditer(norm) for k in range(*m.span()) if norm[k] == ","}
    gaps = [_gap(norm, a, b, commas) for a, b in pairwise(spans)]
    groups = _Groups(norm, spans, gaps, _dates(norm, spans), cuts)
    tokens = iter(m.span() for m in _TOKEN_RE.finditer(norm))
    found = []
    token = (0, 0)
    # Every start is tried, so a number next to a date or another number is still found.
    for i, (start, _) in enumerate(spans):
        while token[1] <= start:
            token = next(tokens)  # every digit group lies inside one ASCII alnum token
        # The rest of an amount (the 391 of 1,391) starts nothing.
        if start in cuts or (start - 1 not in commas and _may_start(norm, start, token)):
            best = _longest(groups, i, classify)
            if best:
                found.append(best)
    return found
