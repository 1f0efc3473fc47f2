"""Sensitive-data detection and masking: ID numbers, bank cards, mobiles, emails, US SSNs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Kind = Literal["id_number", "bank_card", "mobile", "email", "ssn"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = {
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
    81,
    82,
    91,
}
_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_DIGIT_GROUP_RE = re.compile(r"[0-9]+")
MAX_NUMBER_DIGITS = 21  # a 19-digit card, or +86/0086 and an 11-digit mobile
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"
)
_SSN_RE = re.compile(r"(?<!\d)(?!000|666|9\d\d)(\d{3})-(?!00)(\d{2})-(?!0000)(\d{4})(?!\d)")
_MOBILE_RE = re.compile(r"^(?:(?:\+|00)?86)?(1[3-9]\d{9})$")


@dataclass(frozen=True)
class Finding:
    """One piece of sensitive data found in a text."""

    kind: Kind
    start: int
    end: int
    masked: str


def valid_id_number(value: str) -> bool:
    """GB 11643: province code, real birth date not in the future, ISO 7064 MOD 11-2 check."""
    if not re.fullmatch(r"\d{17}[\dXx]", value) or int(value[:2]) not in _PROVINCES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born > date.today() or born.year < 1800:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def luhn_valid(digits: str) -> bool:
    """The Luhn check used by bank card numbers (ISO/IEC 7812-1)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask_id_number(value: str) -> str:
    """110105********002X for a PRC ID (15 or 18 characters); otherwise only the last 4 show."""
    if len(value) in (15, 18):
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    return "*" * max(len(value) - 4, 1) + value[-4:][: max(len(value) - 1, 0)]


def mask_bank_card(digits: str) -> str:
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_phone(value: str) -> str:
    """139****5678 for a mainland mobile; other numbers keep only their last 4 digits."""
    digits = re.sub(r"\D", "", value)
    match = _MOBILE_RE.match(digits)
    if match:
        number = match.group(1)
        return f"{number[:3]}****{number[-4:]}"
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def _classify_digits(digits: str) -> tuple[Kind, str] | None:
    if _MOBILE_RE.match(digits):
        return "mobile", mask_phone(digits)
    if 16 <= len(digits) <= 19 and luhn_valid(digits):
        return "bank_card", mask_bank_card(digits)
    return None


def _ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _numbers(text: str) -> list[tuple[int, int, Kind, str]]:
    """Mobiles and cards: the longest valid chain of digit groups joined by one space or hyphen.

    Every start is tried, so a number next to a date or another number is still found.
    """
    groups = [(m.start(), m.end()) for m in _DIGIT_GROUP_RE.finditer(text)]
    found = []
    for i, (start, _) in enumerate(groups):
        if _ascii_letter(text[start - 1 : start]):
            continue  # inside a token such as a hex hash or an order code: not a number
        best, digits = None, ""
        for j in range(i, len(groups)):
            joined = j == i or (
                groups[j][0] - groups[j - 1][1] == 1 and text[groups[j - 1][1]] in " -"
            )
            digits += text[groups[j][0] : groups[j][1]]
            if not joined or len(digits) > MAX_NUMBER_DIGITS:
                break
            end = groups[j][1]
            if text[end : end + 1] in ("X", "x"):
                continue  # the body of an ID number ending in X, not a card
            kind_and_mask = _classify_digits(digits)
            if kind_and_mask:
                best = (start - (text[start - 1 : start] == "+"), end, *kind_and_mask)
        if best:
            found.append(best)
    return found


def find_sensitive(text: str) -> list[Finding]:
    """Every sensitive item in the text, longest and most specific first, without overlaps."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: Kind, start: int, end: int, masked: str) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        found.append(Finding(kind, start, end, masked))

    for m in _ID_RE.finditer(text):
        if valid_id_number(m.group()):
            add("id_number", m.start(), m.end(), mask_id_number(m.group()))
    for m in _EMAIL_RE.finditer(text):
        add("email", m.start(), m.end(), mask_email(m.group()))
    for m in _SSN_RE.finditer(text):
        add("ssn", m.start(), m.end(), f"***-**-{m.group(3)}")
    for start, end, kind, masked in _numbers(text):
        add(kind, start, end, masked)
    return sorted(found, key=lambda f: f.start)


def mask_text(text: str) -> str:
    """The text with every sensitive item replaced by its masked form."""
    out, last = [], 0
    for f in find_sensitive(text):
        out.append(text[last : f.start])
        out.append(f.masked)
        last = f.end
    out.append(text[last:])
    return "".join(out)


def mask_contact(contact: dict[str, str | None]) -> dict[str, str | None]:
    """A client's contact block as shown in any response: every field masked."""
    maskers = {"phone": mask_phone, "id_number": mask_id_number, "email": mask_email}
    return {
        key: (maskers[key](value) if value and key in maskers else value)
        for key, value in contact.items()
    }
