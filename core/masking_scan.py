"""The chains of digit groups that numbers come from, in a reading of a text (core/masking_read).

People type any punctuation between the groups of a number, so a chain joins groups apart by a
few separators; a reading has already made each run of blanks one space.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

# In a reading: a space (any run of blanks), hyphens, dashes and minus signs, dots, slashes,
# bars, underscores, middle dots and parentheses. Not line breaks: amounts on consecutive lines
# are a list, not one number.
SEPARATORS = frozenset(
    " -./\\|_()\u00b7\u2010\u2011\u2012\u2013\u2014\u2015\u2027\u2212\u30fb\ufe63"
)
MAX_SEPARATORS = 3  # a run such as " - " between two groups; more is a new item
MAX_NUMBER_DIGITS = 21  # a 19-digit card, or +86/0086 and an 11-digit mobile
_GROUP_RE = re.compile(r"[0-9]+")
_TOKEN_RE = re.compile(r"[0-9A-Za-z]+")
_DIGIT_RE = re.compile(r"[0-9]")
_HEX_TOKEN = re.compile(r"[0-9A-Fa-f]{16,}")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_DATE_SEPARATORS = ("-", "/", ".")

Classify = Callable[[str, str], tuple[str, str] | None]
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


def _joins(norm: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    gap = norm[a[1] : b[0]]
    # A comma before a 4-digit group is no thousands separator: 139,1234,5678 is a mobile.
    allowed = SEPARATORS | {","} if b[1] - b[0] == 4 else SEPARATORS
    if not 1 <= len(gap) <= MAX_SEPARATORS or not all(c in allowed for c in gap):
        return False
    # A dot beside a short group is a decimal point (850000.00, 1.39), not a separator.
    return "." not in gap or min(a[1] - a[0], b[1] - b[0]) >= 3


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


def _longest(
    norm: str,
    groups: list[tuple[int, int]],
    i: int,
    dated: set[int],
    classify: Classify,
) -> Number | None:
    """The longest chain of groups from group i that classifies as a number."""
    start = groups[i][0]
    lead = start - (norm[start - 1 : start] == "+")
    before = norm[max(lead - 24, 0) : lead]
    best, digits = None, ""
    for j in range(i, len(groups)):
        if j > i and not _joins(norm, groups[j - 1], groups[j]):
            break
        digits += norm[groups[j][0] : groups[j][1]]
        end = groups[j][1]
        if len(digits) > MAX_NUMBER_DIGITS:
            break
        value = digits
        if len(digits) == 17 and norm[end : end + 1] in ("X", "x"):
            value, end = digits + "X", end + 1
        if _alnum(norm[end : end + 1]):
            break  # the digits run on into a word or a hash
        # A chain that begins or ends with a date is a date beside a number, as in
        # "2026-11-25 13912345678"; a birth date inside one (110105 1949-12-31 002X) is an ID's,
        # and eight digits that end a mobile (139 19491231) are the mobile's.
        found = None if j > i and i in dated else classify(value, before)
        width = groups[j][1] - groups[j][0]
        if found and j > i and j in dated and (found[0], width) != ("mobile", 8):
            found = None
        if found:
            best = (lead, end, *found)
    return best


def numbers(norm: str, classify: Classify) -> list[Number]:
    """Mobiles, cards and ID numbers: from each digit group, the longest chain that classifies."""
    # Every start is tried, so a number next to a date or another number is still found.
    groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(norm)]
    tokens = iter(m.span() for m in _TOKEN_RE.finditer(norm))
    dated = _dates(norm, groups)
    found = []
    token = (0, 0)
    for i, (start, _) in enumerate(groups):
        while token[1] <= start:
            token = next(tokens)  # every digit group lies inside one ASCII alnum token
        if _may_start(norm, start, token):
            best = _longest(norm, groups, i, dated, classify)
            if best:
                found.append(best)
    return found
