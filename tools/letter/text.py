"""The letter as plain text: the exact words a client receives, the gate checks and the
delivered hash covers. Section headings are code; every line under them comes from the Letter."""

from __future__ import annotations

import re

from core.schemas.letter import (
    AnswerLine,
    HoldingLine,
    Lesson,
    Letter,
    NoteLine,
    OfferLine,
    OfferSection,
    Signature,
    TradeLine,
)

# Numbered in the order shown; a section with nothing in it is left out and the numbers close up.
HEADINGS: dict[str, dict[str, str]] = {
    "holdings": {"zh-CN": "您的配置方案", "en": "Your plan"},
    "trades": {"zh-CN": "从现有持仓到方案的调整", "en": "From what you hold to the plan"},
    "rationale": {"zh-CN": "为什么这样配置", "en": "Why this plan"},
    "answer": {"zh-CN": "关于您的要求", "en": "About your request"},
    "answers": {"zh-CN": "关于您问到的产品", "en": "About the products you asked about"},
    "offer": {"zh-CN": "可选：较高风险的配置部分", "en": "Optional: a higher-risk part"},
    "education": {"zh-CN": "投资者教育", "en": "Investor education"},
    "research": {"zh-CN": "与方案相关的研究", "en": "Research on what the plan holds"},
    "disclosures": {"zh-CN": "重要提示", "en": "Important information"},
}
NUMBERED = (
    "holdings",
    "trades",
    "rationale",
    "answer",
    "answers",
    "offer",
    "education",
    "research",
)
ZH_NUMERALS = "一二三四五六七八九十"
ROUNDED = {
    "zh-CN": "金额按整百元向下取整，合计可能略低于您的资产总额。",
    "en": "Amounts are rounded down to whole hundreds of yuan, so they may add up to slightly "
    "less than your total assets.",
}
BULLET = "• "
# Under the answers to the client's questions: what they are drawn from, and what they are not.
ANSWERED = {
    "zh-CN": "以上回答依据产品资料和本方案作出，不是对产品未来表现的预测，"
    "也不构成本方案之外的投资建议。",
    "en": "These answers come from the products' documents and your plan: they are not a forecast "
    "of how any product will do, nor advice beyond this plan.",
}
SIDES = {
    "zh-CN": {"buy": "买入", "sell": "卖出"},
    "en": {"buy": "Buy", "sell": "Sell"},
}


def money(amount: float, locale: str) -> str:
    """An amount in CNY as the letter writes it: 50,000元 or 50,000 CNY."""
    return f"{amount:,.0f}元" if locale == "zh-CN" else f"{amount:,.0f} CNY"


def percent(weight: float) -> str:
    return f"{weight * 100:.1f}%"


def units_note(h: HoldingLine, locale: str) -> str:
    """How many exchange units the amount buys, where a price is stored; empty otherwise."""
    if not (h.units and h.price):
        return ""
    if locale == "zh-CN":
        return f"（约{h.units:,}份，按最新收盘价{h.price:.3f}元）"
    return f" (about {h.units:,} units at the last close of {h.price:.3f} CNY)"


def holding_line(h: HoldingLine, locale: str) -> str:
    zh = locale == "zh-CN"
    line = (
        f"{BULLET}{h.name}（{h.code}）：风险等级{h.risk_rating}，占比{percent(h.weight)}，"
        f"金额{money(h.amount, locale)}"
        if zh
        else f"{BULLET}{h.name} ({h.code}): risk level {h.risk_rating}, {percent(h.weight)} of the "
        f"plan, {money(h.amount, locale)}"
    )
    return line + units_note(h, locale)


def trade_line(t: TradeLine, locale: str) -> str:
    side = SIDES[locale][t.side]
    if locale == "zh-CN":
        return f"{BULLET}{side}{t.name}（{t.code}）：{money(t.amount, locale)}"
    return f"{BULLET}{side} {t.name} ({t.code}): {money(t.amount, locale)}"


def offer_product_line(o: OfferLine, locale: str) -> str:
    """One product of the offer: what, how risky, its share of the plan with the offer, how much."""
    if locale == "zh-CN":
        return (
            f"{BULLET}{o.name}（{o.code}）：风险等级{o.risk_rating}，加入后占比{percent(o.weight)}，"
            f"金额{money(o.amount, locale)}"
        )
    return (
        f"{BULLET}{o.name} ({o.code}): risk level {o.risk_rating}, {percent(o.weight)} of the plan "
        f"with this part, {money(o.amount, locale)}"
    )


def risk_point_line(point: str, locale: str) -> str:
    """A risk point, indented under its product."""
    return f"  风险提示：{point}" if locale == "zh-CN" else f"  Risk: {point}"


def offer_lines(offer: OfferSection, locale: str) -> list[str]:
    """The offer's lines: what it is (its first line), each product with its risk points, then
    both plans' figures, the cooling-off and how to accept."""
    first, *rest = offer.lines
    products = [
        line
        for o in offer.products
        for line in (
            offer_product_line(o, locale),
            *(risk_point_line(p, locale) for p in o.risk_points),
        )
    ]
    return [first, *products, *rest]


def lesson_parts(x: Lesson, locale: str) -> tuple[str, str]:
    """A lesson's line as (its title as written, its body and source): the HTML sets the first
    in bold. The source is the published investor-education material the lesson draws on."""
    if locale == "zh-CN":
        return f"【{x.title}】", f"{x.body}（资料来源：{x.source}）"
    return f"{x.title}: ", f"{x.body} (Source: {x.source})"


