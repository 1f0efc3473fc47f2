"""What a reader reads in a text: the readings masking detects on, each mapped back to the original.

People type numbers in full-width, Arabic-Indic or Chinese numerals, with invisible characters
and combining marks between the digits, runs of blanks between the groups, and bidi controls that
show the digits in another order than they are stored. A reading is the text as a reader takes
it in: NFKC, every decimal digit ASCII, invisible characters and combining marks gone, each run
of blanks one space; in the order it is stored and, where right-to-left characters or controls are
in it, also in the order a screen shows it (core/bidi.py). Each of its characters keeps the span
of the original it came from, so masking changes the found spans and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from core.bidi import RIGHT_TO_LEFT, display_order

Reading = tuple[str, list[int], list[int]]  # the text read; each character's start and end

# Chinese numerals read digit by digit, as phone numbers are spoken (幺 is 1, 两 is 2), and the
# financial capitals (大写), simplified and traditional; 十, 百 and 万 are not digits. A reading
# keeps them as typed (an address may hold one): numbers are read with them as digits, one for
# one, so that spans stay where they are.
_NUMERALS = (
    "零〇",
    "一幺壹",
    "二两兩贰貳",
    "三叁參叄",
    "四肆",
    "五伍",
    "六陆陸",
    "七柒",
    "八捌",
    "九玖",
)
CHINESE_DIGITS = {char: str(d) for d, chars in enumerate(_NUMERALS) for char in chars}
AS_DIGITS = str.maketrans(CHINESE_DIGITS)
# Kept in a reading: a line ends a clause, and only mobiles and IDs are read across one.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Characters a screen shows as a blank though they are letters or symbols: the Hangul fillers
# and the braille blank.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Bidi marks, embeddings, overrides and isolates: read as nothing, but they order what shows.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Controls, format characters (zero-width spaces and joiners, BOM, tags) and combining marks
# (variation selectors and the grapheme joiner among them), and unassigned default-ignorables.
_INVISIBLE = frozenset({"Cc", "Cf", "Mn", "Me"})
_UNASSIGNED_IGNORABLE = ((0x2065, 0x2065), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF))
_MARKS = frozenset({"Mn", "Me"})
# What may change in a reading: anything but printable ASCII and line feeds, escapes as a repr()
# writes them (read as the character: "+86\\u2060130..." is a phone number), and blank runs.
_SPECIAL = re.compile(
    r"\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8})|[^\x20-\x7e\n\r]| {2,}"
)


def _fold(char: str) -> str:
    digit = unicodedata.decimal(char, None)
    return str(digit) if digit is not None else char


@lru_cache(maxsize=4096)
def _piece(char: str) -> str:
    """What one character reads as: digits, a blank, its NFKC form, or nothing if invisible."""
    if char in LINE_BREAKS or char in _BIDI_CONTROLS:
        return char
    if char.isspace() or char in _BLANK_LOOKING:
        return " "
    code = ord(char)
    if unicodedata.category(char) in _INVISIBLE or any(
        lo <= code <= hi for lo, hi in _UNASSIGNED_IGNORABLE
    ):
        return ""
    nfkc = unicodedata.normalize("NFKC", char)  # NFKC may bring a mark in: ¨ is space + U+0308
    return "".join(_fold(c) for c in nfkc if unicodedata.category(c) not in _MARKS)


def _escaped(escape: str) -> str:
    code = int(escape[2:], 16)
    return _piece(chr(code)) if code <= 0x10FFFF else escape


def _scan(text: str) -> tuple[list[str], list[int], list[int]]:
    """Each character read (bidi controls kept to order the shown reading), with its span."""
    chars: list[str] = []
    origin: list[int] = []
    until: list[int] = []
    last = 0
    for m in _SPECIAL.finditer(text):
        i, j = m.span()
        chars += text[last:i]
        origin += range(last, i)
        until += range(last + 1, i + 1)
        last, token = j, m.group()
        piece = " " if token[0] == " " else _piece(token) if j == i + 1 else _escaped(token)
        if piece:
            chars += piece
            origin += [i] * len(piece)
            until += [j] * len(piece)
        elif chars and until[-1] == i and unicodedata.category(token[0]) in _MARKS:
            until[-1] = j  # a combining mark is masked with the character it sits on
    chars += text[last:]
    origin += range(last, len(text))
    until += range(last + 1, len(text) + 1)
    return chars, origin, until


def _read(chars: list[str], origin: list[int], until: list[int], order: Iterable[int]) -> Reading:
    """The characters in this order, bidi controls left out and each blank run one space."""
    out: list[str] = []
    start: list[int] = []
    end: list[int] = []
    for k in order:
        char = chars[k]
        if char in _BIDI_CONTROLS:
            continue
        if char == " " and out and out[-1] == " ":
            start[-1], end[-1] = min(start[-1], origin[k]), max(end[-1], until[k])
            continue
        out.append(char)
        start.append(origin[k])
        end.append(until[k])
    return "".join(out), start, end


def readings(text: str) -> list[Reading]:
    """The text as stored and, if anything in it shows in another order, as shown."""
    if not _SPECIAL.search(text):
        return [(text, list(range(len(text))), list(range(1, len(text) + 1)))]
    chars, origin, until = _scan(text)
    stored = _read(chars, origin, until, range(len(chars)))
    # An escaped control (\\u202e in a log line) is text on a screen: it orders nothing.
    if text.isascii() or RIGHT_TO_LEFT.isdisjoint(map(unicodedata.bidirectional, text)):
        return [stored]
    classes = [unicodedata.bidirectional(text[k]) or "L" for k in origin]
    return [stored, _read(chars, origin, until, display_order(classes))]


def seams(text: str, reading: Reading) -> set[int]:
    """Where a reading shows digits side by side that are apart in the text: an isolate left
    open (U+2067) shows an override's run right after the number before it, two numbers that a
    reader still reads apart."""
    norm, origin, until = reading
    digits = norm.translate(AS_DIGITS)
    out = set()
    for k in range(1, len(digits)):
        if digits[k - 1 : k + 1].isdigit() and digits[k - 1 : k + 1].isascii():
            (_, end), (start, _) = sorted([(origin[k - 1], until[k - 1]), (origin[k], until[k])])
            if any(_piece(c) and c not in _BIDI_CONTROLS for c in text[end:start]):
                out.add(k)
    return out


def normalise(text: str) -> Reading:
    """The text as stored, read: what masked forms are built from."""
    return readings(text)[0]
