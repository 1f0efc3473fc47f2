"""Sensitive-data detection and masking: ID numbers, bank cards, mobiles, emails, US SSNs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal, cast

from core.lru import Lru
from core.masking_read import AS_DIGITS, CHINESE_DIGITS, normalise, readings, seams
from core.masking_scan import Gap, numbers

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
_CJK = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF))
# Internationalised addresses (RFC 6531): Unicode letters and digits in the local part and the
# domain, combining accents included for text typed in decomposed form.
_LOCAL_CHAR = r"[\w.%+\-\u0300-\u036f]"
_LABEL = r"[^\W_][\w\-\u0300-\u036f]{0,62}"
_EMAIL_RE = re.compile(rf"(?<!{_LOCAL_CHAR})({_LOCAL_CHAR}{{1,64}})@({_LABEL}(?:\.{_LABEL})+)")
_SSN_RE = re.compile(r"(?<!\d)(?!000|666|9\d\d)(\d{3})-(?!00)(\d{2})-(?!0000)(\d{4})(?!\d)")
_MOBILE_RE = re.compile(r"^(?:(?:\+|00)?86)?(1[3-9]\d{9})$")
_ID18_RE = re.compile(r"\d{17}[\dXx]")
_ID15_RE = re.compile(r"\d{15}")
_CARD_LABEL = re.compile(
    r"(?:card|acct|account|卡号|银行卡|卡|账号|帐号|账户)\s*(?:no|num|number)?[\s.:#=]{0,3}$",
    re.IGNORECASE,
)

REMEMBERED_TEXTS = 256  # texts whose findings are kept, by digest (a Finding is immutable)


@dataclass(frozen=True)
class Finding:
    """One piece of sensitive data found in a text."""

    kind: Kind
    start: int
    end: int
    masked: str


def _born(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return born.year >= 1800 and born <= date.today()


def id_like(value: str) -> bool:
    """A PRC ID's shape: a real province and birth date, in 18 characters or 15 (first issue)."""
    if _ID18_RE.fullmatch(value):
        born = (int(value[6:10]), int(value[10:12]), int(value[12:14]))
    elif _ID15_RE.fullmatch(value):
        born = (1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    else:
        return False
    return int(value[:2]) in _PROVINCES and _born(*born)


def valid_id_number(value: str) -> bool:
    """GB 11643: province code, real birth date not in the future, ISO 7064 MOD 11-2 check."""
    if len(value) != 18 or not id_like(value):
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


def _compact(value: str, keep: str) -> str:
    """The value read (any numerals as digits) with everything but `keep` dropped."""
    return re.sub(rf"[^{keep}]", "", normalise(value)[0].translate(AS_DIGITS))


def mask_id_number(value: str) -> str:
    """110105********002X for a PRC ID (15 or 18 characters); otherwise only the last 4 show."""
    compact = _compact(value, "0-9Xx").upper()
    if len(compact) in (15, 18):
        return compact[:6] + "*" * (len(compact) - 10) + compact[-4:]
    value = compact or value
    return "*" * max(len(value) - 4, 1) + value[-4:][: max(len(value) - 1, 0)]


def mask_bank_card(digits: str) -> str:
    """6222 **** **** 1234: the first and last four digits."""
    digits = _compact(digits, "0-9")
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_phone(value: str) -> str:
    """139****5678 for a mainland mobile; other numbers keep only their last 4 digits."""
    digits = _compact(value, "0-9")
    match = _MOBILE_RE.match(digits)
    if match:
        number = match.group(1)
        return f"{number[:3]}****{number[-4:]}"
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def mask_email(value: str) -> str:
    """w***@example.com: one character of the local part."""
    local, _, domain = normalise(value)[0].partition("@")
    return f"{local[:1]}***@{domain}"


def _classify(value: str, before: str, gap: Gap) -> tuple[str, str] | None:
    """The kind and masked form of a chain of digits that is certainly a number of its kind.

    Across a gap wider than a few separators (core/masking_scan) only a number with structure:
    a mobile, an ID with its check digit, or a card after its label and on one line."""
    if valid_id_number(value) or (gap is Gap.NARROW and len(value) == 15 and id_like(value)):
        return "id_number", mask_id_number(value)
    if not value.isdigit():
        return None
    if _MOBILE_RE.match(value):
        return "mobile", mask_phone(value)
    card = gap is Gap.NARROW or (gap is Gap.WIDE and _CARD_LABEL.search(before) is not None)
    if card and 16 <= len(value) <= 19 and luhn_valid(value):
        return "bank_card", mask_bank_card(value)
    return None


def _classify_near_miss(value: str, before: str, gap: Gap) -> tuple[str, str] | None:
    """As _classify, and numbers one typo away: what masking hides."""
    # A mistyped check digit leaves an ID just as identifying, so masking trusts the province
    # and birth date, before Luhn, which one run of digits in ten passes (110000 20000101 0001 is
    # an ID mistyped, not a card); the check digit and Luhn only keep the PII rules from
    # blocking a letter over a number that merely looks like one.
    found = _classify(value, before, gap)
    if (found is None or found[0] == "bank_card") and gap is Gap.NARROW and id_like(value):
        return "id_number", mask_id_number(value)
    labelled = gap < Gap.LINE and _CARD_LABEL.search(before)
    if found is None and value.isdigit() and 16 <= len(value) <= 19 and labelled:
        return "bank_card", mask_bank_card(value)
    return found


def _cjk(char: str) -> bool:
    return any(lo <= ord(char) <= hi for lo, hi in _CJK)


def _emails(norm: str) -> list[tuple[int, int, str]]:
    """Addresses with their spans; Chinese glued to a Latin address (邮箱w@…) stays text."""
    found = []
    for m in _EMAIL_RE.finditer(norm):
        start, local = m.start(), m.group(1)
        scripts = [_cjk(c) for c in local if c.isalnum()]
        if scripts and not scripts[-1] and any(scripts):
            cut = max(i for i, c in enumerate(local) if _cjk(c)) + 1
            start, local = start + cut, local[cut:]
        found.append((start, m.end(), f"{local}@{m.group(2)}"))
    return found


def _in_norm(norm: str, near_misses: bool, cuts: set[int]) -> list[tuple[Kind, int, int, str]]:
    """Every candidate in a reading, most specific first: emails, SSNs, numbers."""
    found: list[tuple[Kind, int, int, str]] = []
    for start, end, address in _emails(norm):
        found.append(("email", start, end, mask_email(address)))
    digits = norm.translate(AS_DIGITS)
    for m in _SSN_RE.finditer(digits):
        found.append(("ssn", m.start(), m.end(), f"***-**-{m.group(3)}"))
    for start, end, kind, masked in numbers(
        digits, _classify_near_miss if near_misses else _classify, cuts
    ):
        found.append((cast(Kind, kind), start, end, masked))
    return found


def find_sensitive(text: str, *, near_misses: bool = False) -> list[Finding]:
    """Every sensitive item in the text, longest and most specific first, without overlaps.

    With near_misses, also an ID with a wrong check digit and a labelled card failing Luhn.
    A run scans one letter several times (the check, the fallback, the gate at the door): the
    findings for the most recent texts are remembered under a digest of the text and the day
    (an ID's birth date is checked against today), never the text itself, and each caller
    gets its own list.
    """
    key = hashlib.sha256(f"{near_misses}|{date.today()}|{text}".encode()).digest()
    found = _remembered.get(key)
    if found is None:
        found = _find(text, near_misses)
        _remembered.put(key, found)
    return list(found)


_remembered: Lru[bytes, tuple[Finding, ...]] = Lru(REMEMBERED_TEXTS)


def _find(text: str, near_misses: bool) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for shown, (norm, origin, until) in enumerate(readings(text)):
        # Only a shown reading puts side by side what is apart in the text.
        cuts = seams(text, (norm, origin, until)) if shown else set()
        for kind, start, end, masked in _in_norm(norm, near_misses, cuts):
            # A shown reading maps back out of order (an override shows its run reversed): the
            # span is everything it came from.
            lo, hi = min(origin[start:end]), max(until[start:end])
            if any(f.start < hi and lo < f.end for f in found):
                continue
            if origin[start] > origin[end - 1]:
                masked = masked[::-1]  # stored reversed, so that it shows the right way round
            found.append(Finding(kind, lo, hi, masked))
    return tuple(sorted(found, key=lambda f: f.start))


MASK_PASSES = 50  # each pass that changes the text masks one more item at least


def _mask_once(text: str) -> str:
    out, last = [], 0
    for f in find_sensitive(text, near_misses=True):
        out.append(text[last : f.start])
        out.append(f.masked)
        last = f.end
    out.append(text[last:])
    return "".join(out)


def mask_text(text: str) -> str:
    """The text with every sensitive item replaced by its masked form.

    Masked again until nothing changes: a candidate that lost an overlap to another (an ID run
    together with the digit that starts an email) is found once the winner is masked."""
    for _ in range(MASK_PASSES):
        masked = _mask_once(text)
        if masked == text:
            return text
        text = masked
    # Crafted text that keeps revealing new numbers: every digit goes, nothing leaks, and the
    # caller (a log line, an error body) still gets text rather than an exception.
    return "".join(
        "*" if unicodedata.category(ch) == "Nd" or ch in CHINESE_DIGITS else ch for ch in text
    )


def mask_contact(contact: dict[str, str | None]) -> dict[str, str | None]:
    """A client's contact block as shown in any response: every field masked."""
    maskers = {"phone": mask_phone, "id_number": mask_id_number, "email": mask_email}
    return {
        key: (maskers[key](value) if value and key in maskers else value)
        for key, value in contact.items()
    }