def note_parts(n: NoteLine, locale: str) -> tuple[str, str]:
    """A research note's line, bullet aside, as (its title, the rest)."""
    if locale == "zh-CN":
        return n.title, f"（{n.publisher}，{n.as_of.isoformat()}）：{n.summary}"
    return n.title, f" ({n.publisher}, {n.as_of.isoformat()}): {n.summary}"


def answer_head(a: AnswerLine, locale: str) -> str:
    """An answer's first line: what it is about. The client's words are not quoted back: the
    reader holds them lower-cased and without their punctuation, which is not what they wrote."""
    return f"【{a.subject}】" if locale == "zh-CN" else a.subject


def answer_block(a: AnswerLine, locale: str) -> list[str]:
    """An answer as the text writes it: its head, then each fact as a bullet."""
    return [answer_head(a, locale), *(BULLET + line for line in a.lines)]


def section_lines(text: str, key: str, locale: str) -> list[str]:
    """The lines under one section's heading in a rendered text (its number aside); [] when the
    text has no such section. The last such block counts: every section a rule reads this way
    comes after the model's prose, so prose that imitates a heading cannot stand in for it."""
    heading = re.compile(rf"(?:[{ZH_NUMERALS}]+、|\d+\. )?{re.escape(HEADINGS[key][locale])}")
    found: list[str] = []
    for block in text.split("\n\n"):
        head, _, rest = block.partition("\n")
        if heading.fullmatch(head.strip()):
            found = rest.split("\n") if rest else []
    return found


def answer_parts(text: str, locale: str) -> list[tuple[str, list[str]]]:
    """Each answer in a rendered text's answers section: (its subject, its facts, bullets
    aside). The client's quoted words are left out: they are theirs, not the answer's."""
    parts: list[tuple[str, list[str]]] = []
    for line in section_lines(text, "answers", locale):
        if line.startswith(BULLET) and parts:
            parts[-1][1].append(line.removeprefix(BULLET))
        elif line != ANSWERED[locale]:
            parts.append((_subject(line, locale), []))
    return parts


def _subject(head: str, locale: str) -> str:
    if locale == "zh-CN":
        found = re.match(r"【(.+?)】", head)
        return found.group(1) if found else head
    return head.split(" (you asked: ", 1)[0]


def signature_lines(s: Signature, locale: str) -> list[str]:
    if locale == "zh-CN":
        lines = [f"投资顾问：{s.name}（执业证书编号：{s.registration}）"]
        if s.contact:
            lines.append(f"联系方式：{s.contact}")
        return [*lines, f"日期：{s.on.isoformat()}"]
    lines = [f"Your advisor: {s.name} (registration no. {s.registration})"]
    if s.contact:
        lines.append(f"Contact: {s.contact}")
    return [*lines, f"Date: {s.on.isoformat()}"]


def headings(letter: Letter) -> dict[str, str]:
    """Each section's heading as this letter shows it: the numbered ones counted over the
    sections it has, so the numbers close up over an empty one."""
    loc = letter.locale
    present = {
        "holdings": bool(letter.holdings),
        "trades": bool(letter.trades),
        "rationale": bool(letter.rationale),
        "answer": bool(letter.answer),
        "answers": bool(letter.answers),
        "offer": letter.offer is not None,
        "education": bool(letter.education),
        "research": bool(letter.research),
    }
    out = {key: words[loc] for key, words in HEADINGS.items()}
    shown = 0
    for key in NUMBERED:
        if present[key]:
            shown += 1
            number = f"{ZH_NUMERALS[shown - 1]}、" if loc == "zh-CN" else f"{shown}. "
            out[key] = number + out[key]
    return out


def rounding_note(letter: Letter) -> str | None:
    """The line under the holdings when an amount is rounded to whole hundreds of yuan."""
    if any(h.rounding == "hundreds" for h in letter.holdings):
        return ROUNDED[letter.locale]
    return None


def render_text(letter: Letter) -> str:
    """The letter's sections in a fixed order; a section with nothing in it is left out, and
    the numbered headings count only the sections shown."""
    loc = letter.locale
    titles = headings(letter)
    blocks = [letter.greeting, letter.opening]

    def section(key: str, lines: list[str]) -> None:
        if lines:
            blocks.append("\n".join([titles[key], *lines]))

    holdings = [holding_line(h, loc) for h in letter.holdings]
    if (note := rounding_note(letter)) is not None:
        holdings.append(note)
    section("holdings", holdings)
    section("trades", [trade_line(t, loc) for t in letter.trades])
    section("rationale", [letter.rationale] if letter.rationale else [])
    section("answer", letter.answer)
    answers = [line for a in letter.answers for line in answer_block(a, loc)]
    section("answers", [*answers, ANSWERED[loc]] if answers else [])
    section("offer", offer_lines(letter.offer, loc) if letter.offer is not None else [])
    section("education", ["".join(lesson_parts(x, loc)) for x in letter.education])
    section("research", [BULLET + "".join(note_parts(n, loc)) for n in letter.research])
    section("disclosures", letter.disclosures)
    if letter.signature is not None:
        blocks.append("\n".join(signature_lines(letter.signature, loc)))
    return "\n\n".join(b for b in blocks if b)
