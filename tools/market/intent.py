"""Reading a client's request offline: a bilingual lexicon built from the shelf and its themes.

`parse_request` splits the (masked) text into clauses and matches, longest first, the terms of
data/request_lexicon.yaml together with every shelf code and product name: products, themes,
directions, risk wishes, shares, amounts, times and filler. What is left over in a clause after
all of that was not understood, and is reported as such: a request is never silently ignored.
A clause that asks for nothing (courtesies, "no special request", 其他你们看着办) is read as such;
a question naming one shelf product or theme is a question for the letter, not a wish.
Informal spellings are read as their words first (dont, pls, 木有); a signature at the end
(—小王, "Best, Anna") is not a wish; a figure alone (金额一万左右) belongs to the one name of the
clause before it, a time or "set it aside" to the cash need beside it, a follow-up question (费用
高吗) to the name just asked about.
`theme_members` and `exposure_vector` say what a theme means on the shelf, for the rules and for
the allocation.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import cn2an
import numpy as np
import yaml

from core.masking import mask_text
from core.schemas.request import (
    MAX_AMOUNT,
    MAX_DOUBTS,
    MAX_NEEDS,
    MAX_QUESTIONS,
    MAX_WISHES,
    PHRASE_CHARS,
    UP,
    CashNeed,
    Direction,
    Question,
    RequestIntent,
    RiskWish,
    Wish,
    conflicts,
)
from tools.market.market_data import MarketData
from tools.market.shelf import Product

LEXICON_FILE = Path(__file__).resolve().parent / "data" / "request_lexicon.yaml"
MAX_REQUEST_CHARS = 2000
MAX_FIGURE = 1e13  # CNY, share or months: a figure above this is not a figure anyone means
CN_DIGITS = "零〇一二两三四五六七八九十百千点"
UNIT = {"万": 1e4, "w": 1e4, "千": 1e3, "k": 1e3, "亿": 1e8, "m": 1e6}
NUMBERS = re.compile(
    rf"""
    (?P<pct>\d+(?:\.\d+)?)\s*(?:%|percent(?![a-z])|per\ cent(?![a-z])|pct(?![a-z]))
  | 百分之(?P<pct_cn>[{CN_DIGITS}\d.]+)
  | (?P<cheng>[一二两三四五六七八九\d])成
  | (?:¥|rmb|cny)\s*(?P<amt_pre>\d[\d,]*(?:\.\d+)?)\s*(?P<unit_pre>k|m|万)?(?![a-z])
  | (?P<wan>\d+|[{CN_DIGITS}]+)万(?P<wan_tail>[一二两三四五六七八九])(?![千百十万亿元块\d])
  | (?P<amt>\d[\d,]*(?:\.\d+)?|[{CN_DIGITS}]+)\s*
      (?P<unit>万元|万块|万|千元|千块|千|亿|元|块|w|k|m|yuan|rmb|cny)(?![a-z])
  | (?P<amt_bare>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?)(?![\d%])
  | (?P<months>\d+|[一二两三四五六七八九十]+)\s*(?:个月|months?(?![a-z]))
  | (?P<years>\d+(?:\.\d+)?|[一二两三四五六七八九十半]+)\s*(?:年|years?(?![a-z]))
  | (?<![a-z0-9-])(?P<code>\d{{6}}|tw-[a-z0-9]+(?:-[a-z0-9]+)*)(?![a-z0-9-])
    """,
    re.VERBOSE,
)
MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
             "september", "october", "november", "december")  # fmt: skip
# A month named as a date (明年三月, 十二月份, "next September"): read against the run's day, it
# becomes a number of months. "may" is a verb as often as a month: never read as one.
DATES = re.compile(
    r"""
    (?P<year_cn>今年|明年|后年)?\s*(?P<month_cn>十[一二]|[一二三四五六七八九十]|1[0-2]|[1-9])\s*月
      (?:份|底|初|中)?(?![一二三四五六七八九十\d]*[日号])
  | (?:(?:in|by)\s+)?(?:(?P<year_en>next|this)\s+)?
      (?P<month_en>january|february|march|april|june|july|august|september|october|november|december)
      (?![a-z])
    """,
    re.VERBOSE,
)
CLAUSES = re.compile(r"[，。；;！？!?\n]+|,(?!\d{3})|\.(?!\d)|\s+but\s+|但是|不过|另外|然后|同时")
# core.masking's masked forms: 139****5678, 110105********002x, w***@x.com, 6222 **** **** 7894
MASKED = re.compile(r"(?:\d{4} )?[0-9a-z._@+-]*\*[0-9a-z._@+*-]*(?: (?:\*+|\d{4})(?![0-9a-z]))*")
_BLANKS = re.compile(r"[^\S\n]+")
WORD = re.compile(r"[a-z][a-z'-]+|[a-z]\d+|\d+|[\u3400-\u9fff]")


@dataclass(frozen=True)
class Theme:
    """A thing a request can name besides a product, and what it means on the shelf."""

    id: str
    name: dict[str, str]
    categories: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    exposure: tuple[str, ...] = ()

    def holds(self, p: Product) -> bool:
        return p.category in self.categories or p.sector in self.sectors or p.code in self.products


@dataclass(frozen=True)
class Term:
    # product, theme, direction, level, risk, risk_subject, risk_low, share, cash, month, horizon,
    # switch, question, forecast, feeling, keep, unshelved, filler
    kind: str
    value: Any


@dataclass
class Lexicon:
    version: str
    themes: dict[str, Theme]
    terms: dict[str, Term]
    pattern: re.Pattern[str] = field(repr=False)
    # idle, courtesy and filler words: a clause they cover whole asks for nothing
    idle: re.Pattern[str] = field(repr=False, default=re.compile(r"(?!)"))
    # closings that end a clause (就行, "please"): cut from its end before it is read
    closing: re.Pattern[str] = field(repr=False, default=re.compile(r"(?!)"))
    # informal spellings and typos (dont, pls, 木有), to the word they stand for
    spelling: dict[str, str] = field(default_factory=dict)
    respell: re.Pattern[str] = field(repr=False, default=re.compile(r"(?!)"))
    # sign-offs after which a short name is a signature ("Best, Anna", 谢谢！小王)
    signoff: re.Pattern[str] = field(repr=False, default=re.compile(r"(?!)"))
    # what a Chinese name written without a dash looks like (王芳, 小王, 陈女士)
    cn_name: re.Pattern[str] = field(repr=False, default=re.compile(r"(?!)"))


QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u201c": '"', "\u201d": '"'})
# A signature: a dash and a name (—小王, "- Anna"), or, after a sign-off, a short name alone.
_NAME = r"(?P<name>[\u3400-\u9fff]{1,4}|[a-z][a-z.]*(?: [a-z][a-z.]*)?)"
DASHED = re.compile(rf"\s*[-\u2014\u2013~]+\s*{_NAME}\s*$")
NAME = re.compile(rf"\s*{_NAME}[\s\W]*")


def _norm(text: str) -> str:
    """NFKC (full-width forms to ASCII), lower case, curly quotes straight (don’t is don't)."""
    return unicodedata.normalize("NFKC", text).lower().translate(QUOTES)


def _alternative(term: str) -> str:
    """The term as a regex: ASCII ends must be word ends; an English noun may take a plural."""
    out = re.escape(term)
    if term[0].isascii() and term[0].isalnum():
        out = r"(?<![a-z0-9])" + out
    if term[-1].isascii() and term[-1].isalpha():
        out += r"(?:s|es)?(?![a-z0-9])"
    elif term[-1].isascii() and term[-1].isalnum():
        out += r"(?![a-z0-9])"
    return out


def _add(terms: dict[str, Term], word: object, term: Term) -> None:
    if not isinstance(word, str | int) or isinstance(word, bool):  # YAML reads a bare no as False
        raise ValueError(f"request lexicon: {word!r} is not a word; quote it in the YAML")
    key = _norm(str(word)).strip()
    if not key:
        return
    known = terms.get(key)
    if known is None or known.kind == "filler":
        terms[key] = term
    elif term.kind != "filler" and known != term:
        if known.kind == term.kind == "product":  # one name, several products: keep them all
            terms[key] = Term("product", tuple(sorted({*known.value, *term.value})))
        else:
            raise ValueError(f"request lexicon: {word!r} means both {known} and {term}")


def load_lexicon(market: MarketData, path: Path = LEXICON_FILE) -> Lexicon:
    """The lexicon for this shelf; refuses codes, categories or asset classes it does not know."""
    data = yaml.safe_load(path.read_text("utf-8"))
    codes = set(market.products)
    categories = {p.category for p in market.shelf}
    sectors = {p.sector for p in market.shelf if p.sector}
    classes = set(market.cma.ids)
    themes: dict[str, Theme] = {}
    terms: dict[str, Term] = {}
    for tid, row in data["themes"].items():
        theme = Theme(
            id=tid,
            name=dict(row["name"]),
            categories=tuple(row.get("categories", ())),
            sectors=tuple(row.get("sectors", ())),
            products=tuple(str(c) for c in row.get("products", ())),
            exposure=tuple(row.get("exposure", ())),
        )
        unknown = (
            (set(theme.categories) - categories)
            | (set(theme.sectors) - sectors)
            | (set(theme.products) - codes)
            | (set(theme.exposure) - classes)
        )
        if unknown:
            raise ValueError(f"request lexicon theme {tid}: not on the shelf: {sorted(unknown)}")
        themes[tid] = theme
        for word in row["terms"]:
            _add(terms, word, Term("theme", tid))
    for p in market.shelf:
        for word in (p.code, p.name_zh, p.name_en):
            _add(terms, word, Term("product", (p.code,)))
    for row in data["products"]:
        missing = {str(c) for c in row["codes"]} - codes
        if missing:
            raise ValueError(f"request lexicon: codes not on the shelf: {sorted(missing)}")
        for word in row["terms"]:
            _add(terms, word, Term("product", tuple(sorted(str(c) for c in row["codes"]))))
    for direction, words in data["directions"].items():
        for word in words:
            _add(terms, word, Term("direction", direction))
    for direction, words in data["levels"].items():
        for word in words:
            _add(terms, word, Term("level", direction))
    for risk, words in data["risk"].items():
        for word in words:
            _add(terms, word, Term("risk", risk))
    for share, words in data["shares"].items():
        for word in words:
            _add(terms, word, Term("share", float(share)))
    for word in data["cash_need"]["words"]:
        _add(terms, word, Term("cash", None))
    for months, words in data["cash_need"]["months"].items():
        for word in words:
            _add(terms, word, Term("month", float(months)))
    for word in data["switch"]:
        _add(terms, word, Term("switch", None))
    for word in data["question"]:
        _add(terms, word, Term("question", None))
    for word in data["forecast"]:
        _add(terms, word, Term("forecast", None))
    for word in data["risk_parts"]["subject"]:
        _add(terms, word, Term("risk_subject", None))
    for word in data["risk_parts"]["lower"]:
        _add(terms, word, Term("risk_low", None))
    for word in data.get("keep") or []:
        _add(terms, word, Term("keep", None))
    for word in data.get("feelings") or []:
        _add(terms, word, Term("feeling", "lower"))
    for word in data.get("unshelved") or []:
        _add(terms, word, Term("unshelved", None))
    for word in data["horizon"]["words"]:
        _add(terms, word, Term("horizon", None))
    for word in [*data["filler"], *data["courtesy"]]:
        _add(terms, word, Term("filler", None))
    ordered = sorted(terms, key=len, reverse=True)
    pattern = re.compile(
        "(?P<term>" + "|".join(_alternative(t) for t in ordered) + ")|" + NUMBERS.pattern,
        re.VERBOSE,
    )
    pattern = re.compile(f"(?P<date>{DATES.pattern})|{pattern.pattern}", re.VERBOSE)
    spelling, respell = _spelling(data)
    return Lexicon(
        str(data["version"]),
        themes,
        terms,
        pattern,
        _idle_pattern(data),
        _closing(data),
        spelling,
        respell,
        _signoff(data),
        _cn_name(data),
    )


def _cn_name(data: dict[str, Any]) -> re.Pattern[str]:
    sig = data.get("signature") or {}
    surnames = re.escape(str(sig.get("surnames", "")))
    before = "|".join(map(re.escape, _words(sig, "before"))) or "(?!)"
    after = "|".join(map(re.escape, _words(sig, "after"))) or "(?!)"
    if not surnames:
        return re.compile(r"(?!)")
    return re.compile(
        rf"(?:{before})[{surnames}]|[{surnames}](?:{after})|[{surnames}][\u3400-\u9fff]{{1,2}}"
    )


def _words(data: dict[str, Any], key: str) -> list[str]:
    out = []
    for word in data.get(key) or []:
        if not isinstance(word, str | int) or isinstance(word, bool):
            raise ValueError(f"request lexicon: {word!r} is not a word; quote it in the YAML")
        if w := _norm(str(word)).strip():
            out.append(w)
    return sorted(set(out), key=len, reverse=True)


def _spelling(data: dict[str, Any]) -> tuple[dict[str, str], re.Pattern[str]]:
    """Informal spellings to their words; an English one only as a whole word (u, not the u of
    "u.s." or "use")."""
    spelling: dict[str, str] = {}
    for standard, variants in (data.get("spelling") or {}).items():
        for variant in _words({"v": variants}, "v"):
            if variant in spelling:
                raise ValueError(f"request lexicon: spelling {variant!r} is given twice")
            spelling[variant] = _norm(str(standard)).strip()
    if not spelling:
        return spelling, re.compile(r"(?!)")
    alternatives = []
    for variant in sorted(spelling, key=len, reverse=True):
        out = re.escape(variant)
        if variant[0].isascii():
            out = r"(?<![a-z0-9.'&-])" + out
        if variant[-1].isascii():
            out += r"(?![a-z0-9.'&-])"
        alternatives.append(out)
    return spelling, re.compile("|".join(alternatives))


def _signoff(data: dict[str, Any]) -> re.Pattern[str]:
    """A clause that ends with a sign-off: what follows it may be a signature."""
    words = _words(data, "signoff")
    if not words:
        return re.compile(r"(?!)")
    return re.compile(r"(?:^|[^a-z0-9])(?:" + "|".join(map(re.escape, words)) + r")[\s\W]*$")


def _closing(data: dict[str, Any]) -> re.Pattern[str]:
    """Closings at a clause's end, with any blanks before them, repeated (就好了吧)."""
    words = sorted({_norm(str(w)).strip() for w in data["closing"]} - {""}, key=len, reverse=True)
    alternatives = "|".join(_alternative(w) for w in words)
    return re.compile(rf"(?:\s*(?:{alternatives}))+\s*$")


def _idle_pattern(data: dict[str, Any]) -> re.Pattern[str]:
    """The words of a clause that asks for nothing: idle, courtesy and filler words."""
    words: set[str] = set()
    for word in [*data["idle"], *data["courtesy"], *data["filler"]]:
        if not isinstance(word, str | int) or isinstance(word, bool):
            raise ValueError(f"request lexicon: {word!r} is not a word; quote it in the YAML")
        if key := _norm(str(word)).strip():
            words.add(key)
    ordered = sorted(words, key=len, reverse=True)
    return re.compile("|".join(_alternative(t) for t in ordered))


_LEXICONS: dict[int, tuple[MarketData, Lexicon]] = {}


def lexicon_for(market: MarketData) -> Lexicon:
    """The lexicon of this market's shelf, built once per MarketData."""
    hit = _LEXICONS.get(id(market))
    if hit is None or hit[0] is not market:
        hit = _LEXICONS[id(market)] = (market, load_lexicon(market))
    return hit[1]


def theme_members(theme: Theme, market: MarketData) -> list[Product]:
    return [p for p in market.shelf if theme.holds(p)]


def target_name(kind: str, target: str, market: MarketData, locale: str) -> str:
    """What a wish names, in the reader's language: the product's or the theme's name; the id
    itself for one the shelf does not know."""
    if kind == "product":
        product = market.products.get(target)
        return product.name(locale) if product else target
    theme = lexicon_for(market).themes.get(target)
    return theme.name.get(locale) or theme.name.get("en") or target if theme else target


def exposure_vector(
    kind: str, target: str, products: Iterable[Product], lex: Lexicon
) -> np.ndarray:
    """How much of each product counts towards a wish's target: 1 for the product itself or a
    theme's member, or its exposure to the theme's asset classes when the theme names them."""
    if kind == "product":
        return np.array([1.0 if p.code == target else 0.0 for p in products])
    theme = lex.themes[target]
    if theme.exposure:
        return np.array([sum(p.exposures.get(a, 0.0) for a in theme.exposure) for p in products])  # type: ignore[call-overload]
    return np.array([1.0 if theme.holds(p) else 0.0 for p in products])


def share_of(
    kind: str, target: str, weights: dict[str, float], market: MarketData, lex: Lexicon
) -> float:
    """A wish target's share of a plan's weights."""
    codes = [c for c in weights if c in market.products]
    vector = exposure_vector(kind, target, [market.products[c] for c in codes], lex)
    return float(sum(weights[c] * v for c, v in zip(codes, vector, strict=True)))


# A word for little risk: negated (风险别太低, 不要低波动), it asks for more, not less.
LOW_WORDS = re.compile(
    r"低|小|(?<![a-z])(?:low|lower|small|smaller|little|minimal|limited)(?![a-z])"
)
CN_RANGE = re.compile(r"[一二两三四五六七八九]{2}")


def _number(text: str) -> float:
    """A figure as written (12,000 / 十万 / 一点五); out of range or unreadable: ValueError."""
    text = text.replace(",", "")
    if CN_RANGE.search(text):
        # 三五万, 两三千: two digits side by side in words are a range (30-50k), not 350k.
        raise ValueError(f"a range, not a number: {text}")
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        value = float(text)
    else:
        try:
            value = float(cn2an.cn2an(text, "smart"))
        except Exception as exc:  # cn2an raises KeyError, ValueError... on what it cannot read
            raise ValueError(f"not a number: {text}") from exc
    if not math.isfinite(value) or value > MAX_FIGURE:
        raise ValueError(f"out of range: {text}")
    return value


def _bounded(amount: float) -> float:
    if amount > MAX_AMOUNT:
        raise ValueError(f"out of range: {amount}")
    return amount


@dataclass
class _Clause:
    text: str
    targets: list[tuple[int, str, str, str]] = field(default_factory=list)  # at, kind, id, term
    directions: list[tuple[int, Direction]] = field(default_factory=list)
    switches: list[int] = field(default_factory=list)  # where 换成 / "into" stands
    levels: set[int] = field(default_factory=set)  # directions that name a level (不超过, at least)
    risks: list[int] = field(default_factory=list)  # where a risk wish stands
    shares: list[tuple[int, float, bool]] = field(default_factory=list)  # at, share, a percentage
    amounts: list[tuple[int, float]] = field(default_factory=list)
    months: list[float] = field(default_factory=list)
    years: list[float] = field(default_factory=list)
    risk: RiskWish | None = None
    risk_words: list[str] = field(default_factory=list)  # risk_subject / risk_low, in order
    questions: int = 0  # question words
    forecast: bool = False  # a question no fact answers (会涨吗, "guarantee")
    feeling: bool = False  # a feeling that means less risk (怕亏, "nervous")
    keeps: bool = False  # keep, 保持: understood only with a figure or a level to keep to
    cash: bool = False
    horizon: bool = False
    unknown: list[str] = field(default_factory=list)
    as_of: date | None = None  # the run's day: a month named as a date is read against it


def months_until(month: int, year: str | None, as_of: date) -> float | None:
    """Months from `as_of` to a named month: this year's (None if it has passed), next year's,
    the year after's, or with no year the next one to come; the month we are in counts half."""
    ahead = month - as_of.month
    if year in ("明年", "next"):
        ahead += 12
    elif year == "后年":
        ahead += 24
    elif year is None and ahead < 0:
        ahead += 12
    if ahead < 0:
        return None
    return float(ahead) if ahead else 0.5


def _read_date(g: dict[str, str | None], clause: _Clause) -> None:
    """A month named as a date, as months from the run's day; without the day, a doubt."""
    if g["month_cn"]:
        month, year = int(_number(g["month_cn"])), g["year_cn"]
    else:
        month, year = MONTHS_EN.index(g["month_en"] or "") + 1, g["year_en"]
    months = months_until(month, year, clause.as_of) if clause.as_of else None
    if months is None:
        clause.unknown.append(_phrase(clause.text))  # a month gone by, or no day to count from
    else:
        clause.months.append(months)


def _read_number(m: re.Match[str], clause: _Clause) -> None:
    g, at = m.groupdict(), m.start()
    try:
        if g["date"]:
            _read_date(g, clause)
        elif g["pct"] or g["pct_cn"]:
            clause.shares.append((at, _number(g["pct"] or g["pct_cn"]) / 100, True))
        elif g["cheng"]:
            clause.shares.append((at, _number(g["cheng"]) / 10, True))
        elif g["amt_pre"]:
            unit = UNIT.get(g["unit_pre"] or "", 1.0)
            clause.amounts.append((at, _bounded(_number(g["amt_pre"]) * unit)))
        elif g["wan"]:  # 一万五: fifteen thousand
            value = _number(g["wan"]) * 1e4 + _number(g["wan_tail"]) * 1e3
            clause.amounts.append((at, _bounded(value)))
        elif g["amt"]:
            clause.amounts.append((at, _bounded(_number(g["amt"]) * UNIT.get(g["unit"][0], 1.0))))
        elif g["amt_bare"]:
            clause.amounts.append((at, _bounded(_number(g["amt_bare"]))))
        elif g["months"]:
            clause.months.append(_number(g["months"]))
        elif g["years"]:
            clause.years.append(0.5 if g["years"] == "半" else _number(g["years"]))
        elif g["code"]:
            clause.unknown.append(f"{g['code'].upper()} (not on the shelf)")
    except ValueError:
        clause.unknown.append(m.group(0))


def _scan(text: str, lex: Lexicon, as_of: date | None = None) -> _Clause:
    clause = _Clause(text=text, as_of=as_of)
    consumed = [False] * len(text)
    for m in lex.pattern.finditer(text):
        for i in range(m.start(), m.end()):
            consumed[i] = True
        word = m.group("term")
        if word is None:
            _read_number(m, clause)
            continue
        term = _term(word, lex)
        at = m.start()
        if term.kind == "product":
            clause.targets += [(at, "product", code, word) for code in term.value]
        elif term.kind == "theme":
            clause.targets.append((at, "theme", term.value, word))
        elif term.kind in ("direction", "level"):
            clause.directions.append((at, term.value))
            if term.kind == "level":
                clause.levels.add(at)
        elif term.kind in ("risk", "feeling"):
            clause.feeling = clause.feeling or term.kind == "feeling"
            if clause.risk not in (None, term.value):
                clause.unknown.append(_phrase(text))  # 收益高一点但不要亏钱: which one?
            clause.risk = "lower" if clause.risk == "lower" else term.value
            clause.risks.append(at)
        elif term.kind == "share":
            clause.shares.append((at, term.value, False))
        elif term.kind == "switch":
            clause.switches.append(at)
        elif term.kind == "month":
            clause.months.append(term.value)
        elif term.kind == "cash":
            clause.cash = True
        elif term.kind == "horizon":
            clause.horizon = True
        elif term.kind in ("risk_subject", "risk_low"):
            clause.risk_words.append(term.kind)
        elif term.kind == "question":
            clause.questions += 1
        elif term.kind == "forecast":
            clause.forecast = True
        elif term.kind == "unshelved":
            clause.unknown.append(f"{word} (not on the shelf)")
        elif term.kind == "keep":
            clause.keeps = True
    left = "".join(" " if used else ch for ch, used in zip(text, consumed, strict=True))
    held = clause.shares or clause.amounts or clause.levels
    if (WORD.findall(left) or (clause.keeps and not held)) and _phrase(text) not in clause.unknown:
        clause.unknown.append(_phrase(text))
    return clause


def _phrase(text: str) -> str:
    """The clause's words, blanks collapsed, masked again: blanking a masked item may have
    brought digits around it together."""
    return mask_text(" ".join(text.split()))[:PHRASE_CHARS]


def _switches(clause: _Clause) -> list[int]:
    """The switch words that switch: right after something named (把现金换成债券, "my cash
    into bonds"); "put more into gold" names nothing before its "into"."""
    marks = sorted(
        [*((p, "d") for p, _ in clause.directions), *((p, "t") for p, *_ in clause.targets)]
    )
    return [s for s in clause.switches if [k for p, k in marks if p < s][-1:] == ["t"]]


def _negated(clause: _Clause) -> bool:
    """A negation right before another direction, a switch or a risk wish (不要卖, "don't put
    more into", 别太保守) reads two ways; the clause goes to a person rather than to whichever
    word came last."""
    marks = sorted(
        [
            *((p, d) for p, d in clause.directions),
            *((p, "target") for p, *_ in clause.targets),
            *((p, "switch") for p in clause.switches),
            *((p, "risk") for p in clause.risks),
        ]
    )
    return any(a == "avoid" and b not in ("avoid", "target") for (_, a), (_, b) in pairwise(marks))


def _direction(at: int, clause: _Clause, inherited: Direction | None) -> Direction | None:
    """A target's direction. A clause that opens with a direction (多配债券, "more bonds and
    fewer stocks") gives each target the nearest one before it; one that opens with a target
    (债券多点股票少点, 私募和雪球都不要) the nearest one after it, else before. What stands before
    a switch (把现金换成债券) is held less, what follows it is bought. A clause naming no
    direction takes the last clause's if that was to buy; None (a doubt) if it was not: a
    negation or a sale never carries over."""
    switches = _switches(clause)
    if any(p > at for p in switches):
        return "less"
    marks = sorted([*clause.directions, *((p, "buy") for p in switches)])
    before = [d for p, d in marks if p < at]
    after = [d for p, d in marks if p > at]
    first = min([p for p, _ in marks] + [p for p, *_ in clause.targets], default=at)
    target_first = first in {p for p, *_ in clause.targets}
    if target_first and after:
        return after[0]
    if before:
        return before[-1]
    if after:
        return after[0]
    return inherited or "buy" if inherited is None or inherited in UP else None


def _pair(values: list[tuple[int, float]], named: list[int]) -> dict[int, float] | None:
    """Figures to the targets they belong to: one figure is split evenly, as many figures as
    targets go in order (20% gold and 80% bonds); any other count is a doubt (None)."""
    figures = [v for _, v in sorted(values)]
    if not figures:
        return {}
    if len(figures) == 1:
        return {at: figures[0] / len(named) for at in named}
    if len(figures) == len(named):
        return dict(zip(named, figures, strict=True))
    return None


def _cash_need(c: _Clause, months: list[float], phrase: str) -> CashNeed | None:
    """The clause's cash need, or None without one amount, or with one out of range (a doubt)."""
    amount = c.amounts[0][1] if len(c.amounts) == 1 else None
    within = min(months) if months else None
    if amount is None:
        return None  # "三个月后要用钱": how much is for a person to ask
    if (amount is not None and amount <= 0) or (within is not None and not 0 < within <= 600):
        return None
    return CashNeed(amount=amount, within_months=within, phrase=phrase)


def _wishes(c: _Clause, inherited: Direction | None, phrase: str) -> list[Wish] | None:
    """The clause's wishes, or None if it reads more than one way (a doubt)."""
    named = sorted({at for at, *_ in c.targets})
    shares = _pair([(at, v) for at, v, _ in c.shares], named)
    amounts = _pair([] if c.cash else c.amounts, named)
    if _negated(c) or shares is None or amounts is None:
        return None
    switched_from = any(at < max(_switches(c), default=-1) for at in named)
    if switched_from and (c.shares or c.amounts):
        return None  # 把一半的股票换成债券: half of which?
    out = []
    for at, kind, target, term in c.targets:
        direction = _direction(at, c, inherited)
        if direction is None:
            return None
        share, amount = shares.get(at), amounts.get(at)
        if direction not in UP and amount is not None:
            return None
        if share is not None and direction in ("more", "less") and not c.levels:
            return None  # "reduce stocks by 10%", 多配30%债券: by that much, or to it?
        if direction in ("sell", "avoid") and share is not None and share >= 1:
            share = None  # "sell all my stocks": all of them, which is what a sale means
        if direction not in UP and share is not None:
            percentage = any(p for a, _, p in c.shares)
            if direction != "less" or not percentage:
                return None  # "sell half my stocks": half of the plan, or of the stocks?
        sure = not c.unknown  # words beside it were not understood: a person confirms it
        codes = sum(1 for other, *_ in c.targets if other == at)
        # A name that means several products (黄金ETF) splits its part over them.
        share = round(share / codes, 4) if share is not None else None
        amount = round(amount / codes, 2) if amount is not None else None
        if (share is not None and not 0 < share <= 1) or (amount is not None and amount <= 0):
            return None
        out.append(
            Wish(
                direction=direction,
                kind=kind,  # type: ignore[arg-type]
                target=target,
                share=share,
                amount=amount,
                phrase=phrase,
                term=term,
                sure=sure,
            )
        )
    return out


def _term(word: str, lex: Lexicon) -> Term:
    term = lex.terms.get(word) or lex.terms.get(re.sub(r"(es|s)$", "", word))
    return term if term is not None else lex.terms[word[:-1]]


def _names_anything(name: str, lex: Lexicon) -> bool:
    """A figure or a word of the lexicon in it (one letter aside: the 小 of 小王): not only a
    name."""
    for m in lex.pattern.finditer(name):
        word = m.group("term")
        if word is None or (len(word) > 1 and _term(word, lex).kind != "filler"):
            return True
    return any(len(m.group(0)) > 1 for m in lex.idle.finditer(name))


def _signature(name: str, original: str, lex: Lexicon, dashed: bool) -> bool:
    """A short name that signs the request: nothing of the lexicon in it; in English, written
    with a capital ("Anna", not "crypto"); in Chinese, after a dash or shaped like a name."""
    if _names_anything(name, lex):
        return False
    if name.isascii():
        tail = re.search(rf"(?i)\b{re.escape(name)}[\s\W]*$", original)
        return tail is not None and tail.group(0)[0].isupper()
    return dashed or bool(lex.cn_name.fullmatch(name))


def _unsigned(parts: list[str], original: str, lex: Lexicon) -> list[str]:
    """The clauses without a signature at the end: a dash and a name (—小王), or a short name
    right after a sign-off ("Best, Anna", "Thanks, Li", 谢谢！小王)."""
    parts = [p for p in parts if p.strip()]
    if not parts:
        return parts
    dashed = DASHED.search(parts[-1])
    if dashed and _signature(dashed.group("name"), original, lex, dashed=True):
        rest = parts[-1][: dashed.start()]
        return [*parts[:-1], rest] if rest.strip() else parts[:-1]
    named = NAME.fullmatch(parts[-1])
    if (
        len(parts) > 1
        and named
        and lex.signoff.search(parts[-2])
        and _signature(named.group("name"), original, lex, dashed=False)
    ):
        return parts[:-1]
    return parts


def _respelt(text: str, lex: Lexicon) -> str:
    """Informal spellings as the words they stand for (dont: don't, pls: please, 木有: 没有)."""
    return lex.respell.sub(lambda m: lex.spelling[m.group(0)], text)


def _read_clause(part: str, lex: Lexicon, as_of: date | None) -> _Clause:
    """The clause as read; if words were left unread, read again without a closing at its end
    (不要私募就行), keeping that reading only if it leaves fewer unread."""
    c = _scan(part, lex, as_of)
    cut = lex.closing.sub("", part)
    if c.unknown and cut.strip() and cut != part:
        shorter = _scan(cut, lex, as_of)
        if len(shorter.unknown) < len(c.unknown) or not shorter.unknown:
            return shorter
    return c


def _idle(c: _Clause, lex: Lexicon) -> bool:
    """A clause that asks for nothing: no target, figure, time, risk or question, and every word
    a courtesy, a filler or a word of 'no special request' or of leaving it to the firm."""
    if c.targets or c.shares or c.amounts or c.months or c.years or c.cash or c.horizon:
        return False
    if c.risk or c.risk_words or c.questions or c.forecast:
        return False
    return not WORD.findall(lex.idle.sub(" ", c.text))


def _risk_in_words(c: _Clause) -> bool:
    """风险低一点, 波动别太大, "lower the risk", "no big swings": a risk word, a word for less of
    it (or a direction down), nothing named and nothing asking for more."""
    if c.targets or c.risk == "higher" or "risk_subject" not in c.risk_words:
        return False
    downs = [d for _, d in c.directions if d in ("less", "avoid")]
    ups = [d for _, d in c.directions if d in UP]
    if "avoid" in downs and LOW_WORDS.search(c.text):
        return False  # 风险别太低, "not too low a risk": a negated "low" asks for more (a doubt)
    # 波动太大我受不了, "worried about losses": a feeling says which way
    lower = "risk_low" in c.risk_words or c.risk == "lower"
    return not ups and (lower or bool(downs))


def _questions(c: _Clause, phrase: str) -> list[Question] | None:
    """A question clause's questions: about exactly one name on the shelf (黄金ETF means two
    products, one name), with no figure and no word left unread; else None (a doubt)."""
    names = {term for *_, term in c.targets}
    if len(names) != 1 or c.unknown or c.forecast or c.shares or c.amounts or c.cash:
        return None
    return [
        Question(kind=kind, target=target, phrase=phrase, term=term)  # type: ignore[arg-type]
        for _, kind, target, term in c.targets
    ]


@dataclass
class _Read:
    """A clause that named one thing and no figure, the keys of its wishes and the direction it
    inherited: a figure alone in the next clause belongs to it."""

    part: str
    keys: list[tuple[str, str, str]]
    inherited: Direction | None


def _one_name(c: _Clause) -> bool:
    return len({term for *_, term in c.targets}) == 1


def _figure_only(c: _Clause) -> bool:
    """A clause with an amount or a share and nothing else (金额一万左右, "about 20k")."""
    if not (c.amounts or c.shares) or c.unknown or c.targets or c.directions or c.switches:
        return False
    return not (
        c.cash
        or c.months
        or c.years
        or c.risk
        or c.risk_words
        or c.questions
        or c.forecast
        or c.horizon
    )


def _follow_up(c: _Clause) -> bool:
    """A question naming nothing, with no figure and nothing unread (费用高吗, "how risky?"):
    about what the clause before it asked about."""
    return not (
        c.targets
        or c.unknown
        or c.forecast
        or c.shares
        or c.amounts
        or c.cash
        or c.directions
        or c.risk
    )


def _when_only(c: _Clause, months: list[float]) -> bool:
    """A cash clause with a time and nothing else (明年五月份付首付): its amount may follow."""
    if c.amounts or c.shares or c.unknown or c.targets or c.directions or not months:
        return False
    return 0 < min(months) <= 600


def _reserves(c: _Clause, need: CashNeed, months: list[float]) -> bool:
    """A cash clause with no amount, nothing named and nothing unread, after a need: it sets
    that need aside (麻烦留出来, "please set it aside"), or says when, if the need did not."""
    if c.amounts or c.shares or c.unknown or c.targets or c.directions:
        return False
    return not months or (need.within_months is None and 0 < min(months) <= 600)


def parse_request(text: str | None, market: MarketData, as_of: date | None = None) -> RequestIntent:
    """The request as the lexicon reads it; sensitive data is masked before anything else.
    A month named as a date (明年三月) is read against `as_of`, the run's day; without it, it is
    a doubt.

    Every clause either feeds a wish, a cash need, a horizon or a risk wish, or is only filler;
    anything else, a figure with nothing to apply to, a negation that reads two ways or a text
    longer than the limits, is a doubt for a person (TW-REQ-01)."""
    lex = lexicon_for(market)
    if not text or not text.strip():
        return RequestIntent(readers=["lexicon"], lexicon=lex.version)
    doubts: list[str] = []
    if len(text) > MAX_REQUEST_CHARS:
        doubts.append(f"the request is longer than {MAX_REQUEST_CHARS} characters")
    # Blanks collapse before masking, never after: masked first, 139    1234    5678 would be
    # collapsed into a plain 139 1234 5678. Line feeds stay: they end a clause.
    masked = mask_text(_BLANKS.sub(" ", _norm(text[:MAX_REQUEST_CHARS]))).lower()
    # Masked data is not a wish: blanked before anything else reads it (an email's dot included).
    masked = MASKED.sub(
        lambda m: " " * len(m.group(0)) if re.search(r"[\d@]", m.group(0)) else m.group(0), masked
    )
    wishes: dict[tuple[str, str, str], Wish] = {}
    needs: list[CashNeed] = []
    horizons: list[float] = []
    risk: RiskWish | None = None
    risks: set[RiskWish] = set()
    questions: dict[tuple[str, str], Question] = {}
    inherited: Direction | None = None
    asked_before: list[Question] = []  # the last clause's questions: 了解一下沪深300，费用高吗？
    last: _Read | None = None  # the last clause's wishes, if one name without a figure
    when: tuple[str, float] | None = None  # 明年五月付首付，要用三十万: a time, then its amount
    masked = _respelt(masked, lex)
    original = unicodedata.normalize("NFKC", text[:MAX_REQUEST_CHARS])
    for part in _unsigned(CLAUSES.split(masked), original, lex):
        c = _read_clause(part, lex, as_of)
        phrase = _phrase(part)
        if _idle(c, lex):
            continue  # 没有特别要求, "the rest is up to you", 谢谢
        if last is not None and _figure_only(c):
            # 我想买点沪深300，金额一万左右: the figure is the last clause's, read with it
            joined = _read_clause(f"{last.part} {part}", lex, as_of)
            found = _wishes(joined, last.inherited, _phrase(f"{last.part} {part}"))
            for key in last.keys:
                wishes.pop(key, None)
            if found is None:
                doubts.append(_phrase(f"{last.part} {part}"))
            for wish in found or []:
                wishes.setdefault(wish.key, wish)
            last = None
            continue
        last = None
        if c.forecast:
            doubts.append(phrase)  # 会涨吗, "can you guarantee": no fact answers it
            continue
        if c.questions:
            asked = _questions(c, phrase)
            if asked is None and asked_before and _follow_up(c):
                asked = asked_before  # 费用高吗 after 了解一下沪深300: the same name
            if asked is None:
                doubts.append(phrase)  # a question about no shelf name, or several
            for q in asked or []:
                questions.setdefault(q.key, q)
            asked_before = asked or []
            inherited = None  # what follows a question does not buy what it asked about
            continue
        asked_before = []
        if _risk_in_words(c) and not c.unknown and not _negated(c) and not c.horizon:
            risks.add("lower")
            risk = "lower"
            continue
        if c.risk_words:
            c.unknown.append(phrase)  # a risk word in a clause that is not about less risk
        doubts += c.unknown
        used = False
        if c.risk and (_negated(c) or c.horizon):
            doubts.append(phrase)  # 别太保守, "don't need higher returns": which way?
            used = True
        elif c.risk:
            risk, used = "lower" if risk == "lower" else c.risk, True
            risks.add(c.risk)
        months = c.months + [12 * y for y in c.years]
        if c.cash and not c.targets:
            need = _cash_need(c, months, phrase)
            if need is None and needs and _reserves(c, needs[-1], months):
                # 下个月要用两万，麻烦留出来: setting the last need aside, or saying when it is
                if months:
                    needs[-1] = needs[-1].model_copy(update={"within_months": min(months)})
            elif need is None and when is None and _when_only(c, months):
                when = (phrase, min(months))  # the amount may follow in the next clause
            elif need is None:
                doubts.append(phrase)  # "I need my money back", 我要用一半的钱: how much, when?
            elif when is not None and need.within_months is None:
                needs.append(need.model_copy(update={"within_months": when[1]}))
                when = None
            else:
                needs.append(need)
            used = True
        elif c.horizon and months and not c.targets:
            if 0 < min(months) <= 600:
                horizons.append(min(months) / 12)
            else:
                doubts.append(phrase)
            used = True
        if c.targets and c.feeling and not (c.directions or c.switches):
            # "worried about gold", 怕黄金: a feeling about it, not a wish; routed, never sure
            doubts.append(phrase)
            c.unknown.append(phrase)
        if c.targets:
            before = inherited
            found = _wishes(c, inherited, phrase)
            if found is None:
                doubts.append(phrase)
            for wish in found or []:
                wishes.setdefault(wish.key, wish)
            used = True
            if found and _one_name(c) and not (c.shares or c.amounts or c.unknown or months):
                last = _Read(part, [w.key for w in found], before)
            if months or c.cash:
                doubts.append(phrase)  # 买黄金两年: a time with a purchase is not a plan term
        elif c.directions and not used:
            if _negated(c) or any(d not in UP for _, d in c.directions) or questions:
                # "sell everything", 不想投资了: a wish with no target; 纳指怎么样？帮我买点:
                # buy what was asked about? A person asks.
                doubts.append(phrase)
            used = True
        if not used and (c.shares or c.amounts or months):
            doubts.append(phrase)  # a figure with nothing to apply it to
        if c.directions:
            inherited = c.directions[-1][1]
    if when is not None:
        doubts.append(when[0])  # a time to need money, and no amount for it
    found = list(wishes.values())
    doubts += conflicts(found)
    if len(risks) > 1:
        doubts.append("asked for both less and more risk")  # 收益要高，但不能亏
    if len(questions) > MAX_QUESTIONS:
        doubts.append("the request asks more questions than can be answered at once")
    if len(found) > MAX_WISHES or len(needs) > MAX_NEEDS:
        doubts.append("the request asks for more than can be read at once")
    doubts = list(dict.fromkeys(doubts))
    if len(doubts) > MAX_DOUBTS:
        doubts = [*doubts[: MAX_DOUBTS - 1], f"and {len(doubts) - MAX_DOUBTS + 1} more"]
    return RequestIntent(
        wishes=found[:MAX_WISHES],
        cash_needs=needs[:MAX_NEEDS],
        horizon_years=min(horizons) if horizons else None,
        risk=risk,
        not_understood=doubts,
        questions=list(questions.values())[:MAX_QUESTIONS],
        readers=["lexicon"],
        lexicon=lex.version,
    )
