"""The letter as plain text: the exact words a client receives, the gate checks and the
delivered hash covers. Section headings are code; every line under them comes from the Letter."""

from __future__ import annotations

from core.schemas.letter import HoldingLine, Letter, Signature, TradeLine

# Numbered in the order shown; a section with nothing in it is left out and the numbers close up.
HEADINGS: dict[str, dict[str, str]] = {
    "holdings": {"zh-CN": "您的配置方案", "en": "Your plan"},
    "trades": {"zh-CN": "从现有持仓到方案的调整", "en": "From what you hold to the plan"},
    "rationale": {"zh-CN": "为什么这样配置", "en": "Why this plan"},
    "answer": {"zh-CN": "关于您的要求", "en": "About your request"},
    "education": {"zh-CN": "投资者教育", "en": "Investor education"},
    "research": {"zh-CN": "与方案相关的研究", "en": "Research on what the plan holds"},
    "disclosures": {"zh-CN": "重要提示", "en": "Important information"},
}
NUMBERED = ("holdings", "trades", "rationale", "answer", "education", "research")
ZH_NUMERALS = "一二三四五六七八九十"
ROUNDED = {
    "zh-CN": "金额按整百元向下取整，合计可能略低于您的资产总额。",
    "en": "Amounts are rounded down to whole hundreds of yuan, so they may add up to slightly "
    "less than your total assets.",
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


def holding_line(h: HoldingLine, locale: str) -> str:
    zh = locale == "zh-CN"
    line = (
        f"• {h.name}（{h.code}）：风险等级{h.risk_rating}，占比{percent(h.weight)}，"
        f"金额{money(h.amount, locale)}"
        if zh
        else f"• {h.name} ({h.code}): risk level {h.risk_rating}, {percent(h.weight)} of the "
        f"plan, {money(h.amount, locale)}"
    )
    if h.units and h.price:
        line += (
            f"（约{h.units:,}份，按最新收盘价{h.price:.3f}元）"
            if zh
            else f" (about {h.units:,} units at the last close of {h.price:.3f} CNY)"
        )
    return line


def trade_line(t: TradeLine, locale: str) -> str:
    side = SIDES[locale][t.side]
    if locale == "zh-CN":
        return f"• {side}{t.name}（{t.code}）：{money(t.amount, locale)}"
    return f"• {side} {t.name} ({t.code}): {money(t.amount, locale)}"


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
    """The letter's sections in a fixed order; a section with nothing in it is left out, and
    the numbered headings count only the sections shown."""
    loc = letter.locale
    blocks = [letter.greeting, letter.opening]
    shown = 0

    def section(key: str, lines: list[str]) -> None:
        nonlocal shown
        if not lines:
            return
        heading = HEADINGS[key][loc]
        if key in NUMBERED:
            shown += 1
            number = f"{ZH_NUMERALS[shown - 1]}、" if loc == "zh-CN" else f"{shown}. "
            heading = number + heading
        blocks.append("\n".join([heading, *lines]))

    holdings = [holding_line(h, loc) for h in letter.holdings]
    if any(h.rounding == "hundreds" for h in letter.holdings):
        holdings.append(ROUNDED[loc])
    section("holdings", holdings)
    section("trades", [trade_line(t, loc) for t in letter.trades])
    section("rationale", [letter.rationale] if letter.rationale else [])
    section("answer", letter.answer)
    section(
        "education",
        [
            f"【{x.title}】{x.body}" if loc == "zh-CN" else f"{x.title}: {x.body}"
            for x in letter.education
        ],
    )
    section(
        "research",
        [
            f"• {n.title}（{n.publisher}，{n.as_of.isoformat()}）：{n.summary}"
            if loc == "zh-CN"
            else f"• {n.title} ({n.publisher}, {n.as_of.isoformat()}): {n.summary}"
            for n in letter.research
        ],
    )
    section("disclosures", letter.disclosures)
    if letter.signature is not None:
        blocks.append("\n".join(signature_lines(letter.signature, loc)))
    return "\n\n".join(b for b in blocks if b)
