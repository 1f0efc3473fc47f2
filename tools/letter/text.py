"""The letter as plain text: the exact words a client receives, the gate checks and the
delivered hash covers. Section headings are code; every line under them comes from the Letter."""

from __future__ import annotations

from core.schemas.letter import HoldingLine, Lesson, Letter, NoteLine, Signature, TradeLine

HEADINGS: dict[str, dict[str, str]] = {
    "holdings": {"zh-CN": "一、您的配置方案", "en": "1. Your plan"},
    "trades": {"zh-CN": "二、从现有持仓到方案的调整", "en": "2. From what you hold to the plan"},
    "rationale": {"zh-CN": "三、为什么这样配置", "en": "3. Why this plan"},
    "answer": {"zh-CN": "四、对您需求的回复", "en": "4. Your request"},
    "education": {"zh-CN": "五、投资者教育", "en": "5. Investor education"},
    "research": {"zh-CN": "六、与方案相关的研究", "en": "6. Research on what the plan holds"},
    "disclosures": {"zh-CN": "重要提示", "en": "Important information"},
}
BULLET = "• "
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
        f"{BULLET}{h.name}（{h.code}），{h.risk_rating}，{percent(h.weight)}，"
        f"{money(h.amount, locale)}"
        if zh
        else f"{BULLET}{h.name} ({h.code}), {h.risk_rating}, {percent(h.weight)}, "
        f"{money(h.amount, locale)}"
    )
    return line + units_note(h, locale)


def trade_line(t: TradeLine, locale: str) -> str:
    side = SIDES[locale][t.side]
    if locale == "zh-CN":
        return f"{BULLET}{side}{t.name}（{t.code}）{money(t.amount, locale)}"
    return f"{BULLET}{side} {t.name} ({t.code}): {money(t.amount, locale)}"


def lesson_parts(x: Lesson, locale: str) -> tuple[str, str]:
    """A lesson's line as (its title as written, its body): the HTML sets the first in bold."""
    return (f"【{x.title}】", x.body) if locale == "zh-CN" else (f"{x.title}: ", x.body)


def note_parts(n: NoteLine, locale: str) -> tuple[str, str]:
    """A research note's line, bullet aside, as (its title, the rest)."""
    if locale == "zh-CN":
        return n.title, f"（{n.publisher}，{n.as_of.isoformat()}）：{n.summary}"
    return n.title, f" ({n.publisher}, {n.as_of.isoformat()}): {n.summary}"


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


def render_text(letter: Letter) -> str:
    """The letter's sections in a fixed order; a section with nothing in it is left out."""
    loc = letter.locale
    blocks = [letter.greeting, letter.opening]

    def section(key: str, lines: list[str]) -> None:
        if lines:
            blocks.append("\n".join([HEADINGS[key][loc], *lines]))

    section("holdings", [holding_line(h, loc) for h in letter.holdings])
    section("trades", [trade_line(t, loc) for t in letter.trades])
    section("rationale", [letter.rationale] if letter.rationale else [])
    section("answer", letter.answer)
    section("education", ["".join(lesson_parts(x, loc)) for x in letter.education])
    section("research", [BULLET + "".join(note_parts(n, loc)) for n in letter.research])
    section("disclosures", letter.disclosures)
    if letter.signature is not None:
        blocks.append("\n".join(signature_lines(letter.signature, loc)))
    return "\n\n".join(b for b in blocks if b)
